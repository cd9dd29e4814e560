"""`Idempotency-Key` on POST: a retried request replays the first response instead of
doing the work twice.

Why the database (salesops.IdempotencyRecord) and not the Redis cache: the record is
written in the *same transaction* as the work. A request whose work committed has its
record, one that failed has none, and there is no window in which the work is done but
the key is forgotten (a crash between "write deal" and "cache.set" would let a retry
create a second deal). Concurrent requests with the same key are serialised on a
transaction-scoped advisory lock, so the second waits and then replays. The table is
small (24 hours of POSTs): `salesops.services.idempotency_records_purge()`, a daily
beat task, deletes older rows, and expired records are ignored even before they are purged.

Only successful (2xx) responses are recorded. A refused request changed nothing (every
service is atomic), so retrying it with the same key simply runs it again — a client
that fixes a 409 gate by completing milestones need not invent a new key.

The same key with a different method, path or body is refused with 422
`idempotency_key_reused`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from salesops.exceptions import Unprocessable, ValidationFailed
from salesops.models import IdempotencyRecord
from salesops.services import IDEMPOTENCY_TTL

HEADER = "Idempotency-Key"
TTL = IDEMPOTENCY_TTL
MAX_KEY_LENGTH = 255
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
REPLAYED_HEADERS = ("ETag", "Location")


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    default_message = (
        "This Idempotency-Key was already used for a different request. "
        "Use a new key for a new request."
    )


def request_fingerprint(request: Request) -> str:
    """sha256 of the method, the full path and the canonical JSON of the parsed body."""
    data = request.data
    if hasattr(data, "lists"):  # QueryDict (form or multipart bodies)
        data = {k: v for k, v in data.lists()}
    body = json.dumps(
        data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, default=str
    )
    raw = "\n".join([request.method, request.get_full_path(), body])
    return hashlib.sha256(raw.encode()).hexdigest()


def _clean_key(raw: str) -> str:
    key = raw.strip()
    if not _KEY_RE.match(key):
        raise ValidationFailed(
            "The Idempotency-Key header must be 1-255 visible ASCII characters (e.g. a UUID).",
            code="invalid_idempotency_key",
            details={HEADER: ["Use 1-255 visible ASCII characters, e.g. a UUID."]},
        )
    return key


def run_idempotent(
    handler: Callable[..., Response], request: Request, *args: Any, **kwargs: Any
) -> Response:
    """Run `handler` once per (user, Idempotency-Key); replay its first 2xx response."""
    raw_key = request.headers.get(HEADER)
    if raw_key is None or not request.user.is_authenticated:
        return handler(request, *args, **kwargs)
    key = _clean_key(raw_key)
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"idempotency:{request.user.pk}:{key}"],
            )
        record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
        if record is not None and record.created_at < timezone.now() - TTL:
            record.delete()
            record = None
        if record is not None:
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused(
                    details={
                        "key": key,
                        "first_request": {"method": record.method, "path": record.path},
                    }
                )
            return _replay(record)
        response = handler(request, *args, **kwargs)
        if 200 <= response.status_code < 300:
            IdempotencyRecord.objects.create(
                user=request.user,
                key=key,
                method=request.method,
                path=request.get_full_path()[:2000],
                request_hash=fingerprint,
                status=response.status_code,
                body=_jsonable(response.data),
                headers={h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)},
            )
        return response


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder)) if data is not None else None


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.body, status=record.status)
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorator for a single view method (e.g. a function view or one action)."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        return run_idempotent(functools.partial(handler, self), request, *args, **kwargs)

    return wrapper


class IdempotentPostMixin:
    """Applies `Idempotency-Key` handling to every POST of a view or viewset.

    The handler is wrapped after authentication, permissions and throttling ran
    (`initial`), so refusals there are never recorded and the key is per user.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and request.headers.get(HEADER) is not None:
            handler = getattr(self, "post", None)
            if handler is not None:
                self.post = functools.partial(run_idempotent, handler)
