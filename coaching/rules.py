"""Pure decision functions of coaching — no ORM, tested without a database.

The cadence: every rep should have a 1:1 every `regular_days` (default 14), and every
`new_rep_days` (default 7) during their first `new_period_days` (default 90). The interval
that applies to the next 1:1 is the one of the moment the clock started — the last 1:1,
or the rep's first day when there has been none — so a rep met on day 85 of their first
90 is due again a week later, and one met on day 95 a fortnight later.
coaching/cadence.py computes the same due date in SQL for every rep at once; a test
cross-checks the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

from salesops.text import money


@dataclass(frozen=True)
class Cadence:
    regular_days: int = 14
    new_rep_days: int = 7
    new_period_days: int = 90


def one_on_one_interval(*, started_on: date, since: date, cadence: Cadence) -> int:
    """Days until the next 1:1 is due, counted from `since` (the last 1:1 or the first
    day): the new-rep interval while `since` is within the rep's first period."""
    in_first_period = since < started_on + timedelta(days=cadence.new_period_days)
    return cadence.new_rep_days if in_first_period else cadence.regular_days


def one_on_one_due_on(*, started_on: date, last_held_on: date | None, cadence: Cadence) -> date:
    """The last day the next 1:1 is on time. Overdue from the day after."""
    since = last_held_on if last_held_on is not None else started_on
    return since + timedelta(
        days=one_on_one_interval(started_on=started_on, since=since, cadence=cadence)
    )


def one_on_one_overdue(
    *, started_on: date, last_held_on: date | None, today: date, cadence: Cadence
) -> bool:
    return today > one_on_one_due_on(
        started_on=started_on, last_held_on=last_held_on, cadence=cadence
    )


# --- opportunity review agenda and risk ---
# A review's agenda is the deal's gaps at the moment it starts, in words a manager can coach
# from. coaching.selectors.deal_snapshot reads the facts; review_agenda only decides. The
# source strings are coaching.models.AgendaSource values (a test keeps them in step).

SOURCE_FLAG = "flag"
SOURCE_MILESTONE = "milestone"
SOURCE_QUALIFICATION = "qualification"
SOURCE_SUMMARY = "executive_summary"
SOURCE_CLOSE_DATE = "close_date"
SOURCE_AMOUNT = "amount"
SOURCE_MANAGER = "manager"  # a point the manager added; never generated

# Qualification element scores run 0–3; below this is a coaching point.
WEAK_BELOW = 2
SCORE_WORDS = {0: "unknown", 1: "identified only"}
MAX_AGENDA_TITLE = 300
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class UnmetMilestone:
    stage: str
    title: str
    in_next_stage: bool = False
    # An automatic milestone: what it still lacks, in words (empty for a manual one).
    lacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenFlagFact:
    label: str
    severity: str  # "critical" or "warning"
    explanation: str


@dataclass(frozen=True)
class DateChange:
    old: date
    new: date
    at: datetime
    by: str


@dataclass(frozen=True)
class AmountChange:
    old: Decimal
    new: Decimal
    at: datetime
    by: str


@dataclass(frozen=True)
class DealSnapshot:
    """What a review's agenda is generated from, read at the moment the review starts."""

    stage: str
    next_stage: str | None = None
    unmet_milestones: tuple[UnmetMilestone, ...] = ()
    qualification_state: str = "none"  # none / valid / expired / voided
    # (element name, score 0–3 or None when not scored) in the framework's order.
    element_scores: tuple[tuple[str, int | None], ...] = ()
    flags: tuple[OpenFlagFact, ...] = ()
    summary_state: str = "no_proposal"  # no_proposal / failing / passing
    summary_failures: tuple[str, ...] = ()
    close_date_changes: tuple[DateChange, ...] = ()  # oldest first
    amount_changes: tuple[AmountChange, ...] = ()  # oldest first
    currency: str = "EUR"
    # True when there was an earlier review: changes are "since the last review".
    reviewed_before: bool = False


