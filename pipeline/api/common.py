"""What the pipeline API's modules share: the small reference serializers (a user, an
account, a stage, a product; an id and a name), DRF's datetime formatting without its
per-call lookups, the read-only hint of a field set at creation, the re-keying of a list
field's errors by element id, the text filter, and the base of the sales-process setup
viewsets (everyone reads, administrators and sales leaders write)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from salesops.api.permissions import ApiKeyScopePermission, ConfiguresSalesProcessOrReadOnly
from salesops.api.viewsets import MAX_ID, ApiViewSet

# --- output serializers (no per-row queries: they read what the selectors joined) ---


class UserRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")


class AccountRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StageRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    order = serializers.IntegerField()


class ProductRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


_DATETIME_FIELD = serializers.DateTimeField()


def datetime_text(value: dt.datetime | None, tz: dt.tzinfo | None = None) -> str | None:
    """DRF's own formatting (ISO 8601 in the current timezone, "Z" for UTC), without its
    per-call settings lookups: ~300 datetimes a page of 50. Pass `tz` (the current
    timezone, looked up once) when formatting many."""
    if value is None:
        return None
    if timezone.is_naive(value):
        return _DATETIME_FIELD.to_representation(value)
    text = value.astimezone(tz or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


SET_AT_CREATION = "It is set when the opportunity is created."


@contextlib.contextmanager
def list_errors_by_element(data: Any, field: str) -> Iterator[None]:
    """Re-key a list field's per-item errors from the item's index to its `element` id
    (`#<index>` without a usable id): the structure the services use, so a client reads
    `details.<field>.<element id>.<attribute>` whichever layer refused."""
    try:
        yield
    except serializers.ValidationError as exc:
        detail = exc.detail
        items = data.get(field) if isinstance(data, Mapping) else None
        if (
            isinstance(detail, dict)
            and isinstance(detail.get(field), dict)
            and isinstance(items, list)
        ):
            keyed: dict[str, dict[str, Any]] = {}
            for index, item_errors in detail[field].items():
                raw = (
                    items[int(index)].get("element")
                    if isinstance(items[int(index)], Mapping)
                    else None
                )
                key = (
                    str(raw)
                    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= MAX_ID
                    else f"#{index}"
                )
                errors = (
                    item_errors if isinstance(item_errors, dict)
                    else {"non_field_errors": item_errors}
                )  # fmt: skip
                for name, messages in errors.items():
                    keyed.setdefault(key, {}).setdefault(name, []).extend(messages)
            detail[field] = keyed
        raise


@extend_schema_field(OpenApiTypes.STR)
class TextFilter(django_filters.CharFilter):
    """A text filter applied by a method (the schema cannot infer its type from a field)."""


# --- pipeline framework: everyone reads, administrators and sales leaders write -------


class FrameworkViewSet(ApiViewSet):
    permission_classes = [ApiKeyScopePermission, ConfiguresSalesProcessOrReadOnly]
