"""The demo's forecasting: past quarters' results, quotas, weekly pipeline snapshots and
forecast calls."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.utils import timezone

from demo.company.cast import PEOPLE, TEAMS, habits_of
from forecasting import rules as forecast_rules
from forecasting import services as forecast_services
from forecasting.models import PipelineSnapshot
from forecasting.selectors import forecast_summary
from pipeline import services as pipeline_services
from pipeline.models import (
    ChangeField,
    ForecastCategory,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
)
from salesops import organisation
from salesops.models import Role, Team, User

# --- forecasting -------------------------------------------------------------------------
# Quotas, deals won and lost in each of the last four quarters, twelve weekly pipeline
# snapshots and forecast calls, so that the forecast pages have a past to show: attainment,
# the trend and the week-over-week changes, accuracy and bias. Quotas and calls go through
# the forecasting services (calls with `now=` in the past); the snapshots of past weeks
# are replayed from the deals' change history, this week's is taken by the real job.

FORECAST_SEED_OFFSET = 6  # the forecasting history draws from Random(SEED + 6)
DEMO_CURRENCY = "EUR"  # every demo deal's currency
HISTORY_QUARTERS = 4
SNAPSHOT_WEEKS = 12
# Each rep's quota for the current quarter (Enterprise deals are 40-420k, Mid-market
# 8-90k), about what the deals of a quarter win (so the quarter in progress is on a
# believable course); each earlier quarter's was QUOTA_GROWTH lower than the next.
QUARTER_QUOTAS = {
    "rep1": 1_000_000, "rep2": 1_150_000, "rep3": 950_000, "rep4": 1_200_000,
    "rep5": 170_000, "rep6": 180_000, "rep7": 150_000, "rep8": 130_000,
}  # fmt: skip
QUOTA_GROWTH = Decimal("0.04")
# The first two months of a quarter carry 30% of its quota each; the last one the rest.
MONTH_SHARES = (Decimal("0.3"), Decimal("0.3"))
# A team's quota is a little below its reps' together (reps are over-assigned).
TEAM_QUOTA_SHARE = Decimal("0.95")
# Per rep and past quarter an attainment is drawn in the rep's Habits.attainment and won
# deals are added until it is reached (with lost ones, as the rep's win rate goes); a
# quarter whose deals already won more than ATTAINMENT_CAP of the quota had a higher
# quota, one they attained RAISED_ATTAINMENT of. So past attainment lies between ~50% and
# ~118%.
ATTAINMENT_CAP = Decimal("1.18")
RAISED_ATTAINMENT = (0.8, 1.15)
# Deals opened in the last weeks that close this quarter (see add_late_deals): whose, and
# how soon at the earliest (a closer close date would be pushed at once).
LATE_DEAL_OWNERS = ("rep1", "rep5", "rep6", "rep8")
LATE_DEAL_MIN_DAYS = 7
LATE_DEAL_CATEGORY = (
    ForecastCategory.BEST_CASE,
    "An expansion for a live customer: the budget is approved, only the paperwork is left.",
)
# How the reps' calls compare with what they went on to close: an optimist and a
# sandbagger; the others call straight. Their managers adjust the team calls for them.
CALL_BIAS = {"rep2": 1.3, "rep6": 0.7}
ADJUSTMENTS = {
    "Enterprise": (
        "rep2",
        (0.86, 0.95),
        "Took {delta} off the reps' commit: {name}'s call counts deals whose signature "
        "date is not confirmed yet.",
    ),
    "Mid-market": (
        "rep6",
        (1.04, 1.12),
        "Added {delta} to the reps' commit: {name} leaves out Negotiate deals whose paper "
        "process has started.",
    ),
}
ADJUSTED_SHARE = 0.7  # how often a manager's team call differs from the reps' sum
# The weeks of a past quarter in which reps call: everyone in weeks 1 and 6 (the accuracy
# checkpoints), a few revise in week 3 (superseded before week 6) or week 10 (after it).
# A call's spread around what was finally won narrows as the quarter goes on.
CALL_SPREAD = {1: 0.2, 3: 0.15, 6: 0.08, 10: 0.05}
# Reps who have not called yet this week, so that the "not submitted" indicator shows.
NOT_CALLED_THIS_WEEK = ("rep3", "rep7")
CALL_NOTES = (
    "Commit is the Negotiate deals with a confirmed signature date.",
    "Best case adds the Proposal deals whose champion has reviewed the proposal.",
    "Two deals carry the quarter; both economic buyers are engaged.",
    "Procurement slowed one deal down; it is in best case, not commit.",
    "",
)


def round_to(amount: Decimal | int, step: int, *, up: bool = False) -> Decimal:
    units = (Decimal(amount) / step).to_integral_value(ROUND_CEILING if up else ROUND_HALF_UP)
    return units * step


def ratio(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def current_quarter(now: dt.datetime) -> forecast_rules.Period:
    return forecast_services.fiscal_calendar().period_of(
        forecast_services.local_today(now), forecast_rules.PeriodKind.QUARTER
    )


def past_quarters(now: dt.datetime) -> list[forecast_rules.Period]:
    """The last HISTORY_QUARTERS closed fiscal quarters, oldest first."""
    current = current_quarter(now)
    return [current.shifted(-back) for back in range(HISTORY_QUARTERS, 0, -1)]


def quarter_quota(username: str, quarters_back: int) -> Decimal:
    """A rep's quota before any raise: QUARTER_QUOTAS, less QUOTA_GROWTH a quarter back."""
    return round_to(QUARTER_QUOTAS[username] / (1 + QUOTA_GROWTH) ** quarters_back, 10_000)


