"""Small presentation helpers of the pipeline pages (no queries, no business rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from salesops.text import money

register = template.Library()


@register.filter(name="money")
def money_filter(amount: object, currency: str = "") -> str:
    """{{ amount|money:currency }} → "EUR 60,500.00" (salesops.text.money)."""
    return money(amount, currency)  # type: ignore[arg-type]


@register.filter
def whole_money(amount: object, currency: str = "") -> str:
    """{{ amount|whole_money:currency }} → "EUR 60,501" (rounded half up; a board card)."""
    return money(amount, currency, places=0)  # type: ignore[arg-type]


@register.filter
def ago(value: dt.datetime | None) -> str:
    """'3 days ago' (the largest unit only) or 'just now'."""
    if value is None:
        return ""
    now = timezone.now()
    if (now - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, now, depth=1)} ago"


@register.simple_tag
def sparkline(values: Sequence[Decimal | float], width: int = 140, height: int = 34) -> str:
    """An inline SVG line of percentages (0–100, oldest first), drawn on the server.

    The y axis is fixed at 0–100 % so two deals' lines compare at a glance."""
    points = [float(v) for v in values]
    if not points:
        return ""
    pad = 4.0
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)
        y = pad + inner_h * (100 - max(0.0, min(100.0, v))) / 100
        return round(x, 1), round(y, 1)

    coords = [xy(i, v) for i, v in enumerate(points)]
    last_x, last_y = coords[-1]
    label = "Score trend: " + " → ".join(f"{v:.0f} %" for v in points)
    line = (
        format_html(
            '<polyline points="{}" fill="none" stroke="currentColor" stroke-width="2" '
            'stroke-linejoin="round" stroke-linecap="round"/>',
            " ".join(f"{x},{y}" for x, y in coords),
        )
        if len(coords) > 1
        else ""
    )
    dots = format_html_join(
        "", '<circle cx="{}" cy="{}" r="1.6" fill="currentColor"/>', coords[:-1]
    )
    return format_html(
        '<svg class="so-sparkline" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}" data-testid="score-trend" data-points="{n}"><title>{label}</title>'
        '<line x1="{p}" y1="{mid}" x2="{x2}" y2="{mid}" class="so-sparkline-mid"/>'
        '{line}{dots}<circle cx="{lx}" cy="{ly}" r="3" fill="currentColor"/></svg>',
        w=width,
        h=height,
        p=pad,
        x2=width - pad,
        mid=round(pad + inner_h / 2, 1),
        label=label,
        n=len(points),
        line=line,
        dots=dots,
        lx=last_x,
        ly=last_y,
    )
