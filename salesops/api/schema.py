"""OpenAPI helpers shared by the API modules: common headers and error responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from salesops.api.serializers import ErrorOutput

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
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


class StrictInputSerializerExtension(OpenApiSerializerExtension):
    """StrictInputSerializer refuses unknown fields (400); the schema says so."""

    target_class = "salesops.api.serializers.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema
