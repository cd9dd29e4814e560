"""Optimistic locking over HTTP: `ETag` is the quoted row version, `If-Match` sends it back."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from salesops.exceptions import ValidationFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


def with_etag(response: Response, version: int) -> Response:
    response["ETag"] = etag_for(version)
    return response


def expected_version(request: Request) -> int | None:
    """The version the client last saw, from `If-Match`; None when absent or `*`.

    Accepts `"3"`, `W/"3"` and a bare `3`. Anything else is refused (400) rather than
    silently ignored, since a client that sends If-Match wants the check to happen.
    """
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip()
    if value == "*":
        return None
    if value.startswith("W/"):
        value = value[2:]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # "¹".isdigit() is true
        raise ValidationFailed(
            'If-Match must be the ETag of the record, e.g. "3".',
            code="invalid_if_match",
            details={"If-Match": [f"Not an ETag of this API: {raw[:50]!r}."]},
        )
    return int(value)
