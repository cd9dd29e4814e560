"""Pure decision functions of the pipeline — no ORM, tested without a database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from salesops.text import money


@dataclass(frozen=True)
class StageSpec:
    id: int
    order: int
    name: str
    is_won: bool = False
    is_lost: bool = False


@dataclass(frozen=True)
class MilestoneSpec:
    id: int
    stage_id: int
    title: str
    kind: str
    required: bool = True
    auto_check: str = ""


def stages_to_clear(
    *, stages: Iterable[StageSpec], current: StageSpec, target: StageSpec
) -> list[StageSpec]:
    """Stages whose exit milestones must be met to move from `current` to `target`.

    Moving forward clears the current stage and every stage skipped on the way;
    closed stages (won/lost) have no exit criteria of their own. Moving backwards
    clears nothing. Moving to a lost stage clears nothing either: a deal may be
    lost at any point.
    """
    if target.is_lost or target.order <= current.order:
        return []
    return [
        s
        for s in sorted(stages, key=lambda s: s.order)
        if current.order <= s.order < target.order and not (s.is_won or s.is_lost)
    ]


def missing_milestones(
    *,
    stages: Iterable[StageSpec],
    milestones: Iterable[MilestoneSpec],
    current: StageSpec,
    target: StageSpec,
    met_ids: set[int],
) -> list[MilestoneSpec]:
    """The required milestones that block the move, in stage and milestone order.

    `met_ids` holds the ids of milestones that are met, whether ticked by a person
    or satisfied by an automatic check.
    """
    stage_order = {
        s.id: s.order for s in stages_to_clear(stages=stages, current=current, target=target)
    }
    return [
        m for m in milestones if m.required and m.stage_id in stage_order and m.id not in met_ids
    ]


def auto_check_met(
    *, auto_check: str, mapped_business_issues: int = 0, approved_proposals: int = 0
) -> bool:
    """Whether an automatic milestone is met, from facts gathered by the service."""
    if auto_check == "business_issue_mapped":
        return mapped_business_issues > 0
    if auto_check == "proposal_approved":
        return approved_proposals > 0  # approved, or approved and since sent
    return False


def evidence_problem(*, requires_evidence: bool, evidence: str) -> str | None:
    """Why the evidence given for a milestone is not acceptable, or None."""
    if requires_evidence and len(evidence.strip()) < 3:
        return "This milestone needs evidence: say what the customer said or sent."
    return None


def default_forecast_category(*, stage_category: str) -> str:
    return stage_category


# --- pipeline: category override on stage moves ---
# A manual forecast category (one with an override reason) is the rep's judgement; a
# stage move must not silently undo it, nor silently keep it against the new stage's
# default. When the two differ the mover decides: keep the override or follow the stage.
KEEP_OVERRIDE = "keep"
FOLLOW_STAGE = "follow"
CATEGORY_ON_MOVE_CHOICES = (KEEP_OVERRIDE, FOLLOW_STAGE)


@dataclass(frozen=True)
class CategoryOnMove:
    category: str
    override_reason: str
    needs_decision: bool = False
    replaced_override: bool = False


def category_on_stage_move(
    *, current: str, override_reason: str, stage_default: str, decision: str | None
) -> CategoryOnMove:
    """The forecast category (and override reason) after a move to an open stage.

    Without an override the category follows the stage. An override whose category equals
    the stage's default is kept without a question. Otherwise `decision` must say
    KEEP_OVERRIDE or FOLLOW_STAGE; None means the mover has to be asked (needs_decision).
    """
    if not override_reason:
        return CategoryOnMove(category=stage_default, override_reason="")
    if current == stage_default or decision == KEEP_OVERRIDE:
        return CategoryOnMove(category=current, override_reason=override_reason)
    if decision == FOLLOW_STAGE:
        return CategoryOnMove(category=stage_default, override_reason="", replaced_override=True)
    return CategoryOnMove(category=current, override_reason=override_reason, needs_decision=True)


def days_in_stage(*, stage_entered_at: datetime, now: datetime) -> int:
    return max(0, (now - stage_entered_at).days)


def stage_health(*, days: int, warn_days: int | None, rot_days: int | None) -> str:
    """'ok', 'warn' or 'rot' from the days spent in the stage and its thresholds."""
    if rot_days is not None and days >= rot_days:
        return "rot"
    if warn_days is not None and days >= warn_days:
        return "warn"
    return "ok"


# --- qualification ------------------------------------------------------------------

SCORE_LEVELS = {
    0: "Unknown",
    1: "Identified",
    2: "Partly validated",
    3: "Validated with evidence",
}
MAX_SCORE = 3
EVIDENCE_NEEDED_FROM = 2
EVIDENCE_SOURCES = ("call", "meeting", "email", "document")
AMOUNT_CHANGE_VOIDS = Decimal("0.20")


def weighted_score_pct(*, weighted_scores: Iterable[tuple[int, int]]) -> Decimal:
    """Σ weight × score ÷ (3 × Σ weight), as a percentage with two decimals.

    `weighted_scores` holds (weight, score) per element; no weight means 0 %."""
    pairs = list(weighted_scores)
    total_weight = sum(weight for weight, _ in pairs)
    if total_weight <= 0:
        return Decimal("0.00")
    achieved = sum(weight * score for weight, score in pairs)
    pct = Decimal(achieved * 100) / Decimal(MAX_SCORE * total_weight)
    return pct.quantize(Decimal("0.01"))


def score_problems(*, score: object, evidence: str, source: str) -> dict[str, str]:
    """What is wrong with one element's score, by field ('score', 'evidence', 'source')."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
        return {"score": "Score each element 0–3: 0 unknown, 1 identified, 2 partly validated, "
                         "3 validated with evidence."}  # fmt: skip
    problems: dict[str, str] = {}
    if score >= EVIDENCE_NEEDED_FROM:
        if len(evidence.strip()) < 3:
            problems["evidence"] = (
                f"A score of {score} ({SCORE_LEVELS[score].lower()}) needs evidence: what did "
                "the customer say, send or do?"
            )
        if source not in EVIDENCE_SOURCES:
            problems["source"] = (
                "Say where the evidence comes from: call, meeting, email or document."
            )
    return problems


