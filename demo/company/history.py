"""The demo's year of deal history, written the way the services would have written it:
stage moves, changes, milestone completions, activities, qualifications, proposals.

History walks one deal through the stages (here) on a journey drawn by journey_history;
what it is made of is in history_common, its activities in activity_history, its
assessments in qualification_history, the demo proposals in proposal_history. The names
the seed command and the tests import from here are re-exported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from demo.company.activity_history import ActivityHistory
from demo.company.cast import (
    CATEGORY_OVERRIDES,
    EXPERIMENT_REDRAW,
    ISSUES,
    LATE_STAGES,
    LOSS_REASONS,
    MUTUAL_ACTION_PLAN,
    NEXT_STEPS,
    OVERRIDE_REASONS,
    Habits,
    habits_of,
)
from demo.company.history_common import Journey, Rows
from demo.company.journey_history import JourneyHistory
from demo.company.proposal_history import build_proposals
from demo.company.qualification_history import (
    QualificationHistory,
    set_latest_qualifications,
    write_qualifications,
)
from pipeline.models import (
    Account,
    BusinessIssue,
    ChangeField,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneCompletion,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
)
from salesops.models import User

__all__ = [
    "History",
    "Rows",
    "build_proposals",
    "set_latest_qualifications",
    "write_qualifications",
]


class History(QualificationHistory, ActivityHistory, JourneyHistory):
    """Fabricates one opportunity's past, the way the services would have recorded it."""

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
        habits = habits_of(owner)
        plan = self.rng.random() < habits.plan_agreed_share(outcome)
        journey = self._journey(outcome, plan, end, opened_at)
        if self._held_back(journey) and self.rng.random() < EXPERIMENT_REDRAW:
            journey = self._journey(outcome, plan, end, opened_at)

        first_change = len(self.rows.changes)
        opp = self._created(name, account, owner, pipeline, amount, journey, close_date)
        self._business_issues(opp, journey)
        events = self._walk_stages(
            opp, journey, manager, plan, habits, close_date_chosen=close_date is not None
        )
        if journey.outcome == "open":
            more, activity_end = self._still_open(opp, journey, category_override, first_change)
        else:
            more, activity_end = self._closed(opp, journey, manager)
        opp.version = 1 + events + more
        self._activities(opp, owner, journey, habits, max(journey.created, activity_end))
        self._qualifications(opp, journey, habits)
        self.rows.opportunities.append(opp)

    def _created(
        self,
        name: str,
        account: Account,
        owner: User,
        pipeline: Pipeline,
        amount: Decimal,
        journey: Journey,
        close_date: dt.date | None,
    ) -> Opportunity:
        """The deal as it was created in the first stage of its journey, with the changes
        that record its creation; its close date, unless given, drawn from the expected
        length of the cycle."""
        created, path = journey.created, journey.path
        expected_cycle = sum(s.expected_days or 14 for s in self.open_stages)
        drawn = (created + dt.timedelta(days=expected_cycle * self.rng.uniform(0.8, 1.3))).date()
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
        for f, value, display in (
            (ChangeField.STAGE, path[0].pk, path[0].name),
            (ChangeField.AMOUNT, amount, str(amount)),
            (ChangeField.CLOSE_DATE, close_date, close_date.isoformat()),
            (ChangeField.FORECAST_CATEGORY, category, ForecastCategory(category).label),
        ):
            self._change(opp, f, None, value, owner, created, new_display=display, note="Created")
        return opp

    def _business_issues(self, opp: Opportunity, journey: Journey) -> None:
        """Business issues: identified in Discover/Qualify, mapped to value from Solution on."""
        rng, owner = self.rng, opp.owner
        created, entered, final = journey.created, journey.entered, len(journey.path) - 1
        reached = len(journey.path) + (1 if journey.outcome == "won" else 0)
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

    def _walk_stages(
        self,
        opp: Opportunity,
        journey: Journey,
        manager: User,
        plan: bool,
        habits: Habits,
        *,
        close_date_chosen: bool,
    ) -> int:
        """Walk the stages: milestones ticked while in a stage, then the move out of it.
        Returns how many changes (events) it recorded."""
        path, events = journey.path, 0
        for i, stage in enumerate(path):
            left = journey.left[i]
            is_current = i == len(path) - 1 and journey.outcome != "won"
            skipped = self._tick_milestones(
                opp, stage, manager, plan, habits, journey.entered[i], left, is_current=is_current
            )
            events += self._revise_amount(opp, stage, journey.entered[i], left)
            events += self._keep_close_date(
                opp, journey, i, is_current=is_current, close_date_chosen=close_date_chosen
            )
            if is_current:
                break
            target = path[i + 1] if i + 1 < len(path) else self.won
            self._move(opp, stage, target, opp.owner, manager, left, skipped)
            events += 1
        return events

    def _tick_milestones(
        self,
        opp: Opportunity,
        stage: Stage,
        manager: User,
        plan: bool,
        habits: Habits,
        entered: dt.datetime,
        left: dt.datetime,
        *,
        is_current: bool,
    ) -> Milestone | None:
        """The milestones of `stage` ticked while the deal was in it (between `entered` and
        `left`); returns the required one its manager overrode the gate for, if any (never in
        the current stage)."""
        rng, owner = self.rng, opp.owner
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
                        completed_at=self._at(entered, left - dt.timedelta(hours=1)),
                        evidence=_evidence(m, opp.account) if m.requires_evidence else "",
                    )
                )
        return skipped

    def _revise_amount(
        self, opp: Opportunity, stage: Stage, entered: dt.datetime, left: dt.datetime
    ) -> int:
        """Amount revised once the scope is clear (in Solution or Proposal). Returns how many
        changes it recorded (0 or 1)."""
        rng = self.rng
        if stage.name in ("Solution", "Proposal") and rng.random() < 0.3:
            new_amount = opp.amount * Decimal(str(round(rng.uniform(0.7, 1.35), 2)))
            new_amount = (new_amount / 500).quantize(Decimal("1")) * 500
            if new_amount != opp.amount:
                self._change(
                    opp,
                    ChangeField.AMOUNT,
                    opp.amount,
                    new_amount,
                    opp.owner,
                    self._at(entered, left),
                )
                opp.amount = new_amount
                return 1
        return 0

    def _keep_close_date(
        self,
        opp: Opportunity,
        journey: Journey,
        i: int,
        *,
        is_current: bool,
        close_date_chosen: bool,
    ) -> int:
        """The close date while the deal was in its `i`-th stage. Returns how many changes
        it recorded (0 or 1)."""
        rng, now, owner = self.rng, self.now, opp.owner
        entered, left = journey.entered[i], journey.left[i]
        # Where the deal is now, its rep keeps a close date the stages still ahead can
        # make — unless the caller chose the date.
        if is_current and not close_date_chosen:
            soonest = (now + self._time_still_needed(journey.path, i, now - entered)).date()
            if opp.close_date < soonest:
                at = self._at(entered, now)
                new_date = soonest + dt.timedelta(days=rng.randint(0, 30))
                self._change(opp, ChangeField.CLOSE_DATE, opp.close_date, new_date, owner, at)
                opp.close_date = new_date
                return 1
        # Earlier, the close date was pushed when it came too close for where it was.
        elif opp.close_date < (left + dt.timedelta(days=7)).date() and rng.random() < 0.85:
            at = self._at(entered, left)
            new_date = (at + dt.timedelta(days=rng.randint(20, 75))).date()
            if new_date > opp.close_date:
                self._change(opp, ChangeField.CLOSE_DATE, opp.close_date, new_date, owner, at)
                opp.close_date = new_date
                return 1
        return 0

    def _still_open(
        self,
        opp: Opportunity,
        journey: Journey,
        category_override: tuple[str, str] | None,
        first_change: int,
    ) -> tuple[int, dt.datetime]:
        """An open deal as it stands now: its forecast category, next step and (for a few
        late ones) a close date that has passed. Returns how many changes it recorded and
        when its activities end (a while ago for a deal whose next step went stale)."""
        rng, now, owner = self.rng, self.now, opp.owner
        events = self._override_category(opp, category_override)
        steps = NEXT_STEPS[opp.stage.name]
        opp.next_step = rng.choice(steps)
        stale = rng.random() < 0.12
        opp.next_step_date = (
            now + dt.timedelta(days=rng.randint(-20, -2) if stale else rng.randint(1, 14))
        ).date()
        # A few deals near the end, whose close date has quietly passed (not before the
        # deal was created): the date was in sight, and it slipped.
        passed = (now - dt.timedelta(days=rng.randint(2, 25))).date()
        if opp.stage.name in LATE_STAGES and passed > journey.created.date() and rng.random() < 0.2:
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
        return events, activity_end

    def _override_category(
        self, opp: Opportunity, category_override: tuple[str, str] | None
    ) -> int:
        """The forecast category the rep put the open deal in by hand, if any: the one asked
        for, else now and then the stage's usual override (CATEGORY_OVERRIDES). Returns how
        many changes it recorded (0 or 1)."""
        override: tuple[str, str] | None
        if category_override is not None:
            override = category_override
            wanted = override[0] != opp.forecast_category
        else:
            override = CATEGORY_OVERRIDES.get(opp.stage.name)
            wanted = override is not None and self.rng.random() < 0.12
        if override and wanted:
            new_cat, reason = override
            self._change(
                opp,
                ChangeField.FORECAST_CATEGORY,
                opp.forecast_category,
                new_cat,
                opp.owner,
                self._at(opp.stage_entered_at, self.now),
                old_display=ForecastCategory(opp.forecast_category).label,
                new_display=ForecastCategory(new_cat).label,
                override_reason=reason,
            )
            opp.forecast_category, opp.forecast_category_override_reason = new_cat, reason
            return 1
        return 0

    def _closed(self, opp: Opportunity, journey: Journey, manager: User) -> tuple[int, dt.datetime]:
        """A won or lost deal's close: its actual close date and, when lost, the move to the
        lost stage with a reason. Returns how many changes it recorded and when its
        activities end (when it closed)."""
        closed_at, owner, events = journey.closed_at, opp.owner, 0
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
        if journey.outcome == "lost":
            self._move(
                opp,
                opp.stage,
                self.lost,
                owner,
                manager,
                closed_at,
                None,
                loss_reason=self.rng.choice(LOSS_REASONS),
            )
            events += 1
        return events, closed_at

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
        category: str
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


def _evidence(milestone: Milestone, account: Account) -> str:
    return (
        f"Confirmed by the customer ({account.name}) — see the meeting notes and the "
        f"follow-up email for '{milestone.title[:60]}'."
    )
