"""The attention-flag rules, pure: no database."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace as dataclass_replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pipeline import rules

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
TODAY = NOW.date()
DAYS = st.integers(min_value=0, max_value=400)
LIMIT = st.none() | st.integers(min_value=0, max_value=200)


def stuck(days: int, warn: int | None, rot: int | None, name: str = "Proposal"):
    return rules.stuck_in_stage_flag(
        stage_name=name,
        stage_entered_at=NOW - dt.timedelta(days=days),
        warn_days=warn,
        rot_days=rot,
        now=NOW,
        tz=BERLIN,
    )


def test_stuck_in_stage_wording():
    assert stuck(41, 14, 30) == rules.FlagDecision(
        "stuck_in_stage", "critical", "In Proposal since 16 Oct 2026; this stage's limit is 30 days"
    )
    assert stuck(20, 14, 30).explanation == (
        "In Proposal since 6 Nov 2026; this stage warns at 14 days and its limit is 30 days"
    )
    assert stuck(20, 14, None).explanation == (
        "In Proposal since 6 Nov 2026; this stage warns at 14 days"
    )
    assert stuck(1, 1, None).explanation == (
        "In Proposal since 25 Nov 2026; this stage warns at 1 day"
    )
    assert stuck(13, 14, 30) is None
    assert stuck(500, None, None) is None


@given(days=DAYS, warn=LIMIT, rot=LIMIT)
def test_stuck_in_stage_severity_follows_the_thresholds(days, warn, rot):
    decision = stuck(days, warn, rot)
    if rot is not None and days >= rot:
        assert decision is not None and decision.severity == "critical"
    elif warn is not None and days >= warn:
        assert decision is not None and decision.severity == "warning"
    else:
        assert decision is None


def test_days_are_calendar_days_in_the_organisation_timezone():
    # Entered at 23:50 Berlin time; ten minutes later (after midnight there) it is day 1,
    # although only 10 minutes have passed and UTC still shows the same date.
    entered = dt.datetime(2026, 3, 1, 23, 50, tzinfo=BERLIN)
    now = dt.datetime(2026, 3, 2, 0, 0, tzinfo=BERLIN)
    decision = rules.stuck_in_stage_flag(
        stage_name="Qualify",
        stage_entered_at=entered.astimezone(dt.UTC),
        warn_days=1,
        rot_days=None,
        now=now.astimezone(dt.UTC),
        tz=BERLIN,
    )
    assert decision is not None and decision.severity == "warning"
    assert decision.explanation == "In Qualify since 1 Mar 2026; this stage warns at 1 day"


def test_past_close_date_wording_and_severity():
    close = dt.date(2026, 11, 3)
    decision = rules.past_close_date_flag(close_date=close, now=NOW, tz=BERLIN)
    assert decision == rules.FlagDecision(
        "past_close_date", "critical", "Close date 3 Nov 2026 has passed"
    )
    yesterday = rules.past_close_date_flag(
        close_date=TODAY - dt.timedelta(days=1), now=NOW, tz=BERLIN
    )
    assert yesterday.severity == "warning"
    assert yesterday.explanation == "Close date 25 Nov 2026 has passed"
    assert rules.past_close_date_flag(close_date=TODAY, now=NOW, tz=BERLIN) is None


def test_past_means_before_today_in_the_organisation_timezone():
    # 23:30 UTC on 3 Nov is 00:30 on 4 Nov in Berlin.
    now = dt.datetime(2026, 11, 3, 23, 30, tzinfo=dt.UTC)
    close = dt.date(2026, 11, 3)
    assert rules.past_close_date_flag(close_date=close, now=now, tz=BERLIN) is not None
    assert rules.past_close_date_flag(close_date=close, now=now, tz=dt.UTC) is None


@given(offset=st.integers(min_value=-400, max_value=400))
def test_past_close_date_raised_exactly_when_the_date_is_before_today(offset):
    decision = rules.past_close_date_flag(
        close_date=TODAY + dt.timedelta(days=offset), now=NOW, tz=BERLIN
    )
    if offset >= 0:
        assert decision is None
    else:
        assert decision.severity == (
            "critical" if -offset >= rules.PAST_CLOSE_CRITICAL_DAYS else "warning"
        )


def idle(days: int | None, limit: int, created_days: int = 100):
    return rules.no_activity_flag(
        last_activity_at=None if days is None else NOW - dt.timedelta(days=days),
        created_at=NOW - dt.timedelta(days=created_days),
        limit_days=limit,
        now=NOW,
        tz=BERLIN,
    )


def test_no_activity_wording():
    assert idle(20, 14) == rules.FlagDecision(
        "no_activity",
        "warning",
        "No customer activity since 6 Nov 2026; this stage expects contact every 14 days",
    )
    assert idle(None, 14, created_days=30) == rules.FlagDecision(
        "no_activity",
        "critical",
        "No customer activity since the deal was created on 27 Oct 2026; "
        "this stage expects contact every 14 days",
    )
    assert idle(3, 1).explanation == (
        "No customer activity since 23 Nov 2026; this stage expects contact every day"
    )
    assert idle(13, 14) is None
    assert idle(None, 14, created_days=3) is None


@given(days=DAYS, limit=st.integers(min_value=1, max_value=100))
def test_no_activity_thresholds(days, limit):
    decision = idle(days, limit)
    if days < limit:
        assert decision is None
    else:
        assert decision.severity == ("critical" if days >= 2 * limit else "warning")


def test_next_step_overdue():
    due = TODAY - dt.timedelta(days=2)
    assert rules.next_step_overdue_flag(next_step_date=due, now=NOW, tz=BERLIN) == (
        rules.FlagDecision("next_step_overdue", "warning", "The next step was due 24 Nov 2026")
    )
    named = rules.next_step_overdue_flag(
        next_step="Send proposal", next_step_date=due, now=NOW, tz=BERLIN
    )
    assert named.explanation == "Next step \u201cSend proposal\u201d was due 24 Nov 2026"
    week = rules.next_step_overdue_flag(
        next_step_date=TODAY - dt.timedelta(days=7), now=NOW, tz=BERLIN
    )
    assert week.severity == "critical"
    assert rules.next_step_overdue_flag(next_step_date=TODAY, now=NOW, tz=BERLIN) is None
    assert rules.next_step_overdue_flag(next_step_date=None, now=NOW, tz=BERLIN) is None


def requalify(latest, *, framework="MEDDICC", validity=30, created_days=5):
    return rules.requalify_due_flag(
        framework_name=framework,
        latest=latest,
        validity_days=validity,
        created_at=NOW - dt.timedelta(days=created_days),
        now=NOW,
        tz=BERLIN,
    )


def test_requalify_due_cases():
    assert requalify(None) == rules.FlagDecision(
        "requalify_due", "warning", "Never qualified with MEDDICC"
    )
    assert requalify(None, created_days=0).severity == "warning"
    assert requalify(None, created_days=14).severity == "critical"
    assert requalify(None, framework=None) is None
    fresh = rules.QualificationFacts(assessed_at=NOW - dt.timedelta(days=29))
    assert requalify(fresh) is None
    expired = rules.QualificationFacts(assessed_at=NOW - dt.timedelta(days=33))
    assert requalify(expired) == rules.FlagDecision(
        "requalify_due",
        "warning",
        "The last qualification expired on 23 Nov 2026; re-qualify the deal",
    )
    voided = rules.QualificationFacts(
        assessed_at=NOW - dt.timedelta(days=1),
        invalidated_at=NOW - dt.timedelta(days=1),
        invalidated_reason="Close date pushed from Nov 2026 to Dec 2026.",
    )
    assert requalify(voided).explanation == (
        "The last qualification was voided on 25 Nov 2026: "
        "Close date pushed from Nov 2026 to Dec 2026."
    )
    silent = rules.QualificationFacts(
        assessed_at=NOW - dt.timedelta(days=20), invalidated_at=NOW - dt.timedelta(days=15)
    )
    assert requalify(silent) == rules.FlagDecision(
        "requalify_due",
        "critical",
        "The last qualification was voided on 11 Nov 2026; re-qualify the deal",
    )


@given(age_hours=st.integers(min_value=0, max_value=24 * 90), validity=st.integers(1, 60))
def test_requalify_due_exactly_when_the_qualification_is_not_valid(age_hours, validity):
    assessed = NOW - dt.timedelta(hours=age_hours)
    decision = requalify(rules.QualificationFacts(assessed_at=assessed), validity=validity)
    valid = rules.qualification_is_valid(
        assessed_at=assessed, invalidated_at=None, validity_days=validity, now=NOW
    )
    assert (decision is None) == valid


def test_explanations_are_cut_to_the_column_length():
    voided = rules.QualificationFacts(
        assessed_at=NOW, invalidated_at=NOW, invalidated_reason="x" * 400
    )
    assert len(requalify(voided).explanation) == rules.EXPLANATION_MAX


def test_closed_deals_get_no_flags():
    facts = rules.OpportunityFacts(
        status="won",
        stage_name="Closed won",
        stage_entered_at=NOW - dt.timedelta(days=400),
        created_at=NOW - dt.timedelta(days=500),
        close_date=TODAY - dt.timedelta(days=300),
        warn_days=1,
        rot_days=2,
        framework_name="MEDDICC",
    )
    assert (
        rules.attention_flags(
            facts, now=NOW, tz=BERLIN, default_no_activity_days=14, default_validity_days=30
        )
        == []
    )
    opened = rules.OpportunityFacts(**{**facts.__dict__, "status": "open"})
    kinds = {
        d.kind
        for d in rules.attention_flags(
            opened, now=NOW, tz=BERLIN, default_no_activity_days=14, default_validity_days=30
        )
    }
    assert kinds == {"stuck_in_stage", "past_close_date", "no_activity", "requalify_due"}


@given(d=st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_format_day(d):
    assert rules.format_day(d) == f"{d.day} {d:%b} {d.year}"


FACTS = rules.OpportunityFacts(
    status="open",
    stage_name="Proposal",
    stage_entered_at=NOW - dt.timedelta(days=20),
    created_at=NOW - dt.timedelta(days=60),
    close_date=TODAY - dt.timedelta(days=3),
    warn_days=14,
    rot_days=30,
    last_activity_at=NOW - dt.timedelta(days=20),
    next_step="Send proposal",
    next_step_date=TODAY - dt.timedelta(days=2),
    framework_name="MEDDICC",
    latest_qualification=rules.QualificationFacts(assessed_at=NOW - dt.timedelta(days=40)),
)


def flags_on(now: dt.datetime, facts: rules.OpportunityFacts = FACTS) -> dict[str, tuple]:
    return {
        d.kind: (d.severity, d.explanation)
        for d in rules.attention_flags(
            facts, now=now, tz=BERLIN, default_no_activity_days=14, default_validity_days=30
        )
    }


@given(days=st.integers(min_value=0, max_value=60))
def test_explanations_do_not_change_as_days_pass(days):
    """Only the severity moves with time; the words name dates, so a day passing does not
    rewrite an open flag (the hourly refresh then has nothing to update)."""
    today = flags_on(NOW)
    later = flags_on(NOW + dt.timedelta(days=days))
    for kind, (_severity, text) in later.items():
        if kind in today and today[kind][0] == later[kind][0]:
            assert text == today[kind][1]
    assert later["past_close_date"][1] == today["past_close_date"][1]
    assert later["next_step_overdue"][1] == today["next_step_overdue"][1]


# --- when the flags may next change (the refresh's schedule) ---------------------------

HOURS = st.integers(min_value=-24 * 5, max_value=24 * 90)


@st.composite
def open_deal_facts(draw) -> rules.OpportunityFacts:
    def ago(hours: int) -> dt.datetime:
        return NOW - dt.timedelta(hours=hours)

    qualified = draw(st.none() | st.tuples(HOURS, st.none() | HOURS))
    latest = (
        None
        if qualified is None
        else rules.QualificationFacts(
            assessed_at=ago(qualified[0]),
            invalidated_at=None if qualified[1] is None else ago(qualified[1]),
            invalidated_reason="",
        )
    )
    warn = draw(st.none() | st.integers(0, 40))
    rot = draw(st.none() | st.integers(0, 80))
    imported = draw(st.booleans())
    return rules.OpportunityFacts(
        status="open",
        stage_name="Proposal",
        stage_entered_at=ago(draw(HOURS)),
        created_at=ago(draw(HOURS)),
        close_date=TODAY + dt.timedelta(days=draw(st.integers(-40, 40))),
        warn_days=warn,
        rot_days=rot,
        stage_no_activity_days=draw(st.none() | st.integers(1, 30)),
        stage_validity_days=draw(st.none() | st.integers(1, 60)),
        last_activity_at=draw(st.none() | HOURS.map(ago)),
        next_step_date=draw(
            st.none() | st.integers(-15, 15).map(lambda d: TODAY + dt.timedelta(d))
        ),
        framework_name=draw(st.none() | st.just("MEDDICC")),
        latest_qualification=latest,
        imported=imported,
        import_gaps=tuple(draw(st.sets(st.sampled_from(["close_date", "account", "amount"])))),
        account_name="Unknown account",
        amount=Decimal("0.00"),
        currency="EUR",
        skipped_milestones=tuple(draw(st.lists(st.sampled_from(["Pain", "Budget"]), max_size=4))),
    )


def decide(facts: rules.OpportunityFacts, at: dt.datetime) -> list[rules.FlagDecision]:
    return rules.attention_flags(
        facts, now=at, tz=BERLIN, default_no_activity_days=14, default_validity_days=30
    )


def change_at(facts: rules.OpportunityFacts, now: dt.datetime = NOW) -> dt.datetime | None:
    return rules.flags_change_at(
        facts, now=now, tz=BERLIN, default_no_activity_days=14, default_validity_days=30
    )


@given(facts=open_deal_facts(), fraction=st.floats(0, 1))
def test_nothing_changes_before_the_scheduled_moment(facts, fraction):
    """The refresh skips a deal until flags_change_at: its flags must not change sooner."""
    until = change_at(facts)
    horizon = until if until is not None else NOW + dt.timedelta(days=400)
    assert horizon > NOW
    at = NOW + (horizon - NOW) * fraction
    if at >= horizon:
        at = horizon - dt.timedelta(microseconds=1)
    assert decide(facts, at) == decide(facts, NOW)
    assert decide(facts, horizon - dt.timedelta(microseconds=1)) == decide(facts, NOW)


def test_the_scheduled_moment_is_the_next_threshold():
    facts = rules.OpportunityFacts(
        status="open",
        stage_name="Proposal",
        stage_entered_at=NOW - dt.timedelta(days=10),  # warns at 14: 30 Nov
        created_at=NOW - dt.timedelta(days=20),
        close_date=TODAY + dt.timedelta(days=30),
        warn_days=14,
        rot_days=30,
        last_activity_at=NOW - dt.timedelta(hours=1),
    )
    moment = change_at(facts)
    assert moment == dt.datetime(2026, 11, 30, 0, 0, tzinfo=BERLIN)
    assert [d.kind for d in decide(facts, moment)] == ["stuck_in_stage"]
    assert decide(facts, moment - dt.timedelta(microseconds=1)) == []
    # A qualification expiring mid-day is its own moment, not the next midnight.
    qualified = dataclass_replace(
        facts,
        framework_name="MEDDICC",
        latest_qualification=rules.QualificationFacts(
            assessed_at=NOW - dt.timedelta(days=30) + dt.timedelta(hours=3)
        ),
    )
    assert change_at(qualified) == NOW + dt.timedelta(hours=3)
    closed = dataclass_replace(facts, status="won")
    assert change_at(closed) is None


# --- import_incomplete --------------------------------------------------------------------


def incomplete(*, gaps=(), skipped=(), imported=True, **facts):
    values = {
        "close_date": dt.date(2026, 12, 31),
        "account_name": "Unknown account",
        "amount": Decimal("0.00"),
        "currency": "EUR",
        "stage_name": "Proposal",
        **facts,
    }
    return rules.import_incomplete_flag(
        imported=imported, gaps=gaps, skipped_milestones=skipped, **values
    )


def test_import_incomplete_names_what_the_import_filled():
    assert incomplete(gaps=["account", "close_date"]) == rules.FlagDecision(
        "import_incomplete",
        "warning",
        "The import set the close date to 31 Dec 2026 (end of quarter) and the account to "
        "Unknown account: set the real ones.",
    )
    # Always close date, account, amount, whatever order the import stored them in.
    assert incomplete(gaps=["amount", "account", "close_date"]).explanation == (
        "The import set the close date to 31 Dec 2026 (end of quarter), the account to "
        "Unknown account and the amount to EUR 0.00: set the real ones."
    )
    assert incomplete(gaps=["amount"], amount=Decimal("0"), currency="USD").explanation == (
        "The import set the amount to USD 0.00: set the real one."
    )
    assert incomplete(gaps=["close_date"], close_date=dt.date(2027, 3, 1)).explanation == (
        "The import set the close date to 1 Mar 2027 (end of quarter): set the real one."
    )


def test_import_incomplete_names_the_milestones_skipped_past_the_gate():
    assert incomplete(skipped=["Pain identified"]) == rules.FlagDecision(
        "import_incomplete",
        "warning",
        "Imported into Proposal past the gate: 1 milestone of an earlier stage is not "
        "recorded (Pain identified)",
    )
    assert incomplete(skipped=["A", "B", "C"]).explanation == (
        "Imported into Proposal past the gate: 3 milestones of earlier stages are not "
        "recorded (A, B, C)"
    )
    assert incomplete(skipped=["A", "B", "C", "D", "E"], stage_name="Negotiate").explanation == (
        "Imported into Negotiate past the gate: 5 milestones of earlier stages are not "
        "recorded (A, B, C and 2 more)"
    )
    both = incomplete(gaps=["close_date"], skipped=["A", "B"])
    assert both.explanation == (
        "The import set the close date to 31 Dec 2026 (end of quarter): set the real one. "
        "Imported into Proposal past the gate: 2 milestones of earlier stages are not "
        "recorded (A, B)"
    )


def test_import_incomplete_only_on_an_imported_deal_with_something_to_complete():
    assert incomplete() is None
    assert incomplete(gaps=["close_date"], skipped=["A"], imported=False) is None
    assert incomplete(gaps=["something_else"]) is None  # not a field the import fills
    long = incomplete(skipped=["x" * 200, "y" * 200])
    assert len(long.explanation) == rules.EXPLANATION_MAX


def test_import_incomplete_is_one_of_the_attention_flags_of_an_open_deal():
    facts = dataclass_replace(
        FACTS, imported=True, import_gaps=("account",), account_name="Unknown account"
    )
    assert flags_on(NOW, facts)["import_incomplete"] == (
        "warning",
        "The import set the account to Unknown account: set the real one.",
    )
    assert "import_incomplete" not in flags_on(NOW)  # not imported
    closed = dataclass_replace(facts, status="lost")
    assert (
        rules.attention_flags(
            closed, now=NOW, tz=BERLIN, default_no_activity_days=14, default_validity_days=30
        )
        == []
    )


STAGES = [
    rules.StageSpec(1, 1, "Discover"),
    rules.StageSpec(2, 2, "Qualify"),
    rules.StageSpec(3, 3, "Proposal"),
    rules.StageSpec(4, 4, "Won", is_won=True),
    rules.StageSpec(5, 0, "Lost", is_lost=True),  # a lost stage may sort first
]
MILESTONES = [
    rules.MilestoneSpec(10, 1, "Pain", "seller_action"),
    rules.MilestoneSpec(11, 1, "Optional", "seller_action", required=False),
    rules.MilestoneSpec(12, 1, "Issue mapped", "seller_action", auto_check="business_issue_mapped"),
    rules.MilestoneSpec(20, 2, "Decision process", "buyer_commitment"),
    rules.MilestoneSpec(30, 3, "Proposal sent", "seller_action"),
    rules.MilestoneSpec(50, 5, "Loss documented", "seller_action"),
]


def test_gate_skipped_milestones_are_the_ones_the_gate_asks_a_person_for():
    def skipped(stage_id: int, completed: set[int] = frozenset()) -> list[str]:
        current = next(s for s in STAGES if s.id == stage_id)
        return [
            m.title
            for m in rules.gate_skipped_milestones(
                stages=STAGES, milestones=MILESTONES, current=current, completed_ids=set(completed)
            )
        ]

    assert skipped(1) == []  # the first stage: no gate was skipped
    assert skipped(2) == ["Pain"]  # not the optional one, nor the automatic one
    assert skipped(3) == ["Pain", "Decision process"]
    assert skipped(3, {10}) == ["Decision process"]
    assert skipped(3, {10, 20}) == []


@given(stage=st.sampled_from([1, 2, 3]), completed=st.sets(st.sampled_from([10, 11, 12, 20, 30])))
def test_gate_skipped_milestones_are_the_gate_from_the_first_stage(stage, completed):
    """The same milestones the gate would list for a move from the first stage to the
    deal's, less the automatic ones (the gate checks those itself at the next move)."""
    current = next(s for s in STAGES if s.id == stage)
    gate = rules.missing_milestones(
        stages=STAGES, milestones=MILESTONES, current=STAGES[0], target=current, met_ids=completed
    )
    assert rules.gate_skipped_milestones(
        stages=STAGES, milestones=MILESTONES, current=current, completed_ids=completed
    ) == [m for m in gate if not m.auto_check]