def qualification_expires_at(*, assessed_at: datetime, validity_days: int) -> datetime:
    return assessed_at + timedelta(days=validity_days)


def qualification_is_valid(
    *, assessed_at: datetime, invalidated_at: datetime | None, validity_days: int, now: datetime
) -> bool:
    """Valid until it expires or a change to the deal voids it."""
    if invalidated_at is not None:
        return False
    return now < qualification_expires_at(assessed_at=assessed_at, validity_days=validity_days)


def qualification_void_reason(
    *,
    old_close: date | None = None,
    new_close: date | None = None,
    old_amount: Decimal | None = None,
    new_amount: Decimal | None = None,
    old_stage_order: int | None = None,
    new_stage_order: int | None = None,
) -> str | None:
    """Why a change to the deal voids its qualification early, or None.

    The close date pushed into a later month, the amount moved by more than 20 %, or
    the deal moved back a stage: what was validated no longer describes this deal."""
    if (
        old_close
        and new_close
        and (new_close.year, new_close.month)
        > (
            old_close.year,
            old_close.month,
        )
    ):
        return f"Close date pushed from {old_close:%b %Y} to {new_close:%b %Y}."
    if (
        old_amount is not None
        and new_amount is not None
        and old_amount != new_amount
        and (old_amount == 0 or abs(new_amount - old_amount) > AMOUNT_CHANGE_VOIDS * old_amount)
    ):
        return f"Amount changed from {old_amount:,.2f} to {new_amount:,.2f} (more than 20 %)."
    if (
        old_stage_order is not None
        and new_stage_order is not None
        and new_stage_order < old_stage_order
    ):
        return "The deal moved back a stage."
    return None


