"""The coaching cadence: who is due a 1:1 when (the organisation's settings), and the
set-based refresh of the cadence flags."""

from __future__ import annotations

from django.conf import settings

from coaching.rules import Cadence


def cadence_from_settings() -> Cadence:
    """The organisation's cadence: settings.COACHING_ONE_ON_ONE_DAYS (default 14),
    COACHING_NEW_REP_ONE_ON_ONE_DAYS (7) during COACHING_NEW_REP_DAYS (90)."""
    return Cadence(
        regular_days=settings.COACHING_ONE_ON_ONE_DAYS,
        new_rep_days=settings.COACHING_NEW_REP_ONE_ON_ONE_DAYS,
        new_period_days=settings.COACHING_NEW_REP_DAYS,
    )