# An agenda is ranked (lower first; a tie keeps the order the points were generated in):
# what blocks the deal now, then what says it is going stale, then weak qualification,
# then the rest. The review page shows the first AGENDA_SHOWN points and folds the others.
RANK_CRITICAL_FLAG = 0  # a critical flag: close date passed, stuck past rotting, …
RANK_GATE_BLOCKER = 1  # a required milestone of the current stage: the deal cannot move on
RANK_STALE = 2  # a warning flag; the close date pushed out
RANK_QUALIFICATION = 3  # never qualified, qualification expired or voided, weak elements
RANK_SUMMARY = 4  # a missing or failing executive summary
RANK_NEXT_STAGE = 5  # the next stage's milestones: what comes after
RANK_CHANGES = 6  # amount changes; a close date pulled in or moved back and forth
AGENDA_SHOWN = 5


@dataclass(frozen=True)
class AgendaPoint:
    source: str
    title: str
    detail: str = ""
    rank: int = RANK_CHANGES


def format_day(value: date, *, year: bool = True) -> str:
    text = f"{value.day} {_MONTHS[value.month - 1]}"
    return f"{text} {value.year}" if year else text


def format_span(old: date, new: date) -> str:
    """12 Oct → 30 Nov 2026; the first year is said only when the years differ."""
    return f"{format_day(old, year=old.year != new.year)} → {format_day(new)}"


def format_money(amount: Decimal, currency: str) -> str:
    return money(amount, currency, places=0)


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def _cap(text: str) -> str:
    return text if len(text) <= MAX_AGENDA_TITLE else text[: MAX_AGENDA_TITLE - 1] + "…"


def _flag_points(snapshot: DealSnapshot) -> list[AgendaPoint]:
    ordered = sorted(snapshot.flags, key=lambda f: 0 if f.severity == "critical" else 1)
    return [
        AgendaPoint(
            SOURCE_FLAG,
            _cap(f"{'Critical' if f.severity == 'critical' else 'Warning'}: {f.label}"),
            f.explanation,
            RANK_CRITICAL_FLAG if f.severity == "critical" else RANK_STALE,
        )
        for f in ordered
    ]


def _milestone_points(snapshot: DealSnapshot) -> list[AgendaPoint]:
    # The current stage's gaps block the next move; the next stage's are what comes after.
    ordered = sorted(snapshot.unmet_milestones, key=lambda m: m.in_next_stage)
    points = []
    for m in ordered:
        where = f"next stage, {m.stage}" if m.in_next_stage else f"current stage, {m.stage}"
        detail = (
            # Each gap is a sentence already; join them without doubling the full stop.
            "Still lacks: " + "; ".join(gap.rstrip(".") for gap in m.lacks) + "."
            if m.lacks
            else "Required before the deal can leave "
            + ("that stage." if m.in_next_stage else "this stage.")
        )
        rank = RANK_NEXT_STAGE if m.in_next_stage else RANK_GATE_BLOCKER
        points.append(
            AgendaPoint(SOURCE_MILESTONE, _cap(f"“{m.title}” not met ({where})"), detail, rank)
        )
    return points


def weak_elements(
    element_scores: tuple[tuple[str, int | None], ...],
) -> tuple[tuple[str, int | None], ...]:
    """The elements scored below WEAK_BELOW or not scored, in the framework's order."""
    return tuple(
        (name, score) for name, score in element_scores if score is None or score < WEAK_BELOW
    )


def _score_words(score: int | None) -> str:
    return "not scored" if score is None else f"{score}, {SCORE_WORDS.get(score, 'weak')}"


def _weak_elements_point(snapshot: DealSnapshot) -> AgendaPoint | None:
    """One point for every weak element: a deal weak on five elements has one qualification
    conversation, not five agenda points."""
    weak = weak_elements(snapshot.element_scores)
    if not weak:
        return None
    total = len(snapshot.element_scores)
    names = ", ".join(name for name, _ in weak)
    title = (
        f"{len(weak)} of {total} qualification element{'s' if total != 1 else ''} below "
        f"{WEAK_BELOW}: {names}"
    )
    detail = "\n".join(
        [
            *(f"{name}: {_score_words(score)}" for name, score in weak),
            "For each: what has the customer said or sent that validates it?",
        ]
    )
    return AgendaPoint(SOURCE_QUALIFICATION, _cap(title), detail, RANK_QUALIFICATION)