def qualification_gaps(
    *,
    score_pct: Decimal | None,
    element_scores: dict[int, int],
    min_score: int | None,
    element_minimums: dict[int, int],
    element_names: dict[int, str],
) -> list[str]:
    """What a (valid) qualification lacks against a stage's requirement, in words.

    `score_pct` None means there is no valid qualification at all."""
    if score_pct is None:
        return ["No valid qualification: qualify (or re-qualify) the deal."]
    gaps = []
    if min_score is not None and score_pct < min_score:
        gaps.append(f"Qualification score {score_pct:.0f} % is below the required {min_score} %.")
    for element_id, minimum in element_minimums.items():
        have = element_scores.get(element_id, 0)
        if have < minimum:
            gaps.append(
                f"{element_names.get(element_id, 'Element')} is {have} "
                f"({SCORE_LEVELS.get(have, '?').lower()}); at least {minimum} is required."
            )
    return gaps


# --- attention flags ----------------------------------------------------------------
# One function per flag kind: whether the flag should be open, how bad it is and why, in
# words. pipeline/flags.py computes the same decisions in SQL for the whole table; a test
# cross-checks the two over generated data, so change the wording in both places.
# Days are calendar days in the organisation's timezone: a deal entered yesterday evening
# has been in its stage 1 day this morning, and "past" means before today's date there.
# The explanation names dates, never a day count ("In Proposal since 16 Oct 2026", not
# "for 41 days"): it depends only on the deal, so a day passing does not rewrite every open
# flag. Only the severity moves with time (warning → critical), and that is a real change.
# Pages that want the age show it live, computed when they render.

WARNING = "warning"
CRITICAL = "critical"
PAST_CLOSE_CRITICAL_DAYS = 14  # a close date two weeks gone is a forecast error, not a slip
NEXT_STEP_CRITICAL_DAYS = 7
NO_ACTIVITY_CRITICAL_FACTOR = 2  # twice the stage's limit without customer contact
REQUALIFY_CRITICAL_DAYS = 14  # without a valid qualification for two weeks
EXPLANATION_MAX = 300  # OpportunityFlag.explanation


@dataclass(frozen=True)
class FlagDecision:
    kind: str
    severity: str
    explanation: str


@dataclass(frozen=True)
class QualificationFacts:
    """The latest qualification of a deal, as the flag rules need it."""

    assessed_at: datetime
    invalidated_at: datetime | None = None
    invalidated_reason: str = ""


@dataclass(frozen=True)
class OpportunityFacts:
    """What the flag rules read about one opportunity."""

    status: str
    stage_name: str
    stage_entered_at: datetime
    created_at: datetime
    close_date: date
    warn_days: int | None = None
    rot_days: int | None = None
    stage_no_activity_days: int | None = None
    stage_validity_days: int | None = None
    last_activity_at: datetime | None = None
    next_step: str = ""
    next_step_date: date | None = None
    framework_name: str | None = None  # None: the pipeline has no framework
    latest_qualification: QualificationFacts | None = None
    # An import of a CRM export: whether the deal came in that way, the fields it filled
    # by a rule (Opportunity.import_gaps) with the values they hold, and the titles of the
    # milestones it skipped the gate for and nobody has recorded since
    # (gate_skipped_milestones, in stage and milestone order).
    imported: bool = False
    import_gaps: tuple[str, ...] = ()
    account_name: str = ""
    amount: Decimal = Decimal("0")
    currency: str = ""
    skipped_milestones: tuple[str, ...] = ()


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def days_between(earlier: date, later: date) -> int:
    return (later - earlier).days


def format_day(value: date) -> str:
    """3 Nov 2026 (no leading zero; English month abbreviation, as SQL's FMDD Mon YYYY)."""
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{value.day} {months[value.month - 1]} {value.year}"


