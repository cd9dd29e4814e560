"""The audit trail as administrators read it — on /audit/ and at /api/v1/audit-events/: the
filters both share, the page a target has, and the CSV export."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import django_filters
from django import forms
from django.apps import apps
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from salesops import organisation
from salesops.api.viewsets import IdFilter
from salesops.audit_context import Channel
from salesops.columns import Column
from salesops.exports import csv_stream, export_filename
from salesops.models import AuditEvent, User

# The packages whose records events are about (targets' types are their models' labels).
OUR_APPS = ("salesops", "pipeline", "proposals", "coaching", "forecasting", "hiring",
            "insights", "exchange", "demo")  # fmt: skip
ACTION_MAX = AuditEvent._meta.get_field("action").max_length


# --- the page a target has: higher apps register theirs (AppConfig.ready) -----------------

_target_pages: dict[str, Callable[[int], str]] = {}


def register_target_page(target_type: str, url_name: str) -> None:
    """Events about `target_type` (a model's label, "pipeline.opportunity") link to the
    page `url_name` names, given the target's id as `pk`."""

    def url(pk: int) -> str:
        return reverse(url_name, kwargs={"pk": pk})

    _target_pages[target_type] = url


def target_link(target_type: str, target_id: int | None) -> str:
    """The page of an event's target, or "" (no page for its kind, or no target). A target
    deleted since still links: its page says it is not there."""
    url = _target_pages.get(target_type)
    if url is None or target_id is None:
        return ""
    try:
        return url(target_id)
    except NoReverseMatch:
        return ""


def target_type_choices() -> list[tuple[str, str]]:
    """Every kind of record an event may be about: our models, by label."""
    models = [m for name in OUR_APPS for m in apps.get_app_config(name).get_models()]
    return sorted(
        (m._meta.label_lower, f"{m._meta.app_config.verbose_name} · {m._meta.verbose_name}")
        for m in models
    )


def data_text(data: Any) -> str:
    """An event's data on one line: `{"from": 2, "to": 3}` → `from: 2 · to: 3`."""
    if not data:
        return ""
    if not isinstance(data, dict):
        return json.dumps(data, ensure_ascii=False)
    return " · ".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in data.items()
    )


# --- the filters ---------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if select else "form-control form-control-sm"
            )
            if name.startswith("date_"):
                field.widget.input_type = "date"
            if self.is_bound and name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"
        self.fields["action"].widget.attrs["placeholder"] = "e.g. opportunity."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # Form.clean returns cleaned_data
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The last day comes before the first day.")
        return cleaned


@extend_schema_field(OpenApiTypes.DATE)
class DayFilter(django_filters.DateFilter):
    """A day of the organisation's calendar (its time zone), not UTC's."""


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.ModelChoiceFilter(
        queryset=User.objects.order_by("username"),
        label="Person",
        empty_label="Anyone",
        help_text="The person who acted (their id).",
    )
    action = django_filters.CharFilter(
        field_name="action",
        lookup_expr="startswith",
        max_length=ACTION_MAX,
        label="Action",
        help_text="The action, or its beginning: 'opportunity.' for every opportunity event.",
    )
    target_type = django_filters.ChoiceFilter(
        choices=target_type_choices,
        label="Record type",
        empty_label="Any record",
        help_text="The kind of record the event is about, e.g. pipeline.opportunity.",
    )
    target_id = IdFilter(field_name="target_id", label="Record id", help_text="Its id.")
    channel = django_filters.ChoiceFilter(
        choices=Channel.choices,
        label="Path",
        empty_label="Any path",
        help_text="How it came: page, api (signed in), api_key, import, task, command, system.",
    )
    date_from = DayFilter(
        method="filter_from",
        label="From",
        help_text="From this day on, in the organisation's time zone.",
    )
    date_to = DayFilter(
        method="filter_to",
        label="To",
        help_text="Up to and including this day, in the organisation's time zone.",
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditFilterForm

    def filter_from(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        return queryset.filter(created_at__gte=organisation.current().start_of(value))

    def filter_to(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        next_day = organisation.current().start_of(value + dt.timedelta(days=1))
        return queryset.filter(created_at__lt=next_day)


# --- the CSV export ---------------------------------------------------------------------------

AUDIT_COLUMNS: tuple[Column, ...] = (
    Column("time", "When, in the organisation's time zone (ISO 8601 with its offset)."),
    Column("person", "Username of who acted; empty: the system."),
    Column("action", "What was done, e.g. opportunity.advanced."),
    Column("target_type", "The kind of record, e.g. pipeline.opportunity."),
    Column("target_id", "Its id."),
    Column("channel", "page, api, api_key, import, task, command or system."),
    Column("api_key", "The API key's name and prefix, for api_key events."),
    Column("request_id", "The request's id (the X-Request-ID it was answered with)."),
    Column("origin", "The request, task, command or import."),
    Column("data", "The event's details, as JSON."),
)

_AUDIT_VALUES = (
    "created_at", "actor__username", "action", "target_type", "target_id", "channel",
    "api_key__name", "api_key__prefix", "request_id", "origin", "data",
)  # fmt: skip


def audit_rows(events: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    """One row per event in AUDIT_COLUMNS order (one query, read in chunks)."""
    org = organisation.current()  # the stream is written after the request's time zone ended
    for (
        created_at, username, action, target_type, target_id, channel, key_name, key_prefix,
        request_id, origin, data,
    ) in events.values_list(*_AUDIT_VALUES).iterator(chunk_size=2000):  # fmt: skip
        yield [
            org.localtime(created_at).isoformat(timespec="seconds"),
            username or "",
            action,
            target_type,
            target_id,
            channel,
            f"{key_name} ({key_prefix}…)" if key_name else "",
            request_id,
            origin,
            json.dumps(data, ensure_ascii=False, sort_keys=True) if data else "",
        ]


def audit_export(events: QuerySet[AuditEvent]) -> StreamingHttpResponse:
    return csv_stream(
        export_filename("audit", organisation.current().today().isoformat()),
        AUDIT_COLUMNS,
        audit_rows(events),
    )