def won_by_rep_and_quarter(
    deals: Iterable[tuple[int, Decimal, dt.datetime | None]],
    quarters: list[forecast_rules.Period],
) -> Counter[tuple[int, dt.date]]:
    """Σ amount of won deals (owner id, amount, closed_at) per (owner, quarter start), by
    the day they closed in the organisation's timezone — forecast_summary's closed won."""
    tz = organisation.current().tz()
    won: Counter[tuple[int, dt.date]] = Counter()
    for owner_id, amount, closed_at in deals:
        day = timezone.localtime(closed_at, tz).date()
        for quarter in quarters:
            if day in quarter:
                won[(owner_id, quarter.start)] += amount  # type: ignore[assignment]  # Decimal amounts: typeshed's Counter holds only int
    return won


def _moment_in(quarter: forecast_rules.Period, rng: random.Random) -> dt.datetime:
    """Working hours on a day inside `quarter` (not its first or last day)."""
    day = quarter.start + dt.timedelta(days=rng.randint(1, (quarter.end - quarter.start).days - 2))
    at = dt.time(rng.randint(9, 17), rng.choice((0, 15, 30, 45)))
    return dt.datetime.combine(day, at, tzinfo=organisation.current().tz())


def add_quarter_history(
    opportunities: list[Opportunity],
    reps: dict[str, User],
    now: dt.datetime,
    rng: random.Random,
    new_deal: Callable[..., Opportunity],
) -> dict[str, int]:
    """Deals won (and, as the rep's habits make it, lost) in each of the last quarters for
    every rep whose won deals fall short of the attainment drawn for them — the year of
    generated history thins out towards its start. Built by `new_deal` like every other
    demo deal, so their change history, milestones and activities are as consistent."""
    quarters = past_quarters(now)
    won = won_by_rep_and_quarter(
        ((o.owner_id, o.amount, o.closed_at) for o in opportunities if o.status == "won"),
        quarters,
    )
    added = {"won_added": 0, "lost_added": 0}
    for back, quarter in zip(range(HISTORY_QUARTERS, 0, -1), quarters, strict=True):
        for username, rep in reps.items():
            habits = habits_of(rep)
            target = quarter_quota(username, back) * ratio(rng.uniform(*habits.attainment))
            while won[(rep.pk, quarter.start)] < target:
                deal = new_deal(rep, outcome="won", end=_moment_in(quarter, rng))
                won[(rep.pk, quarter.start)] += deal.amount  # type: ignore[assignment]  # Decimal amounts: typeshed's Counter holds only int
                added["won_added"] += 1
                # lost_per_won is often above one: the whole part, then the rest by chance.
                lost = int(habits.lost_per_won)
                lost += rng.random() < habits.lost_per_won - lost
                for _ in range(lost):
                    new_deal(rep, outcome="lost", end=_moment_in(quarter, rng))
                added["lost_added"] += lost
    return added