def n_days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def every_n_days(n: int) -> str:
    return "every day" if n == 1 else f"every {n} days"


def _decision(kind: str, severity: str, explanation: str) -> FlagDecision:
    return FlagDecision(kind, severity, explanation[:EXPLANATION_MAX])


def stuck_in_stage_flag(
    *,
    stage_name: str,
    stage_entered_at: datetime,
    warn_days: int | None,
    rot_days: int | None,
    now: datetime,
    tz: tzinfo,
) -> FlagDecision | None:
    """Warning from the stage's warn days, critical from its rot days."""
    entered = local_date(stage_entered_at, tz)
    days = max(0, days_between(entered, local_date(now, tz)))
    head = f"In {stage_name} since {format_day(entered)}"
    if rot_days is not None and days >= rot_days:
        return _decision(
            "stuck_in_stage", CRITICAL, f"{head}; this stage's limit is {n_days(rot_days)}"
        )
    if warn_days is not None and days >= warn_days:
        tail = f" and its limit is {n_days(rot_days)}" if rot_days is not None else ""
        return _decision(
            "stuck_in_stage", WARNING, f"{head}; this stage warns at {n_days(warn_days)}{tail}"
        )
    return None


def past_close_date_flag(*, close_date: date, now: datetime, tz: tzinfo) -> FlagDecision | None:
    """An open deal whose close date is before today; critical after two weeks."""
    days = days_between(close_date, local_date(now, tz))
    if days < 1:
        return None
    severity = CRITICAL if days >= PAST_CLOSE_CRITICAL_DAYS else WARNING
    return _decision("past_close_date", severity, f"Close date {format_day(close_date)} has passed")


def no_activity_flag(
    *,
    last_activity_at: datetime | None,
    created_at: datetime,
    limit_days: int,
    now: datetime,
    tz: tzinfo,
) -> FlagDecision | None:
    """No call, meeting or email for `limit_days` (counted from creation when there was
    never any); critical at twice the limit."""
    since = local_date(last_activity_at if last_activity_at is not None else created_at, tz)
    days = max(0, days_between(since, local_date(now, tz)))
    if days < limit_days:
        return None
    severity = CRITICAL if days >= NO_ACTIVITY_CRITICAL_FACTOR * limit_days else WARNING
    head = (
        f"No customer activity since the deal was created on {format_day(since)}"
        if last_activity_at is None
        else f"No customer activity since {format_day(since)}"
    )
    return _decision(
        "no_activity", severity, f"{head}; this stage expects contact {every_n_days(limit_days)}"
    )


def next_step_overdue_flag(
    *, next_step: str = "", next_step_date: date | None, now: datetime, tz: tzinfo
) -> FlagDecision | None:
    """A next step dated before today; critical after a week."""
    if next_step_date is None:
        return None
    days = days_between(next_step_date, local_date(now, tz))
    if days < 1:
        return None
    severity = CRITICAL if days >= NEXT_STEP_CRITICAL_DAYS else WARNING
    due = format_day(next_step_date)
    text = (
        f"Next step \u201c{next_step}\u201d was due {due}"
        if next_step
        else f"The next step was due {due}"
    )
    return _decision("next_step_overdue", severity, text)