def _qualification_points(snapshot: DealSnapshot) -> list[AgendaPoint]:
    state = snapshot.qualification_state
    points = []
    if state == "none":
        points.append(
            AgendaPoint(
                SOURCE_QUALIFICATION,
                "Not qualified yet: no qualification is on record",
                "Walk through the qualification framework together and score each element.",
                RANK_QUALIFICATION,
            )
        )
        return points
    if state in ("expired", "voided"):
        points.append(
            AgendaPoint(
                SOURCE_QUALIFICATION,
                f"Qualification {state}: its scores may no longer hold",
                "Re-qualify the deal: what changed since it was last scored?",
                RANK_QUALIFICATION,
            )
        )
    if weak := _weak_elements_point(snapshot):
        points.append(weak)
    return points


def _summary_points(snapshot: DealSnapshot) -> list[AgendaPoint]:
    if snapshot.summary_state == "no_proposal":
        return [
            AgendaPoint(
                SOURCE_SUMMARY,
                "No executive summary yet: the deal has no proposal",
                "Can the rep say, in the customer's words, the issue, its value and our "
                "outcome? That is the summary to write.",
                RANK_SUMMARY,
            )
        ]
    if snapshot.summary_state == "failing":
        n = len(snapshot.summary_failures)
        return [
            AgendaPoint(
                SOURCE_SUMMARY,
                f"Executive summary fails {n} check{'s' if n != 1 else ''}",
                "\n".join(snapshot.summary_failures),
                RANK_SUMMARY,
            )
        ]
    return []


def _since(snapshot: DealSnapshot) -> str:
    return "since the last review" if snapshot.reviewed_before else "since the deal was created"


def _change_lines(changes: tuple[DateChange | AmountChange, ...], fmt: Callable) -> str:
    # `at` is in the organisation's timezone (the selector converts it).
    return "\n".join(
        f"{fmt(c.old)} → {fmt(c.new)} on {format_day(c.at.date())}"
        + (f" by {c.by}" if c.by else "")
        for c in changes
    )


def _close_date_points(snapshot: DealSnapshot) -> list[AgendaPoint]:
    changes = snapshot.close_date_changes
    if not changes:
        return []
    first, last = changes[0].old, changes[-1].new
    pushes = sum(1 for c in changes if c.new > c.old)
    if pushes and last > first:
        verb = (
            f"pushed {_times(pushes)}"
            if pushes == len(changes)
            else (f"changed {_times(len(changes))} ({pushes} pushed)")
        )
    elif last < first:
        verb = (
            f"pulled in {_times(len(changes))}"
            if pushes == 0
            else (f"changed {_times(len(changes))}")
        )
    else:
        verb = f"changed {_times(len(changes))}"
    title = f"Close date {verb} {_since(snapshot)}: {format_span(first, last)}"
    # Pushed out on balance: a sign of a stale deal. Pulled in, or back where it was: a change.
    rank = RANK_STALE if pushes and last > first else RANK_CHANGES
    return [AgendaPoint(SOURCE_CLOSE_DATE, _cap(title), _change_lines(changes, format_day), rank)]


def _amount_points(snapshot: DealSnapshot) -> list[AgendaPoint]:
    changes = snapshot.amount_changes
    if not changes:
        return []
    first, last = changes[0].old, changes[-1].new
    money = lambda value: format_money(value, snapshot.currency)  # noqa: E731
    span = f"{money(first)} → {money(last)}"
    if first > 0 and last != first:
        span += f" ({(last - first) / first * 100:+.0f}%)"
    title = f"Amount changed {_times(len(changes))} {_since(snapshot)}: {span}"
    return [AgendaPoint(SOURCE_AMOUNT, _cap(title), _change_lines(changes, money), RANK_CHANGES)]


def rank_agenda(points: Iterable[AgendaPoint]) -> list[AgendaPoint]:
    """`points` by rank (RANK_*), lowest first; a tie keeps their order."""
    return sorted(points, key=lambda p: p.rank)


def review_agenda(snapshot: DealSnapshot) -> list[AgendaPoint]:
    """The points a review of the deal discusses, ranked (rank_agenda): critical flags and
    the current stage's unmet milestones (they block the deal), then warning flags and a
    close date pushed out (a stale deal), then qualification (not qualified, expired or
    voided, and ONE point naming every weak element), then the executive summary, the next
    stage's milestones, and amount changes or a close date pulled in. Close-date and amount
    changes are each grouped into one point. Never forecast numbers or a commit call: an
    amount appears only as a change to understand."""
    return rank_agenda(
        [
            *_flag_points(snapshot),
            *_milestone_points(snapshot),
            *_qualification_points(snapshot),
            *_summary_points(snapshot),
            *_close_date_points(snapshot),
            *_amount_points(snapshot),
        ]
    )