def add_late_deals(
    reps: dict[str, User],
    now: dt.datetime,
    rng: random.Random,
    new_deal: Callable[..., Opportunity],
) -> int:
    """A few open deals opened in the last three weeks that are expected to close this
    quarter (a quick expansion, a renewal brought forward), so that the current quarter's
    week-over-week changes show new deals too. None in the quarter's last week."""
    today = forecast_services.local_today(now)
    last_day = current_quarter(now).last_day
    if (last_day - today).days < LATE_DEAL_MIN_DAYS:
        return 0
    for username in LATE_DEAL_OWNERS:
        closes_in = rng.randint(LATE_DEAL_MIN_DAYS, (last_day - today).days)
        new_deal(
            reps[username],
            outcome="open",
            opened_at=now - dt.timedelta(days=rng.uniform(3, 20)),
            close_date=today + dt.timedelta(days=closes_in),
            # Quick by nature, so its rep counts on it already — with the reason.
            category_override=LATE_DEAL_CATEGORY,
        )
    return len(LATE_DEAL_OWNERS)


# A deal's change row -> (its field in a snapshot, how to read the stored value).
SNAPSHOT_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    ChangeField.STAGE: ("stage_id", int),
    ChangeField.AMOUNT: ("amount", Decimal),
    ChangeField.CLOSE_DATE: ("close_date", dt.date.fromisoformat),
    ChangeField.FORECAST_CATEGORY: ("forecast_category", str),
    ChangeField.STATUS: ("status", str),
}


def open_deals_at(moments: list[dt.datetime]) -> dict[dt.datetime, list[dict[str, Any]]]:
    """The open deals at each of `moments` (ascending) as their change history says they
    stood then: a deal counts from its creation to the change that closed it, with the
    stage, amount, close date and forecast category of its latest changes by that moment
    — the fields of a PipelineSnapshot row. Owner and team are today's (demo deals never
    change hands). Two queries."""
    first, last = moments[0], moments[-1]
    deals = {
        pk: (owner, team, currency, created)
        for pk, owner, team, currency, created in Opportunity.objects.filter(created_at__lte=last)
        .exclude(closed_at__lt=first)
        .values_list("id", "owner_id", "owner__team_id", "currency", "created_at")
    }
    changes = (
        OpportunityChange.objects.filter(
            opportunity_id__in=list(deals), field__in=list(SNAPSHOT_FIELDS), changed_at__lte=last
        )
        .order_by("opportunity_id", "changed_at", "id")
        .values_list("opportunity_id", "field", "new_value", "changed_at")
    )
    states: dict[dt.datetime, list[dict[str, Any]]] = {moment: [] for moment in moments}
    for pk, deal_changes in groupby(changes, key=itemgetter(0)):
        owner, team, currency, created = deals[pk]
        history = list(deal_changes)
        state: dict[str, Any] = {"status": OpportunityStatus.OPEN.value}
        applied = 0
        for moment in moments:
            while applied < len(history) and history[applied][3] <= moment:
                _, field_name, value, _ = history[applied]
                name, read = SNAPSHOT_FIELDS[field_name]
                state[name] = read(value)
                applied += 1
            if created <= moment and state["status"] == OpportunityStatus.OPEN:
                states[moment].append(
                    {"opportunity_id": pk, "owner_id": owner, "team_id": team,
                     "currency": currency, **state}
                )  # fmt: skip
    return states


def build_snapshot_history(now: dt.datetime) -> int:
    """The weekly pipeline snapshots of the last SNAPSHOT_WEEKS weeks: the past ones as the
    Monday job would have taken them (at PIPELINE_SNAPSHOT_HOUR), this week's by the job's
    service itself. Returns the number of rows."""
    tz = organisation.current().tz()
    this_week = forecast_rules.week_start(forecast_services.local_today(now))
    weeks = [this_week - dt.timedelta(weeks=back) for back in range(SNAPSHOT_WEEKS - 1, 0, -1)]
    taken_at = {
        dt.datetime.combine(week, dt.time(settings.PIPELINE_SNAPSHOT_HOUR), tzinfo=tz): week
        for week in weeks
    }
    rows = [
        PipelineSnapshot(week=taken_at[moment], **deal)
        for moment, deals in open_deals_at(list(taken_at)).items()
        for deal in deals
    ]
    PipelineSnapshot.objects.bulk_create(rows, batch_size=2000)
    return len(rows) + forecast_services.pipeline_snapshot_take(now=now).inserted


