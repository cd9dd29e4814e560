"""The demo's year of deal history, written the way the services would have written it:
stage moves, changes, milestone completions, activities, qualifications, proposals."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from demo.company.cast import (
    ACTIVITY_SUBJECTS,
    ACTIVITY_WEIGHTS,
    CATEGORY_OVERRIDES,
    EARLY_STAGES,
    EXPERIMENT_REDRAW,
    ISSUES,
    LATE_STAGES,
    LOSS_REASONS,
    MUTUAL_ACTION_PLAN,
    NEXT_STEPS,
    OUTCOME_WEIGHTS,
    OUTCOMES,
    OVERRIDE_REASONS,
    Experiment,
    Habits,
    habits_of,
)
from pipeline import rule_changes
from pipeline.models import (
    CUSTOMER_ACTIVITY_KINDS,
    Account,
    Activity,
    ActivityKind,
    BusinessIssue,
    ChangeField,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Qualification,
    QualificationElement,
    QualificationScore,
    Stage,
)
from pipeline.rules import MAX_SCORE, weighted_score_pct
from salesops.models import User

# --- the history generator -------------------------------------------------------------


@dataclass
class Rows:
    opportunities: list[Opportunity] = field(default_factory=list)
    changes: list[OpportunityChange] = field(default_factory=list)
    completions: list[MilestoneCompletion] = field(default_factory=list)
    issues: list[BusinessIssue] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    qualifications: list[Qualification] = field(default_factory=list)
    scores: list[QualificationScore] = field(default_factory=list)
    created_at: dict[int, dt.datetime] = field(default_factory=dict)  # id(opp) -> when


@dataclass(frozen=True)
class _Journey:
    """When a deal went through which stages — drawn before any of its rows."""

    outcome: str  # "open", "won" or "lost"
    path: list[Stage]  # the open stages it entered, in order
    entered: list[dt.datetime]  # when it entered each of them
    left: list[dt.datetime]  # when it left each (the last: when it closed, or now)
    closed_at: dt.datetime | None

    @property
    def created(self) -> dt.datetime:
        return self.entered[0]

    @property
    def exits(self) -> int:
        """How many stages it left forward (all of a won deal's)."""
        return len(self.path) if self.outcome == "won" else len(self.path) - 1


@dataclass(frozen=True)
class _Gate:
    """What a stage's automatic qualification milestone asks of a deal leaving it."""

    min_score: int
    levels: dict[int, int]  # element id -> minimum level


class History:
    """Fabricates one opportunity's past, the way the services would have recorded it."""

    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        stages: list[Stage],
        milestones: dict[int, list[Milestone]],
        rows: Rows,
        elements: list[QualificationElement],
        experiment: Experiment | None = None,
    ) -> None:
        self.rng, self.now, self.rows = rng, now, rows
        self.open_stages = [s for s in stages if not s.is_closed]
        self.won = next(s for s in stages if s.is_won)
        self.lost = next(s for s in stages if s.is_lost)
        self.milestones = milestones
        self.elements = elements
        self.experiment = experiment
        self.gates = {
            stage.pk: _Gate(min_score=rule.min_score, levels=dict(rule.levels))
            for stage in self.open_stages
            for rule in rule_changes.gate_rules(stage.pk).values()
            if rule.min_score is not None
        }

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

    def _at(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        """A moment between start and end (business-hours-ish, never after now)."""
        if end <= start:
            return start
        moment = start + (end - start) * self.rng.random()
        return min(moment, self.now - dt.timedelta(minutes=5))

    def _change(
        self, opp: Opportunity, f: str, old: Any, new: Any, by: User, at: dt.datetime, **extra: Any
    ) -> None:
        old_s = "" if old is None else (old.isoformat() if isinstance(old, dt.date) else str(old))
        new_s = new.isoformat() if isinstance(new, dt.date) else str(new)
        self.rows.changes.append(
            OpportunityChange(
                opportunity=opp,
                field=f,
                old_value=old_s,
                new_value=new_s,
                old_display=extra.pop("old_display", old_s),
                new_display=extra.pop("new_display", new_s),
                changed_by=by,
                changed_at=at,
                **extra,
            )
        )

    def _journey(
        self,
        outcome: str | None,
        plan: bool,
        end: dt.datetime | None,
        opened_at: dt.datetime | None,
    ) -> _Journey:
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
        return _Journey(outcome, path, entered, [*entered[1:], closed_at or now], closed_at)

    def _held_back(self, journey: _Journey) -> bool:
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

    def _gate(self, stage: Stage, at: dt.datetime) -> _Gate | None:
        """The qualification gate of `stage` as it stood at `at` (before the experiment's
        change, its old minimum score)."""
        gate, experiment = self.gates.get(stage.pk), self.experiment
        if (
            gate is not None
            and experiment is not None
            and stage.pk == experiment.stage_id
            and at < experiment.at
            and experiment.min_score_before is not None
        ):
            return _Gate(min_score=experiment.min_score_before, levels=gate.levels)
        return gate

    def build(
        self,
        *,
        name: str,
        account: Account,
        owner: User,
        manager: User,
        pipeline: Pipeline,
        amount: Decimal,
        outcome: str | None = None,
        end: dt.datetime | None = None,
        opened_at: dt.datetime | None = None,
        close_date: dt.date | None = None,
        category_override: tuple[str, str] | None = None,
    ) -> None:
        """One deal's past. `outcome` ("open", "won", "lost") and, for a closed deal, the
        moment it closed (`end`) are drawn unless given; an open deal may be given the
        moment it was opened (`opened_at`: its stages so far fit in since), its
        expected close date and the forecast category its rep put it in, with the reason
        (`category_override`). (The forecasting history asks for deals won or lost in a
        given quarter, and for a few opened lately that close this quarter.) The deal is
        worked the way its owner works (habits_of): with or without a mutual action plan,
        which makes winning likelier."""
        rng, now = self.rng, self.now
        habits = habits_of(owner)
        plan = rng.random() < habits.plan_agreed_share(outcome)
        journey = self._journey(outcome, plan, end, opened_at)
        if self._held_back(journey) and rng.random() < EXPERIMENT_REDRAW:
            journey = self._journey(outcome, plan, end, opened_at)
        outcome, path, entered = journey.outcome, journey.path, journey.entered
        created, closed_at, final = journey.created, journey.closed_at, len(path) - 1

        expected_cycle = sum(s.expected_days or 14 for s in self.open_stages)
        drawn = (created + dt.timedelta(days=expected_cycle * rng.uniform(0.8, 1.3))).date()
        close_date_chosen = close_date is not None
        close_date = close_date or drawn
        category = path[0].forecast_category
        opp = Opportunity(
            name=name,
            account=account,
            owner=owner,
            pipeline=pipeline,
            stage=path[0],
            amount=amount,
            currency="EUR",
            close_date=close_date,
            forecast_category=category,
            stage_entered_at=created,
            status=OpportunityStatus.OPEN,
        )
        self.rows.created_at[id(opp)] = created
        first_change = len(self.rows.changes)
        for f, value, display in (
            (ChangeField.STAGE, path[0].pk, path[0].name),
            (ChangeField.AMOUNT, amount, str(amount)),
            (ChangeField.CLOSE_DATE, close_date, close_date.isoformat()),
            (ChangeField.FORECAST_CATEGORY, category, ForecastCategory(category).label),
        ):
            self._change(opp, f, None, value, owner, created, new_display=display, note="Created")
        events = 0

        # Business issues: identified in Discover/Qualify, mapped to value from Solution on.
        reached = len(path) + (1 if outcome == "won" else 0)
        n_issues = 0 if final == 0 and rng.random() < 0.5 else rng.randint(1, 3)
        for issue, impact, value, (lo, hi) in rng.sample(ISSUES, n_issues):
            mapped = reached > 3 or (final == 2 and rng.random() < 0.6) or rng.random() < 0.15
            created_issue = self._at(
                created, entered[min(1, len(entered) - 1)] + dt.timedelta(days=3)
            )
            bi = BusinessIssue(
                opportunity=opp,
                issue=issue,
                impact=impact,
                our_value=value if mapped else "",
                quantified_value=Decimal(rng.randrange(lo, hi, 5000)) if mapped else None,
                created_by=owner,
            )
            bi._seed_created_at = created_issue  # type: ignore[attr-defined]
            self.rows.issues.append(bi)
        if reached > 3 and n_issues == 0:  # passed Solution: its automatic milestone held
            issue, impact, value, (lo, hi) = rng.choice(ISSUES)
            bi = BusinessIssue(
                opportunity=opp,
                issue=issue,
                impact=impact,
                our_value=value,
                quantified_value=Decimal(rng.randrange(lo, hi, 5000)),
                created_by=owner,
            )
            bi._seed_created_at = self._at(created, entered[-1])  # type: ignore[attr-defined]
            self.rows.issues.append(bi)

        # Walk the stages: milestones ticked while in a stage, then the move out of it.
        leave_times = journey.left
        for i, stage in enumerate(path):
            left = leave_times[i]
            is_current = i == len(path) - 1 and outcome != "won"
            skipped: Milestone | None = None
            ticks = [m for m in self.milestones[stage.pk] if not m.auto_check]
            if not is_current and rng.random() < habits.override_share:  # the manager overrode
                required = [m for m in ticks if m.required]
                skipped = rng.choice(required) if required else None
            for m in ticks:
                if m is skipped:
                    continue
                if m.title == MUTUAL_ACTION_PLAN.title:
                    p = (0.45 if is_current else 1.0) if plan else 0.0
                else:
                    p = 0.45 if is_current else (1.0 if m.required else 0.6)
                if rng.random() < p:
                    self.rows.completions.append(
                        MilestoneCompletion(
                            opportunity=opp,
                            milestone=m,
                            # A manager's milestone (terms approved) is ticked by them.
                            completed_by=manager
                            if m.completable_by == MilestoneCompleter.MANAGER
                            else owner,
                            completed_at=self._at(entered[i], left - dt.timedelta(hours=1)),
                            evidence=_evidence(m, account) if m.requires_evidence else "",
                        )
                    )
            # Amount revised once the scope is clear (in Solution or Proposal).
            if stage.name in ("Solution", "Proposal") and rng.random() < 0.3:
                new_amount = opp.amount * Decimal(str(round(rng.uniform(0.7, 1.35), 2)))
                new_amount = (new_amount / 500).quantize(Decimal("1")) * 500
                if new_amount != opp.amount:
                    self._change(
                        opp,
                        ChangeField.AMOUNT,
                        opp.amount,
                        new_amount,
                        owner,
                        self._at(entered[i], left),
                    )
                    opp.amount = new_amount
                    events += 1
            # Where the deal is now, its rep keeps a close date the stages still ahead can
            # make — unless the caller chose the date.
            if is_current and not close_date_chosen:
                soonest = (now + self._time_still_needed(path, i, now - entered[i])).date()
                if opp.close_date < soonest:
                    at = self._at(entered[i], now)
                    new_date = soonest + dt.timedelta(days=rng.randint(0, 30))
                    self._change(opp, ChangeField.CLOSE_DATE, opp.close_date, new_date, owner, at)
                    opp.close_date = new_date
                    events += 1
            # Earlier, the close date was pushed when it came too close for where it was.
            elif opp.close_date < (left + dt.timedelta(days=7)).date() and rng.random() < 0.85:
                at = self._at(entered[i], left)
                new_date = (at + dt.timedelta(days=rng.randint(20, 75))).date()
                if new_date > opp.close_date:
                    self._change(opp, ChangeField.CLOSE_DATE, opp.close_date, new_date, owner, at)
                    opp.close_date = new_date
                    events += 1
            if is_current:
                break
            target = path[i + 1] if i + 1 < len(path) else self.won
            self._move(opp, stage, target, owner, manager, left, skipped)
            events += 1

        if outcome == "open":
            if category_override is not None:
                override = category_override
                wanted = override[0] != opp.forecast_category
            else:
                override = CATEGORY_OVERRIDES.get(opp.stage.name)
                wanted = override is not None and rng.random() < 0.12
            if override and wanted:
                new_cat, reason = override
                self._change(
                    opp,
                    ChangeField.FORECAST_CATEGORY,
                    opp.forecast_category,
                    new_cat,
                    owner,
                    self._at(opp.stage_entered_at, now),
                    old_display=ForecastCategory(opp.forecast_category).label,
                    new_display=ForecastCategory(new_cat).label,
                    override_reason=reason,
                )
                opp.forecast_category, opp.forecast_category_override_reason = new_cat, reason
                events += 1
            steps = NEXT_STEPS[opp.stage.name]
            opp.next_step = rng.choice(steps)
            stale = rng.random() < 0.12
            opp.next_step_date = (
                now + dt.timedelta(days=rng.randint(-20, -2) if stale else rng.randint(1, 14))
            ).date()
            # A few deals near the end, whose close date has quietly passed (not before the
            # deal was created): the date was in sight, and it slipped.
            passed = (now - dt.timedelta(days=rng.randint(2, 25))).date()
            if opp.stage.name in LATE_STAGES and passed > created.date() and rng.random() < 0.2:
                old_date = opp.close_date
                opp.close_date = passed
                self._change(
                    opp,
                    ChangeField.CLOSE_DATE,
                    old_date,
                    opp.close_date,
                    owner,
                    # After the deal's last change (a push in this stage included), so
                    # that replaying the history ends at the deal as it is.
                    self._at(max(c.changed_at for c in self.rows.changes[first_change:]), now),
                    note="Pulled in",
                )
                events += 1
            activity_end = now - dt.timedelta(days=rng.uniform(31, 70)) if stale else now
        else:
            assert closed_at is not None
            actual = closed_at.date()
            if opp.close_date != actual:
                self._change(
                    opp,
                    ChangeField.CLOSE_DATE,
                    opp.close_date,
                    actual,
                    owner,
                    closed_at - dt.timedelta(minutes=2),
                    note="Actual close date",
                )
                opp.close_date = actual
                events += 1
            if outcome == "lost":
                self._move(
                    opp,
                    opp.stage,
                    self.lost,
                    owner,
                    manager,
                    closed_at,
                    None,
                    loss_reason=rng.choice(LOSS_REASONS),
                )
                events += 1
            activity_end = closed_at
        opp.version = 1 + events
        self._activities(opp, owner, journey, habits, max(created, activity_end))
        self._qualifications(opp, journey, habits)
        self.rows.opportunities.append(opp)

    def _move(
        self,
        opp: Opportunity,
        old: Stage,
        target: Stage,
        owner: User,
        manager: User,
        at: dt.datetime,
        skipped: Milestone | None,
        loss_reason: str = "",
    ) -> None:
        """A stage move as opportunity_advance records it."""
        if skipped is not None:
            self._change(
                opp,
                ChangeField.STAGE,
                old.pk,
                target.pk,
                manager,
                at,
                old_display=old.name,
                new_display=target.name,
                override_reason=self.rng.choice(OVERRIDE_REASONS),
                note=f"Gate overridden; missing: {skipped.title}",
            )
        else:
            self._change(
                opp,
                ChangeField.STAGE,
                old.pk,
                target.pk,
                owner,
                at,
                old_display=old.name,
                new_display=target.name,
            )
        if target.is_won:
            category = ForecastCategory.CLOSED
        elif target.is_lost:
            category = ForecastCategory.OMITTED
        elif opp.forecast_category_override_reason:
            category = opp.forecast_category
        else:
            category = target.forecast_category
        if category != opp.forecast_category:
            self._change(
                opp,
                ChangeField.FORECAST_CATEGORY,
                opp.forecast_category,
                category,
                owner,
                at,
                old_display=ForecastCategory(opp.forecast_category).label,
                new_display=ForecastCategory(category).label,
                note=f"Follows stage '{target.name}'",
            )
            opp.forecast_category = category
        opp.stage, opp.stage_entered_at = target, at
        if target.is_closed:
            status = OpportunityStatus.WON if target.is_won else OpportunityStatus.LOST
            self._change(opp, ChangeField.STATUS, opp.status, status, owner, at, note=loss_reason)
            opp.status, opp.closed_at, opp.loss_reason = status, at, loss_reason
            opp.forecast_category_override_reason = ""

    def _activities(
        self,
        opp: Opportunity,
        owner: User,
        journey: _Journey,
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

    def _qualifications(self, opp: Opportunity, journey: _Journey, habits: Habits) -> None:
        """The deal's assessments: one in the last week before each forward exit (the
        gates of Qualify and Solution need one; half the deals leave Discover without),
        and for an open deal a re-assessment in its stage 2-45 days ago (about a third have
        expired by now); 12% of open deals had their latest voided by a pushed close date.
        Levels never fall, and at a gate they meet the rule in force then."""
        rng = self.rng
        levels = {e.pk: 0 for e in self.elements}
        latest: Qualification | None = None
        for i in range(journey.exits):
            if i == 0 and rng.random() < 0.5:
                continue
            left = journey.left[i]
            levels = self._assess(levels, i, habits, self._gate(journey.path[i], left))
            at = self._at(
                max(journey.entered[i], left - dt.timedelta(days=7)), left - dt.timedelta(hours=1)
            )
            latest = self._qualification(opp, at, levels)
        if journey.outcome != "open":
            return
        current = len(journey.path) - 1
        at = self.now - dt.timedelta(days=rng.uniform(2, 45))
        if at > journey.entered[current] and (current > 0 or rng.random() < 0.5):
            levels = self._assess(levels, current, habits, None)
            latest = self._qualification(opp, at, levels)
        if latest is not None and rng.random() < 0.12:
            # The push happened: the deal closes a month later than it did, from that day
            # (its history says so), and the reason names the two months as they are.
            last_change = max(
                itertools.takewhile(lambda c: c.opportunity is opp, reversed(self.rows.changes)),
                key=lambda c: c.changed_at,
            ).changed_at  # after it, so replaying the history ends at the deal as it is
            voided = min(
                self.now,
                max(last_change, latest.assessed_at) + dt.timedelta(days=rng.uniform(1, 5)),
            )
            latest.invalidated_at = voided
            earlier = opp.close_date
            opp.close_date = earlier + dt.timedelta(days=31)
            self._change(opp, ChangeField.CLOSE_DATE, earlier, opp.close_date, opp.owner, voided)
            opp.version += 1
            latest.invalidated_reason = (
                f"Close date pushed from {earlier:%b %Y} to {opp.close_date:%b %Y}."
            )

    def _assess(
        self, levels: dict[int, int], exit_index: int, habits: Habits, gate: _Gate | None
    ) -> dict[int, int]:
        """The levels when leaving the `exit_index`-th open stage: where the owner's evidence
        depth lands within QUALIFICATION_LEVELS, never below `levels` (the last assessment),
        and raised to what `gate` asks."""
        low, high = habits.evidence_depth
        drawn = {}
        for e in self.elements:
            lo, hi = QUALIFICATION_LEVELS[e.name][exit_index]
            depth = self.rng.uniform(low, high)
            drawn[e.pk] = max(levels[e.pk], min(hi, lo + int(depth * (hi - lo + 1))))
        if gate is None:
            return drawn
        weights = {e.pk: e.weight for e in self.elements}
        return meet_gate(drawn, weights=weights, min_score=gate.min_score, minimums=gate.levels)

    def _qualification(
        self, opp: Opportunity, at: dt.datetime, levels: dict[int, int]
    ) -> Qualification:
        """One assessment with its element scores (evidence and source from level 2 on)."""
        rng = self.rng
        q = Qualification(
            opportunity=opp,
            framework_id=self.elements[0].framework_id,
            score_pct=weighted_score_pct(
                weighted_scores=[(e.weight, levels[e.pk]) for e in self.elements]
            ),
            assessed_by=opp.owner,
            assessed_at=at,
        )
        self.rows.qualifications.append(q)
        for e in self.elements:
            evidence = source = ""
            if levels[e.pk] >= 2:
                evidence = EVIDENCE[e.name].format(account=opp.account.name, n=rng.randint(3, 40))
                source = rng.choice(["call", "meeting", "email", "document"])
            self.rows.scores.append(
                QualificationScore(
                    qualification=q,
                    element=e,
                    score=levels[e.pk],
                    evidence=evidence,
                    source=source,
                )
            )
        return q


def _evidence(milestone: Milestone, account: Account) -> str:
    return (
        f"Confirmed by the customer ({account.name}) — see the meeting notes and the "
        f"follow-up email for '{milestone.title[:60]}'."
    )


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


# --- qualification history -----------------------------------------------------------

# The level each MEDDICC element has been shown to reach when a deal leaves each open stage:
# a range, where in it depending on the owner's evidence depth (Habits); a gate raises what
# falls short of it (meet_gate).
QUALIFICATION_LEVELS: dict[str, tuple[tuple[int, int], ...]] = {
    #                 Discover Qualify Solution Proposal Negotiate
    "Metrics": ((0, 1), (0, 2), (1, 3), (1, 3), (2, 3)),
    "Economic buyer": ((0, 1), (1, 3), (1, 3), (2, 3), (2, 3)),
    "Decision criteria": ((0, 0), (0, 2), (1, 3), (1, 3), (2, 3)),
    "Decision process": ((0, 0), (0, 2), (0, 3), (1, 3), (2, 3)),
    "Identify pain": ((1, 2), (1, 3), (2, 3), (2, 3), (2, 3)),
    "Champion": ((0, 1), (1, 3), (1, 3), (1, 3), (2, 3)),
    "Competition": ((0, 1), (0, 2), (0, 3), (1, 3), (1, 3)),
}
EVIDENCE = {
    "Metrics": "{account} put the cost at {n} hours a month in the workshop.",
    "Economic buyer": "The CFO of {account} joined the call and asked for the business case.",
    "Decision criteria": "{account} shared their evaluation sheet; we meet {n} of 12 criteria.",
    "Decision process": "Champion walked us through legal, security review and board sign-off.",
    "Identify pain": "Ops lead at {account}: month-end close takes {n} days, auditors complained.",
    "Champion": "Our champion at {account} presented our case to their leadership team.",
    "Competition": "{account} is also looking at two competitors and an in-house build.",
}


def meet_gate(
    levels: dict[int, int], *, weights: dict[int, int], min_score: int, minimums: dict[int, int]
) -> dict[int, int]:
    """`levels` (by element id) raised just enough to pass a qualification gate: each element
    to its minimum, then the lowest a level at a time until the score reaches `min_score` —
    what a rep who must pass the gate goes back to the customer for."""
    met = {pk: max(level, minimums.get(pk, 0)) for pk, level in levels.items()}

    def score() -> Decimal:
        return weighted_score_pct(
            weighted_scores=[(weights[pk], level) for pk, level in met.items()]
        )

    while score() < min_score:
        lowest = min((pk for pk in met if met[pk] < MAX_SCORE), key=met.__getitem__)
        met[lowest] += 1
    return met


def write_qualifications(rows: Rows) -> None:
    """The deals' assessments (made by History), and each deal's latest."""
    Qualification.objects.bulk_create(rows.qualifications, batch_size=1000)
    QualificationScore.objects.bulk_create(rows.scores, batch_size=2000)
    set_latest_qualifications()


def set_latest_qualifications() -> None:
    """Point every opportunity at its newest qualification (what qualification_create
    keeps up to date one by one)."""
    with connection.cursor() as cursor:
        cursor.execute(LATEST_QUALIFICATION_SQL)


LATEST_QUALIFICATION_SQL = """
UPDATE pipeline_opportunity o SET latest_qualification_id = q.id
FROM (
    SELECT DISTINCT ON (opportunity_id) opportunity_id, id
    FROM pipeline_qualification
    ORDER BY opportunity_id, assessed_at DESC, id DESC
) q
WHERE q.opportunity_id = o.id
"""


# Closing paragraphs of the demo executive summaries: each demo proposal gets its own, so
# the summaries are personal and none reads as a copy of another (the checks would say so).
SUMMARY_CLOSERS = (
    "We propose a twelve week rollout that starts with the two teams feeling the problem "
    "most, measured against the baseline we agreed in the discovery workshop, with a "
    "steering review every second Friday and a go-live before the end of the quarter.",
    "Our plan runs in three phases over ten weeks: a pilot with one region, a review of "
    "the results with your leadership team, then the rollout to every team, with our "
    "customer success lead on site for the first month after go-live.",
    "The first month pairs our consultants with your managers on live deals, so the new "
    "way of working is proven on your own numbers before it is rolled out; we report "
    "progress against the agreed metrics to your sponsor every two weeks.",
)


def _demo_summary(opp: Opportunity, issue: BusinessIssue, closer: str) -> str:
    value = f"{issue.quantified_value:,.0f} {opp.currency}" if issue.quantified_value else ""
    return (
        f"{opp.account.name} told us that {issue.issue[0].lower()}{issue.issue[1:]}. "
        f"{issue.impact} {issue.our_value} We estimate the value for {opp.account.name} at "
        f"{value} a year. {closer}"
    )


def build_proposals(users: dict[str, User]) -> int:
    """A few proposals through the real services: one sent, one waiting for its manager's
    review, one draft — on late-stage deals with a business issue mapped to our value."""
    from proposals import selectors as proposal_selectors
    from proposals import services as proposal_services

    deals = (
        Opportunity.objects.filter(
            status=OpportunityStatus.OPEN, stage__name__in=("Proposal", "Negotiate")
        )
        .exclude(business_issues__quantified_value=None)
        .select_related("account", "owner__team__manager")
        .order_by("close_date", "id")
    )
    made, seen_issues = 0, set()
    items = [i.pk for i in proposal_selectors.checklist_items()]
    for opp in deals:
        issue = opp.business_issues.exclude(quantified_value=None).order_by("id").first()
        if issue.issue in seen_issues or opp.owner.team is None:
            continue
        seen_issues.add(issue.issue)
        proposal = proposal_services.proposal_create(
            actor=opp.owner,
            opportunity_id=opp.pk,
            title=f"{issue.our_value.split('.')[0][:150]} for {opp.account.name}",
            executive_summary=_demo_summary(opp, issue, SUMMARY_CLOSERS[made]),
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            sections=[
                {"heading": "Scope", "body": f"{opp.name}: licences, onboarding and coaching."},
                {"heading": "Investment", "body": f"{opp.amount:,.0f} {opp.currency} a year."},
                {"heading": "Next steps", "body": "Sign-off by the sponsor, then kick-off."},
            ],
        )
        if made < 2:
            proposal_services.proposal_submit(actor=opp.owner, proposal_id=proposal.pk)
        if made == 0:
            manager = opp.owner.team.manager
            proposal_services.proposal_approve(
                actor=manager, proposal_id=proposal.pk, checked_items=items
            )
            proposal_services.proposal_mark_sent(actor=opp.owner, proposal_id=proposal.pk)
        made += 1
        if made == len(SUMMARY_CLOSERS):
            break
    return made