def requalify_due_flag(
    *,
    framework_name: str | None,
    latest: QualificationFacts | None,
    validity_days: int,
    created_at: datetime,
    now: datetime,
    tz: tzinfo,
) -> FlagDecision | None:
    """No valid qualification — none yet, the latest voided, or the latest expired — in a
    pipeline with a framework. Critical once that has lasted two weeks."""
    if framework_name is None:
        return None
    today = local_date(now, tz)
    if latest is None:
        days = max(0, days_between(local_date(created_at, tz), today))
        text = f"Never qualified with {framework_name}"
    elif latest.invalidated_at is not None:
        voided = local_date(latest.invalidated_at, tz)
        days = max(0, days_between(voided, today))
        reason = latest.invalidated_reason
        tail = f": {reason}" if reason else "; re-qualify the deal"
        text = f"The last qualification was voided on {format_day(voided)}{tail}"
    else:
        expires = qualification_expires_at(
            assessed_at=latest.assessed_at, validity_days=validity_days
        )
        if now < expires:
            return None
        expired = local_date(expires, tz)
        days = max(0, days_between(expired, today))
        text = f"The last qualification expired on {format_day(expired)}; re-qualify the deal"
    severity = CRITICAL if days >= REQUALIFY_CRITICAL_DAYS else WARNING
    return _decision("requalify_due", severity, text)


IMPORT_SKIPPED_LISTED = 3  # titles named in the explanation; the rest are counted


def gate_skipped_milestones(
    *,
    stages: Iterable[StageSpec],
    milestones: Iterable[MilestoneSpec],
    current: StageSpec,
    completed_ids: set[int],
) -> list[MilestoneSpec]:
    """The required milestones of the open stages before `current` that a person ticks and
    nobody has ticked, in the order given: what the gate would have asked for on the way
    from the first stage to `current` (stages_to_clear), for a deal that entered `current`
    without it (an import). Automatic milestones are left out: the gate checks them itself
    at the deal's next move."""
    earlier = {s.id for s in stages if s.order < current.order and not (s.is_won or s.is_lost)}
    return [
        m
        for m in milestones
        if m.required and not m.auto_check and m.stage_id in earlier and m.id not in completed_ids
    ]