def _call_moment(period: forecast_rules.Period, week: int, hour: int) -> dt.datetime:
    """`hour` o'clock on the period's first day (week 1) or on the Tuesday of its `week`."""
    if week == 1:
        day = period.start
    else:
        day = forecast_rules.week_start(period.start) + dt.timedelta(weeks=week - 1, days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=organisation.current().tz())


def _this_week_moments(
    week: dt.date, now: dt.datetime, count: int, rng: random.Random
) -> list[dt.datetime]:
    """`count` moments from this week's Monday 00:00 up to `now`, ascending: on the half
    hours of working time (9:00-17:30) when the week has had enough of them, else spread
    evenly over the time since Monday began."""
    tz = organisation.current().tz()
    slots = [
        dt.datetime.combine(week + dt.timedelta(days=day), dt.time(hour, minute), tzinfo=tz)
        for day in range(7)
        for hour in range(9, 18)
        for minute in (0, 30)
    ]
    slots = [slot for slot in slots if slot <= now]
    if len(slots) >= count:
        return sorted(rng.sample(slots, count))
    since = dt.datetime.combine(week, dt.time.min, tzinfo=tz)
    return [since + (now - since) * (i + 1) / (count + 1) for i in range(count)]


def build_forecasting(
    users: dict[str, User], rng: random.Random, now: dt.datetime
) -> dict[str, int]:
    """Quotas, the weekly snapshots and the forecast calls — after the deals exist (see
    add_quarter_history for the deals of past quarters)."""
    calls = ForecastCalls(users, rng, now)
    quarters = past_quarters(now)
    won = won_by_rep_and_quarter(
        Opportunity.objects.filter(status=OpportunityStatus.WON).values_list(
            "owner_id", "amount", "closed_at"
        ),
        quarters,
    )
    calls.set_quotas(quarters, won)
    calls.counts["snapshot_rows"] = build_snapshot_history(now)
    calls.past_quarters_calls(quarters, won)
    calls.this_quarter_calls()
    calls.last_weeks_meetings()
    calls.counts["changed_since_meeting"] = _since_last_meeting(calls.teams.values(), calls.current)
    # This week's snapshot is the job's of this Monday, after those changes: taken again.
    this_week = forecast_rules.week_start(forecast_services.local_today(now))
    PipelineSnapshot.objects.filter(week=this_week).delete()
    forecast_services.pipeline_snapshot_take(now=now)
    return {"snapshot_weeks": SNAPSHOT_WEEKS, **calls.counts}


