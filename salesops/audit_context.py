"""By which path a write came — a page, the API with a session or a key, an import, a Celery
task, a management command — so that every audit event can say so without each service
being told.

The context lives in a ContextVar, bound for the length of one unit of work and reset
after it (a token reset: nothing leaks to the next request a thread serves, nor to the next
task a worker runs):

* `AuditContextMiddleware`: a request — channel "page", or "api" under /api/; the API key
  authentication then narrows it to "api_key" with the key (`use_api_key`);
* `ReliableTask.__call__` (salesops/tasking.py): channel "task", the task's name;
* `exchange.services.batch_run`: channel "import", the batch — inside whatever task or
  request runs it;
* `@as_command` on our management commands' `handle`, and manage.py for every other
  command: channel "command", the command's name.

Outside all of them (a data migration, a script, a test calling a service) the channel is
"system". AuditEvent's fields take their defaults from here (salesops.models), so every
event — audit_record, audit_records, or an AuditEvent built in bulk — records its path.

This module imports nothing of the app registry: manage.py binds it before Django is set up.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse

F = TypeVar("F", bound=Callable[..., Any])

API_PREFIX = "/api/"
REQUEST_ID_HEADER = "X-Request-ID"
# A request id a client or proxy sent is kept when it is short and plain; else we make one.
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ORIGIN_MAX = 200


class Channel(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API (signed in)"
    API_KEY = "api_key", "API key"
    IMPORT = "import", "Import"
    TASK = "task", "Background task"
    COMMAND = "command", "Command"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class AuditContext:
    channel: str = Channel.SYSTEM
    api_key_id: int | None = None
    request_id: str = ""
    # What ran: "POST /opportunities/3/advance/", "pipeline.refresh_flags", "seed_demo",
    # "import #12".
    origin: str = ""


SYSTEM = AuditContext()
_current: ContextVar[AuditContext] = ContextVar("salesops_audit_context", default=SYSTEM)


def current() -> AuditContext:
    return _current.get()


@contextmanager
def bound(
    channel: str, *, origin: str = "", request_id: str | None = None, api_key_id: int | None = None
) -> Iterator[AuditContext]:
    """Run the block with this channel. A request id and API key not given are kept from the
    enclosing context (an import run inside a request still belongs to that request)."""
    outer = _current.get()
    context = AuditContext(
        channel=channel,
        api_key_id=outer.api_key_id if api_key_id is None else api_key_id,
        request_id=outer.request_id if request_id is None else request_id,
        origin=origin[:ORIGIN_MAX],
    )
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def use_api_key(api_key_id: int) -> None:
    """The API key authentication has identified the request's key: its events are
    "api_key" events naming the key. Only inside a request the middleware bound (an API
    view called without it — a unit test — gets no context to outlive it); the middleware's
    reset undoes this too."""
    context = _current.get()
    if context.channel in (Channel.API, Channel.API_KEY):
        _current.set(replace(context, channel=Channel.API_KEY, api_key_id=api_key_id))


# --- the AuditEvent fields' defaults (salesops.models.AuditEvent) ----------------------------


def current_channel() -> str:
    return str(_current.get().channel)


def current_api_key_id() -> int | None:
    return _current.get().api_key_id


def current_request_id() -> str:
    return _current.get().request_id


def current_origin() -> str:
    return _current.get().origin


# --- where contexts are bound ------------------------------------------------------------------


def request_id_of(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _GOOD_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class AuditContextMiddleware:
    """Binds a page's or an API request's context for its length, and answers with its
    request id (X-Request-ID) so a client can quote it to find the request's events."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        channel = Channel.API if request.path_info.startswith(API_PREFIX) else Channel.PAGE
        request_id = request_id_of(request)
        with bound(channel, origin=f"{request.method} {request.path}", request_id=request_id):
            response = self.get_response(request)
        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
        return response


def as_command(handle: F) -> F:
    """On a management command's `handle`: its writes are "command" events named after the
    command (its module's name, e.g. "seed_demo")."""

    @functools.wraps(handle)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with bound(Channel.COMMAND, origin=name):
            return handle(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
