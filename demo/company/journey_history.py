"""When a demo deal went through which stages: its journey drawn before any of its rows
(History's first step), redrawn now and then for a deal the experiment's change would
have helped, and how far off its close looks from where it is."""

from __future__ import annotations

import datetime as dt

from demo.company.cast import OUTCOME_WEIGHTS, OUTCOMES
from demo.company.history_common import HistoryBase, Journey
from pipeline.models import Stage


class JourneyHistory(HistoryBase):
    """A deal's way through the stages, drawn with the state of HistoryBase."""

    def _time_still_needed(
        self, path: list[Stage], current: int, in_stage: dt.timedelta
    ) -> dt.timedelta:
        """How far off an optimistic rep puts the close of a deal in path[current] for
        `in_stage` already: what the current stage usually takes still (two days at least)
        and the stages ahead, at 80-110% of their expected days."""
        stages = self.open_stages
        ahead = stages[stages.index(path[current]) + 1 :]
        left = max(2.0, (path[current].expected_days or 14) - in_stage.total_seconds() / 86400)
        days = left + sum(s.expected_days or 14 for s in ahead)
        return dt.timedelta(days=days * self.rng.uniform(0.8, 1.1))

    def _journey(
        self,
        outcome: str | None,
        plan: bool,
        end: dt.datetime | None,
        opened_at: dt.datetime | None,
    ) -> Journey:
        """The stages a deal went through and when (see build for the arguments); its
        outcome, unless given, drawn with OUTCOME_WEIGHTS for whether it has a `plan`."""
        rng, now = self.rng, self.now
        if outcome is None:
            outcome = rng.choices(OUTCOMES, weights=OUTCOME_WEIGHTS[plan])[0]
        if outcome == "open":
            final = rng.choices(range(5), weights=[26, 24, 20, 17, 13])[0]
        elif outcome == "lost":
            final = rng.choices(range(5), weights=[22, 28, 22, 16, 12])[0]
        else:
            final = 4
        path = self.open_stages[: final + 1]
        days = [max(1.0, (s.expected_days or 14) * rng.lognormvariate(0, 0.45)) for s in path]
        if outcome == "open":  # time in the current stage so far: some deals turn yellow or red
            cur = path[-1]
            band = rng.random()
            if band < 0.65:
                days[-1] = rng.uniform(0.2, cur.warn_days or 14)
            elif band < 0.87:
                days[-1] = rng.uniform(cur.warn_days or 14, cur.rot_days or 30)
            else:
                days[-1] = rng.uniform(cur.rot_days or 30, (cur.rot_days or 30) * 1.8)
        total = sum(days)
        if total > 340:
            days = [d * 340 / total for d in days]
            total = 340
        if outcome == "open" and opened_at is not None:
            days = [d * (now - opened_at).total_seconds() / 86400 / total for d in days]
            total = sum(days)
        if outcome == "open":
            end = now
        elif end is None:
            end = now - dt.timedelta(days=rng.uniform(1, 360 - total))
        created = end - dt.timedelta(days=total)
        entered = [created]
        for d in days[:-1]:
            entered.append(entered[-1] + dt.timedelta(days=d))
        closed_at = None if outcome == "open" else end
        return Journey(outcome, path, entered, [*entered[1:], closed_at or now], closed_at)

    def _held_back(self, journey: Journey) -> bool:
        """Whether the deal entered the experiment's stage since the change and then went
        the way the change is meant to prevent: lost in that stage or a later one, or
        still in it past the stage's warning days."""
        experiment = self.experiment
        if experiment is None or journey.outcome == "won":
            return False
        ids = [stage.pk for stage in journey.path]
        if experiment.stage_id not in ids:
            return False
        i = ids.index(experiment.stage_id)
        if journey.entered[i] < experiment.at:
            return False
        if journey.outcome == "lost":
            return True
        warn = dt.timedelta(days=journey.path[i].warn_days or 14)
        return i == len(ids) - 1 and journey.left[i] - journey.entered[i] > warn