class ForecastCalls:
    """The steps of build_forecasting: the quotas, the reps' and managers' forecast calls
    and last week's meetings, through the forecasting services; what each made is counted
    in `counts`."""

    def __init__(self, users: dict[str, User], rng: random.Random, now: dt.datetime) -> None:
        self.rng, self.now = rng, now
        self.admin = users["admin"]
        self.reps = {u: users[u] for u, p in PEOPLE.items() if p[2] == Role.REP}
        self.teams = {
            t.name: t for t in Team.objects.filter(name__in=TEAMS).select_related("manager")
        }
        self.current = current_quarter(now)
        self.counts: Counter[str] = Counter()

    def set_quotas(
        self, quarters: list[forecast_rules.Period], won: Counter[tuple[int, dt.date]]
    ) -> None:
        """Each rep's and team's quota of the past quarters and this one: a past quarter's
        raised when the rep won far more than it (ATTAINMENT_CAP)."""
        rng, reps = self.rng, self.reps
        for back, period in zip(
            range(HISTORY_QUARTERS, -1, -1), [*quarters, self.current], strict=True
        ):
            amounts = {}
            for username, rep in reps.items():
                amount = quarter_quota(username, back)
                actual = won[(rep.pk, period.start)]
                if back and actual > amount * ATTAINMENT_CAP:
                    attained = ratio(rng.uniform(*RAISED_ATTAINMENT))
                    amount = round_to(actual / attained, 10_000, up=True)
                amounts[username] = amount
                self.set_quota(period, amount, rep_id=rep.pk)
            for name, team in self.teams.items():
                together = sum(a for u, a in amounts.items() if PEOPLE[u][3] == name)
                self.set_quota(
                    period, round_to(together * TEAM_QUOTA_SHARE, 10_000), team_id=team.pk
                )

    def set_quota(self, period: forecast_rules.Period, amount: Decimal, **whose: int) -> None:
        """The quarter's quota and, for the current quarter, its months' (MONTH_SHARES)."""
        admin, counts = self.admin, self.counts
        forecast_services.quota_set(
            actor=admin, period=period, amount=amount, currency=DEMO_CURRENCY, **whose
        )
        counts["quotas"] += 1
        if period != self.current:
            return
        month = forecast_services.fiscal_calendar().period_of(period.start, "month")
        left = amount
        for share in (*MONTH_SHARES, None):
            part = left if share is None else round_to(amount * share, 1_000)
            forecast_services.quota_set(
                actor=admin, period=month, amount=part, currency=DEMO_CURRENCY, **whose
            )
            counts["quotas"] += 1
            left -= part
            month = month.next()

    def rep_call(
        self,
        username: str,
        period: forecast_rules.Period,
        at: dt.datetime,
        basis: Decimal,
        spread: float,
    ) -> None:
        """A rep's call: `basis` with noise of `spread` and the rep's bias (CALL_BIAS)."""
        rng = self.rng
        step = 5_000 if PEOPLE[username][3] == "Enterprise" else 1_000
        # Within 2.5 standard deviations: no wild outlier in a small demo.
        noise = min(max(rng.gauss(1, spread), 1 - 2.5 * spread), 1 + 2.5 * spread)
        factor = noise * CALL_BIAS.get(username, 1.0)
        commit = round_to(basis * ratio(factor), step)
        forecast_services.forecast_submit(
            actor=self.reps[username],
            period=period.label,
            commit=commit,
            best_case=round_to(commit * ratio(rng.uniform(1.15, 1.45)), step),
            currency=DEMO_CURRENCY,
            notes=rng.choice(CALL_NOTES),
            now=at,
        )
        self.counts["forecast_calls"] += 1

    def team_call(self, team: Team, period: forecast_rules.Period, at: dt.datetime) -> None:
        """The manager's call: the reps' latest calls added up, adjusted most of the time."""
        calls = forecast_services.team_reps_calls(team, period)
        commit, best = forecast_services.reps_calls_sum(calls, DEMO_CURRENCY)
        biased, (low, high), text = ADJUSTMENTS[team.name]
        note = ""
        if self.rng.random() < ADJUSTED_SHARE:
            adjusted = round_to(commit * ratio(self.rng.uniform(low, high)), 5_000)
            if adjusted != commit:
                delta = f"{abs(adjusted - commit):,.0f} {DEMO_CURRENCY}"
                note = text.format(delta=delta, name=self.reps[biased].first_name)
                commit, best = adjusted, max(best, adjusted)
        assert team.manager is not None  # every demo team has a manager
        forecast_services.forecast_submit(
            actor=team.manager,
            period=period.label,
            team_id=team.pk,
            commit=commit,
            best_case=best,
            adjustment_note=note,
            currency=DEMO_CURRENCY,
            now=at,
        )
        self.counts["forecast_calls"] += 1

    def past_quarters_calls(
        self, quarters: list[forecast_rules.Period], won: Counter[tuple[int, dt.date]]
    ) -> None:
        """Past quarters: the calls go by what each rep finally won there."""
        rng, reps, teams = self.rng, self.reps, self.teams
        for quarter in quarters:
            early = rng.sample(list(reps), 2)
            late = [rng.choice(list(reps))]
            for week, callers in ((1, list(reps)), (3, early), (6, list(reps)), (10, late)):
                for i, username in enumerate(callers):
                    at = _call_moment(quarter, week, 9) + dt.timedelta(minutes=10 * i)
                    basis = won[(reps[username].pk, quarter.start)]
                    self.rep_call(username, quarter, at, basis, CALL_SPREAD[week])  # type: ignore[arg-type]  # Decimal amounts: typeshed's Counter holds only int
                if week in (1, 6):
                    for j, team in enumerate(teams.values()):
                        at = _call_moment(quarter, week, 16) + dt.timedelta(minutes=10 * j)
                        self.team_call(team, quarter, at)

    def this_quarter_calls(self) -> None:
        """This quarter: the calls go by the system's numbers now (closed won + commit + half
        the best case); weeks 1 and 6 when they are over, then this week."""
        rng, now, reps, teams, current = self.rng, self.now, self.reps, self.teams, self.current
        system = {
            row.id: row.figures
            for row in forecast_summary(self.admin, current.label, currency=DEMO_CURRENCY).by_owner
        }
        basis = {}
        for username, rep in reps.items():
            figures = system.get(rep.pk)
            expected = figures.commit_cumulative + figures.best_case / 2 if figures else Decimal(0)
            basis[username] = expected or quarter_quota(username, 0) * Decimal("0.6")
        this_week = forecast_rules.week_start(forecast_services.local_today(now))
        for week in (1, 6):
            if _call_moment(current, week, 0) >= dt.datetime.combine(
                this_week, dt.time.min, tzinfo=organisation.current().tz()
            ):
                continue
            for i, username in enumerate(reps):
                at = _call_moment(current, week, 9) + dt.timedelta(minutes=10 * i)
                self.rep_call(username, current, at, basis[username], CALL_SPREAD[week])
            for j, team in enumerate(teams.values()):
                at = _call_moment(current, week, 16) + dt.timedelta(minutes=10 * j)
                self.team_call(team, current, at)
        callers = [u for u in reps if u not in NOT_CALLED_THIS_WEEK]
        moments = _this_week_moments(this_week, now, len(callers) + len(teams), rng)
        for username, at in zip(callers, moments, strict=False):
            self.rep_call(username, current, at, basis[username], 0.05)
        for team, at in zip(teams.values(), moments[len(callers) :], strict=True):
            self.team_call(team, current, at)

    def last_weeks_meetings(self) -> None:
        """Each team's forecast meeting of last week, so a manager who records this week's
        sees the changes since it."""
        held_on = forecast_services.local_today(self.now) - dt.timedelta(days=7)
        for team in self.teams.values():
            people = User.objects.filter(team=team, is_active=True).values_list("id", flat=True)
            assert team.manager is not None  # every demo team has a manager
            forecast_services.meeting_create(
                actor=team.manager,
                period=self.current.label,
                team_id=team.pk,
                held_on=held_on,
                attendee_ids=sorted({team.manager_id, *people}),
                notes="Walked the commit deals; two close dates to confirm with the buyers.",
                now=self.now,
            )
            self.counts["forecast_meetings"] += 1


