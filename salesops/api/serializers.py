"""Base serializers shared by every app's API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    """The one error shape of the API."""

    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Field errors ({field: [messages]}) or structured data, e.g. missing milestones.",
    )


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not accept instead of ignoring them.

    `read_only_hints` maps fields a client may see in the output but must not send to
    the message explaining how they change (e.g. "use /advance/"). Any other unknown
    field is refused too: a misspelt field silently ignored is a lost update.
    """

    read_only_hints: dict[str, str] = {}
    # Fields of which the service needs at least one (e.g. `account` or `new_account_name`):
    # the schema states it as `anyOf` required; the service refuses without, with its own
    # message. Not checked here, so the rule and its wording stay in one place.
    required_any_of: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        writable = {name for name, field in self.fields.items() if not field.read_only}
        errors: dict[str, list[str]] = {}
        for name in data:
            if name in writable:
                continue
            hint = self.read_only_hints.get(name)
            errors[str(name)] = [
                f"This field cannot be written. {hint}"
                if hint is not None
                else "Unknown field. Writable fields: " + ", ".join(sorted(writable)) + "."
            ]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors:
                raise
            detail = (
                exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            )
            raise serializers.ValidationError({**detail, **errors}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value
