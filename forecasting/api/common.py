"""What the forecasting API's modules share: the bound of an id, the read-only money
field of every forecast output, a period's output and the text on the scope of the
snapshot reads."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

QUOTA_MAX_ID = 2**63 - 1


def money(help_text: str = "", **kwargs: Any) -> serializers.DecimalField:
    """A read-only amount (every forecast output's money field)."""
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text=help_text, **kwargs
    )


class PeriodOutput(serializers.Serializer):
    label = serializers.CharField()
    kind = serializers.CharField()
    start = serializers.DateField(help_text="First day.")
    last_day = serializers.DateField()


SCOPE_TEXT = (
    "Your scope applies to the snapshot rows as they were taken (the owner and team that "
    "week): a rep their own deals, a manager their teams', a leader all; `team` (with its "
    "sub-teams) and `owner` narrow it. A team or owner outside your scope: 404. Amounts "
    "per currency, never summed across currencies."
)