def _since_last_meeting(teams: Iterable[Team], period: forecast_rules.Period) -> int:
    """What happened since last week's meetings froze their numbers, so this week's differ
    (and the meeting page's "changes since" has something to say): per team, its largest
    Commit deal of the period grew by 10 % and its largest Best case deal was pushed past
    the period (other deals of the period when it has none of those) — by their owners,
    through the pipeline's services."""
    changed = 0
    for team in teams:
        open_in_period = Opportunity.objects.filter(
            owner__team=team, status=OpportunityStatus.OPEN,
            close_date__gte=period.start, close_date__lt=period.end,
        ).select_related("owner").order_by("-amount", "pk")  # fmt: skip
        # The largest Commit deal grew (else the largest of any category) and the largest
        # Best case deal (else another) was pushed: whatever the period holds today.
        by_category = sorted(
            open_in_period,
            key=lambda o: (o.forecast_category != ForecastCategory.COMMIT, -o.amount, o.pk),
        )
        grown = by_category[0] if by_category else None
        if grown is not None:
            pipeline_services.opportunity_update(
                actor=grown.owner, opportunity_id=grown.pk, expected_version=grown.version,
                amount=(grown.amount * Decimal("1.1")).quantize(Decimal("1")),
            )  # fmt: skip
            changed += 1
        others = sorted(
            (o for o in open_in_period if o != grown),
            key=lambda o: (o.forecast_category != ForecastCategory.BEST_CASE, -o.amount, o.pk),
        )
        pushed = others[0] if others else None
        if pushed is not None:
            pipeline_services.opportunity_update(
                actor=pushed.owner, opportunity_id=pushed.pk, expected_version=pushed.version,
                close_date=period.end + dt.timedelta(days=14),
            )  # fmt: skip
            changed += 1
    return changed
