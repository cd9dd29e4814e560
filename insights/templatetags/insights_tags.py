"""Filters of the insights pages."""

from __future__ import annotations

from typing import Any

from django import template

from insights import rules

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


@register.filter
def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} d"


@register.filter
def get_item(mapping: dict, key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def gap_sentence(gap: rules.Gap) -> str:
    return rules.sentence(gap)