class _HasSource(Protocol):
    source: str


Item = TypeVar("Item", bound=_HasSource)


def fold_agenda(
    items: Sequence[Item], *, shown: int = AGENDA_SHOWN
) -> tuple[list[Item], list[Item]]:
    """A review's agenda (in its order) as the page lays it out: (in view, folded). In view:
    the first `shown` generated points and every point the manager added (they chose it);
    folded: the other generated points. Folding a single point saves nothing: then none is
    folded."""
    generated = [i for i in items if i.source != SOURCE_MANAGER]
    if len(generated) <= shown + 1:
        return list(items), []
    folded = generated[shown:]
    hidden = {id(i) for i in folded}
    return [i for i in items if id(i) not in hidden], folded


# The review queue's risk score: points per input, capped so that no single input drowns the
# others. Never reviewed weighs more than any time since a review.
RISK_CRITICAL_FLAG = 30
RISK_WARNING_FLAG = 10
RISK_FLAGS_CAP = 60
RISK_NOT_QUALIFIED = 25
RISK_QUALIFICATION_STALE = 15
RISK_WEAK_ELEMENT = 8
RISK_WEAK_CAP = 32
RISK_VALUE_CAP = 25
RISK_NEVER_REVIEWED = 30
RISK_REVIEW_AGE_CAP = 25
REVIEW_AGE_STEP_DAYS = 3  # one point per this many days since the last review


@dataclass(frozen=True)
class ReviewRisk:
    score: int
    reasons: tuple[str, ...]  # biggest contribution first


def review_risk(
    *,
    critical_flags: int,
    warning_flags: int,
    qualification_state: str,
    weak_elements: int,
    amount: Decimal,
    team_average_amount: Decimal | None,
    days_since_review: int | None,
) -> ReviewRisk:
    """How much a deal needs a review now (higher first), with the reasons in words.
    `days_since_review` is None when the deal was never reviewed; `team_average_amount`
    is the average open deal of the owner's team in the deal's currency (None or 0: value
    adds nothing)."""
    parts: list[tuple[int, str]] = []
    flag_points = min(
        RISK_FLAGS_CAP, critical_flags * RISK_CRITICAL_FLAG + warning_flags * RISK_WARNING_FLAG
    )
    if flag_points:
        words = []
        if critical_flags:
            words.append(f"{critical_flags} critical")
        if warning_flags:
            words.append(f"{warning_flags} warning")
        n = critical_flags + warning_flags
        parts.append((flag_points, f"{' and '.join(words)} flag{'s' if n != 1 else ''} open"))
    if qualification_state == "none":
        parts.append((RISK_NOT_QUALIFIED, "Never qualified"))
    else:
        if qualification_state in ("expired", "voided"):
            parts.append((RISK_QUALIFICATION_STALE, f"Qualification {qualification_state}"))
        if weak_elements:
            parts.append(
                (
                    min(RISK_WEAK_CAP, weak_elements * RISK_WEAK_ELEMENT),
                    f"{weak_elements} qualification element{'s' if weak_elements != 1 else ''}"
                    f" below {WEAK_BELOW}",
                )
            )
    if team_average_amount and team_average_amount > 0 and amount > 0:
        ratio = amount / team_average_amount
        value_points = min(RISK_VALUE_CAP, int(ratio * 10))
        if value_points:
            reason = (
                f"Value {ratio:.1f}× the team's average open deal"
                if ratio >= Decimal("1.5")
                else "Value near the team's average"
                if ratio >= Decimal("0.75")
                else "Smaller than the team's average"
            )
            parts.append((value_points, reason))
    if days_since_review is None:
        parts.append((RISK_NEVER_REVIEWED, "Never reviewed"))
    else:
        age_points = min(RISK_REVIEW_AGE_CAP, max(0, days_since_review) // REVIEW_AGE_STEP_DAYS)
        if age_points:
            parts.append((age_points, f"Last reviewed {days_since_review} days ago"))
    parts.sort(key=lambda p: -p[0])
    return ReviewRisk(score=sum(p for p, _ in parts), reasons=tuple(r for _, r in parts))