def join_words(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def import_incomplete_flag(
    *,
    imported: bool,
    gaps: Iterable[str],
    close_date: date,
    account_name: str,
    amount: Decimal,
    currency: str,
    stage_name: str,
    skipped_milestones: Iterable[str],
) -> FlagDecision | None:
    """A deal an import brought in that its owner has to complete: fields the import filled
    by a rule (blank in the export) and milestones of earlier stages it skipped the gate
    for. A warning, whatever its age: it does not change by itself, only when the owner
    sets the fields or records the milestones (or the deal closes)."""
    if not imported:
        return None
    filled = set(gaps)
    # Always in this order, whatever the order of `gaps`. The close date names its rule:
    # the import's only one for a blank close date is the end of the current quarter.
    parts = []
    if "close_date" in filled:
        parts.append(f"the close date to {format_day(close_date)} (end of quarter)")
    if "account" in filled:
        parts.append(f"the account to {account_name}")
    if "amount" in filled:
        parts.append(f"the amount to {money(amount, currency)}")
    sentences = []
    if parts:
        real = "one" if len(parts) == 1 else "ones"
        sentences.append(f"The import set {join_words(parts)}: set the real {real}.")
    titles = list(skipped_milestones)
    if titles:
        n = len(titles)
        what = (
            "1 milestone of an earlier stage is not recorded"
            if n == 1
            else f"{n} milestones of earlier stages are not recorded"
        )
        listed = ", ".join(titles[:IMPORT_SKIPPED_LISTED])
        if n > IMPORT_SKIPPED_LISTED:
            listed += f" and {n - IMPORT_SKIPPED_LISTED} more"
        sentences.append(f"Imported into {stage_name} past the gate: {what} ({listed})")
    if not sentences:
        return None
    return _decision("import_incomplete", WARNING, " ".join(sentences))


def attention_flags(
    facts: OpportunityFacts,
    *,
    now: datetime,
    tz: tzinfo,
    default_no_activity_days: int,
    default_validity_days: int,
) -> list[FlagDecision]:
    """Every flag that should be open on the opportunity; none once it is closed."""
    if facts.status != "open":
        return []
    decisions = [
        stuck_in_stage_flag(
            stage_name=facts.stage_name,
            stage_entered_at=facts.stage_entered_at,
            warn_days=facts.warn_days,
            rot_days=facts.rot_days,
            now=now,
            tz=tz,
        ),
        past_close_date_flag(close_date=facts.close_date, now=now, tz=tz),
        no_activity_flag(
            last_activity_at=facts.last_activity_at,
            created_at=facts.created_at,
            # A blank (or 0) stage setting means the organisation default, as for validity.
            limit_days=facts.stage_no_activity_days or default_no_activity_days,
            now=now,
            tz=tz,
        ),
        next_step_overdue_flag(
            next_step=facts.next_step, next_step_date=facts.next_step_date, now=now, tz=tz
        ),
        requalify_due_flag(
            framework_name=facts.framework_name,
            latest=facts.latest_qualification,
            validity_days=facts.stage_validity_days or default_validity_days,
            created_at=facts.created_at,
            now=now,
            tz=tz,
        ),
        import_incomplete_flag(
            imported=facts.imported,
            gaps=facts.import_gaps,
            close_date=facts.close_date,
            account_name=facts.account_name,
            amount=facts.amount,
            currency=facts.currency,
            stage_name=facts.stage_name,
            skipped_milestones=facts.skipped_milestones,
        ),
    ]
    return [d for d in decisions if d is not None]


def start_of_day(day: date, tz: tzinfo) -> datetime:
    """The first moment of `day` in `tz` (SQL: day::timestamp AT TIME ZONE tz)."""
    return datetime.combine(day, time.min, tzinfo=tz)


def flags_change_at(
    facts: OpportunityFacts,
    *,
    now: datetime,
    tz: tzinfo,
    default_no_activity_days: int,
    default_validity_days: int,
) -> datetime | None:
    """The first moment after `now` at which `attention_flags` may decide differently for
    the same facts: a day reaching a warning or critical threshold, a close or next-step
    date passing, a qualification expiring. None: never by itself (a closed deal).
    (import_incomplete depends on no date: only a change to the deal moves it.)

    The refresh keeps this per deal (FlagSchedule.due_at) and looks at a deal again only
    then or when one of its facts changes. It may be earlier than needed (the deal is
    looked at and nothing changes), never later: every threshold of the rules above is
    listed here, and a test checks that nothing changes before it."""
    if facts.status != "open":
        return None
    days: list[date] = []
    moments: list[datetime] = []
    entered = local_date(facts.stage_entered_at, tz)
    limits = (facts.warn_days, facts.rot_days)
    days += [entered + timedelta(days=n) for n in limits if n is not None]
    days += [
        facts.close_date + timedelta(days=1),
        facts.close_date + timedelta(days=PAST_CLOSE_CRITICAL_DAYS),
    ]
    idle_since = local_date(
        facts.last_activity_at if facts.last_activity_at is not None else facts.created_at, tz
    )
    limit = facts.stage_no_activity_days or default_no_activity_days
    days += [
        idle_since + timedelta(days=limit),
        idle_since + timedelta(days=NO_ACTIVITY_CRITICAL_FACTOR * limit),
    ]
    if facts.next_step_date is not None:
        days += [
            facts.next_step_date + timedelta(days=1),
            facts.next_step_date + timedelta(days=NEXT_STEP_CRITICAL_DAYS),
        ]
    if facts.framework_name is not None:
        latest = facts.latest_qualification
        if latest is None:
            lapsed = local_date(facts.created_at, tz)
        elif latest.invalidated_at is not None:
            lapsed = local_date(latest.invalidated_at, tz)
        else:
            expires = qualification_expires_at(
                assessed_at=latest.assessed_at,
                validity_days=facts.stage_validity_days or default_validity_days,
            )
            moments.append(expires)
            lapsed = local_date(expires, tz)
        days.append(lapsed + timedelta(days=REQUALIFY_CRITICAL_DAYS))
    moments += [start_of_day(day, tz) for day in days]
    return min((m for m in moments if m > now), default=None)
