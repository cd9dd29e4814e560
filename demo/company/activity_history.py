"""The calls, meetings, emails and notes of a demo deal's past (History's activities)."""

from __future__ import annotations

import datetime as dt
import random

from demo.company.cast import ACTIVITY_SUBJECTS, ACTIVITY_WEIGHTS, EARLY_STAGES, Habits
from demo.company.history_common import HistoryBase, Journey
from pipeline.models import CUSTOMER_ACTIVITY_KINDS, Activity, ActivityKind, Opportunity
from salesops.models import User


class ActivityHistory(HistoryBase):
    """A deal's activities, as activity_log would have recorded them."""

    def _activities(
        self,
        opp: Opportunity,
        owner: User,
        journey: Journey,
        habits: Habits,
        end: dt.datetime,
    ) -> None:
        """Calls, meetings, emails and notes up to `end`: the first contact with the customer
        when the owner's habit has it, the owner's extra meetings in EARLY_STAGES, the rest
        anywhere after the first contact (a note any time). last_activity_at is the latest
        contact."""
        rng = self.rng
        start = journey.created
        span_days = max(1.0, (end - start).total_seconds() / 86400)
        count = max(2, min(24, int(span_days / rng.uniform(6, 12)) + rng.randint(1, 3)))
        touch = start + dt.timedelta(days=rng.uniform(*habits.first_touch_days))
        first = min(touch, end, self.now - dt.timedelta(minutes=5))
        kinds = list(ACTIVITY_WEIGHTS)
        customer_weights = [ACTIVITY_WEIGHTS[k] for k in CUSTOMER_ACTIVITY_KINDS]
        planned = [(rng.choices(CUSTOMER_ACTIVITY_KINDS, weights=customer_weights)[0], first)]
        for _ in range(count - 1):
            kind = rng.choices(kinds, weights=list(ACTIVITY_WEIGHTS.values()))[0]
            planned.append((kind, self._at(start if kind == ActivityKind.NOTE else first, end)))
        for i, stage in enumerate(journey.path):
            if stage.name not in EARLY_STAGES:
                continue
            since, until = max(journey.entered[i], first), min(journey.left[i], end)
            meetings = rng.randint(*habits.early_meetings)
            if since < until:
                planned += [(ActivityKind.MEETING, self._at(since, until)) for _ in range(meetings)]
        last_customer: dt.datetime | None = None
        for kind, at in planned:
            self.rows.activities.append(
                Activity(
                    opportunity=opp,
                    kind=kind,
                    subject=rng.choice(ACTIVITY_SUBJECTS[kind]),
                    body="" if rng.random() < 0.5 else _activity_body(opp, rng),
                    occurred_at=at,
                    logged_by=owner,
                )
            )
            if kind in CUSTOMER_ACTIVITY_KINDS and (last_customer is None or at > last_customer):
                last_customer = at
        opp.last_activity_at = last_customer


def _activity_body(opp: Opportunity, rng: random.Random) -> str:
    return rng.choice(
        (
            f"Discussed priorities for {opp.account.name}; decision wanted by quarter end.",
            "Agreed to involve finance earlier than planned.",
            "Champion is positive; procurement needs two more weeks.",
            "They asked for a second reference in the same industry.",
            "Open question: who owns the budget after the reorganisation?",
        )
    )
