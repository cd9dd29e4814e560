"""OpenAPI helpers shared by the API modules: common headers and error responses, and the
project's AutoSchema (settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"])."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import is_patched_serializer
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_serializer

from salesops.api import idempotency
from salesops.api.serializers import ErrorOutput
from salesops.api.viewsets import ApiViewSet

IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    # What salesops.api.idempotency accepts: 1-255 visible ASCII characters.
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (e.g. a UUID), at most 255 characters. The first successful "
    "response is stored for 24 hours and replayed for a retry with the same key (header "
    "`Idempotent-Replayed: true`); the same key with another body is refused with 422 "
    "`idempotency_key_reused`.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    # What salesops.api.etag.expected_version accepts: "3", W/"3", 3 or *.
    {"type": "string", "pattern": '^(\\*|(W/)?("[0-9]{1,18}"|[0-9]{1,18}))$'},
    OpenApiParameter.HEADER,
    required=False,
    description='The `ETag` of the record as last read, e.g. `"3"`. When the record has '
    "changed since, the request is refused with 412 `stale_version`.",
)

_ERROR_TEXT = {
    400: "Invalid input; `details` maps fields to messages.",
    401: "Missing, invalid or revoked API key.",
    403: "Not allowed (role, or the key lacks the needed scope).",
    404: "Not found, or outside your visibility (for a list: a page past the last one).",
    409: "Conflicts with the current state (e.g. `gate_not_met` lists `details.missing`).",
    412: "`stale_version`: the record changed since the ETag in If-Match.",
    413: "The request body is too large.",
    415: "The request body's Content-Type is not one of those the operation accepts.",
    422: "`idempotency_key_reused`: the key was used for a different request.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for @extend_schema(responses=...); 400 and 401 are always included:
    any endpoint refuses a malformed query (a NUL character, a bad `page`), an invalid
    `Idempotency-Key` or `If-Match` with 400, and a missing or bad key with 401."""
    return {
        status: OpenApiResponse(ErrorOutput, description=_ERROR_TEXT[status])
        for status in sorted({400, 401, *statuses})
    }


S = TypeVar("S", bound=Callable[..., Any])


def one_object(serializer_class: S) -> S:
    """Class decorator for the body of a `list` action that answers ONE object (a report
    under a plural route, e.g. GET /forecast/summary/): drf-spectacular declares a `list`
    action's response an array of its serializer unless the serializer says otherwise.
    (The operation keeps its operationId, `…_list`.)"""
    return extend_schema_serializer(many=False)(serializer_class)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema with the rules every operation shares, here rather than
    in each @extend_schema, so that no operation can forget one:

    - every POST of a view that honours `Idempotency-Key` (IdempotentPostMixin: every
      ApiViewSet) declares the header, and every operation that declares it documents
      422 `idempotency_key_reused`;
    - every query parameter allows an empty value, which means "not given" (ApiViewSet);
    - every operation with a request body documents 415: DRF refuses a body whose
      Content-Type none of the view's parsers reads (or a body sent without one).
    """

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST" and isinstance(self.view, idempotency.IdempotentPostMixin):
            parameters.append(IDEMPOTENCY_KEY)  # declared twice is once: keyed by (name, in)
        return parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        if isinstance(self.view, ApiViewSet):  # it drops empty query values
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    parameter["allowEmptyValue"] = True
        takes_key = any(
            p.get("in") == "header" and p.get("name") == idempotency.HEADER
            for p in operation.get("parameters", [])
        )
        responses = operation.get("responses", {})
        implied = {422} if takes_key else set()
        if "requestBody" in operation:
            implied.add(415)
        missing = sorted(status for status in implied if str(status) not in responses)
        for status in missing:
            responses[str(status)] = {
                "content": {
                    "application/json": {
                        "schema": self.resolve_serializer(ErrorOutput, "response").ref
                    }
                },
                "description": _ERROR_TEXT[status],
            }
        if missing:
            operation["responses"] = dict(sorted(responses.items()))
        return operation


class StrictInputSerializerExtension(OpenApiSerializerExtension):
    """StrictInputSerializer refuses unknown fields (400); the schema says so. Its
    `required_any_of` becomes `anyOf` required (not for PATCH: it requires nothing)."""

    target_class = "salesops.api.serializers.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        alternatives = getattr(self.target, "required_any_of", ())
        if alternatives and not is_patched_serializer(self.target, direction):
            schema["anyOf"] = [{"required": [name]} for name in alternatives]
        return schema
