"""flags_refresh: the set-based SQL refresh of attention flags, asserted on the database."""

from __future__ import annotations

import datetime as dt
import io
import threading
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipeline import rules, services
from pipeline.flags import REFRESH_LOCK_KEY, FlagRefreshResult, flags_refresh
from pipeline.models import (
    MilestoneCompletion,
    Opportunity,
    OpportunityFlag,
    Qualification,
    QualificationElement,
    QualificationFramework,
)
from salesops.models import Notification
from tests.factories import MilestoneFactory, OpportunityFactory, StageFactory

TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
NOTHING = FlagRefreshResult(raised=0, cleared=0, updated=0, notified=0)


def days_ago(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


def day(n: int) -> str:
    """The local date `n` days ago as the explanations write it (3 Nov 2026)."""
    return rules.format_day(timezone.localdate() - dt.timedelta(days=n))


def open_flags(opp=None) -> dict[str, tuple[str, str]]:
    qs = OpportunityFlag.objects.filter(cleared_at__isnull=True)
    if opp is not None:
        qs = qs.filter(opportunity=opp)
    return {f.kind: (f.severity, f.explanation) for f in qs}


def db_state() -> tuple[list, list]:
    flags = list(
        OpportunityFlag.objects.order_by("id").values_list(
            "id", "opportunity_id", "kind", "severity", "explanation", "raised_at", "cleared_at"
        )
    )
    notes = list(
        Notification.objects.order_by("id").values_list(
            "id", "recipient_id", "dedupe_key", "title", "body", "link"
        )
    )
    return flags, notes


@pytest.fixture
def framework(db):
    fw = QualificationFramework.objects.create(name="TestFW")
    QualificationElement.objects.create(framework=fw, name="Pain", weight=1, order=1)
    return fw


@pytest.fixture
def healthy(rep, pipeline):
    """An open deal in Proposal with nothing to flag (no framework on the pipeline)."""
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        name="Acme rollout",
        stage_entered_at=days_ago(2),
        last_activity_at=days_ago(1),
        next_step_date=timezone.localdate() + dt.timedelta(days=3),
    )
    return opp


def set_fields(opp: Opportunity, **fields) -> None:
    Opportunity.objects.filter(pk=opp.pk).update(**fields)
    opp.refresh_from_db()


# --- raising -------------------------------------------------------------------------


def test_healthy_deal_gets_no_flag(healthy):
    assert flags_refresh() == NOTHING
    assert OpportunityFlag.objects.count() == 0
    assert Notification.objects.count() == 0


def test_stuck_in_stage_raised_with_explanation_and_notification(healthy, rep):
    set_fields(healthy, stage_entered_at=days_ago(41))
    result = flags_refresh()
    assert result == FlagRefreshResult(raised=1, cleared=0, updated=0, notified=1)
    flag = OpportunityFlag.objects.get()
    assert (flag.opportunity_id, flag.kind, flag.severity) == (
        healthy.pk,
        "stuck_in_stage",
        "critical",
    )
    assert flag.explanation == f"In Proposal since {day(41)}; this stage's limit is 30 days"
    assert flag.cleared_at is None
    note = Notification.objects.get()
    assert note.recipient == rep
    assert note.dedupe_key == f"flags:{rep.pk}:{flag.pk}"
    assert note.title == "Stuck in stage: Acme rollout"
    assert note.body == flag.explanation
    assert note.link == f"/opportunities/{healthy.pk}/"
    assert note.read_at is None and note.emailed_at is None


def test_every_kind_is_raised(healthy, pipeline, framework):
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    today = timezone.localdate()
    set_fields(
        healthy,
        stage_entered_at=days_ago(20),
        close_date=today - dt.timedelta(days=23),
        last_activity_at=days_ago(30),
        next_step_date=today - dt.timedelta(days=2),
        created_at=days_ago(60),
    )
    result = flags_refresh()
    # Five flags, one notification: the owner hears of them together.
    assert result == FlagRefreshResult(raised=5, cleared=0, updated=0, notified=1)
    assert open_flags(healthy) == {
        "stuck_in_stage": (
            "warning",
            f"In Proposal since {day(20)}; this stage warns at 14 days and its limit is 30 days",
        ),
        "past_close_date": ("critical", f"Close date {day(23)} has passed"),
        "no_activity": (
            "critical",
            f"No customer activity since {day(30)}; this stage expects contact every 14 days",
        ),
        "next_step_overdue": (
            "warning",
            f"Next step \u201c{healthy.next_step}\u201d was due {day(2)}"
            if healthy.next_step
            else f"The next step was due {day(2)}",
        ),
        "requalify_due": ("critical", "Never qualified with TestFW"),
    }
    note = Notification.objects.get()
    assert note.recipient == healthy.owner
    first = OpportunityFlag.objects.earliest("id")
    assert note.dedupe_key == f"flags:{healthy.owner_id}:{first.pk}"
    assert note.title == "5 new attention flags on your deals"
    # Count per kind, largest first, then by label.
    assert note.body == (
        "Close date passed: 1 · Next step overdue: 1 · No customer activity: 1"
        " · Re-qualification due: 1 · Stuck in stage: 1"
    )
    assert note.link == "/attention/?sort=age"


def test_no_activity_counts_from_creation_and_uses_the_stage_limit(healthy, pipeline):
    pipeline.proposal.no_activity_days = 5
    pipeline.proposal.save(update_fields=["no_activity_days"])
    set_fields(healthy, last_activity_at=None, created_at=days_ago(6))
    flags_refresh()
    assert open_flags(healthy) == {
        "no_activity": (
            "warning",
            f"No customer activity since the deal was created on {day(6)}; "
            "this stage expects contact every 5 days",
        )
    }


def test_only_open_deals_get_flags(rep, pipeline):
    won = OpportunityFactory(
        owner=rep,
        stage=pipeline.won,
        status="won",
        closed_at=timezone.now(),
        stage_entered_at=days_ago(400),
        close_date=timezone.localdate() - dt.timedelta(days=300),
    )
    assert flags_refresh() == NOTHING
    assert not OpportunityFlag.objects.filter(opportunity=won).exists()


# --- updating and clearing ------------------------------------------------------------


def test_severity_goes_from_warning_to_critical_on_the_same_flag(healthy):
    set_fields(healthy, stage_entered_at=days_ago(20))
    flags_refresh()
    flag = OpportunityFlag.objects.get()
    assert flag.severity == "warning"
    set_fields(healthy, stage_entered_at=days_ago(31))
    assert flags_refresh() == FlagRefreshResult(raised=0, cleared=0, updated=1, notified=0)
    flag.refresh_from_db()
    assert (flag.severity, flag.explanation, flag.cleared_at) == (
        "critical",
        f"In Proposal since {day(31)}; this stage's limit is 30 days",
        None,
    )
    assert OpportunityFlag.objects.count() == 1
    assert Notification.objects.count() == 1  # an update is not news


def test_logging_activity_clears_no_activity_silently(healthy, rep):
    set_fields(healthy, last_activity_at=days_ago(20))
    flags_refresh()
    assert set(open_flags(healthy)) == {"no_activity"}
    services.activity_log(opportunity_id=healthy.pk, actor=rep, kind="call", subject="Call")
    # Cleared by the service itself (targeted refresh), not at the next run.
    assert flags_refresh() == NOTHING
    flag = OpportunityFlag.objects.get()
    assert flag.cleared_at is not None
    assert open_flags() == {}
    assert Notification.objects.count() == 1  # the raise only


def test_a_note_is_not_customer_activity(healthy, rep):
    set_fields(healthy, last_activity_at=days_ago(20))
    services.activity_log(opportunity_id=healthy.pk, actor=rep, kind="note", subject="Memo")
    flags_refresh()
    assert set(open_flags(healthy)) == {"no_activity"}


def test_moving_the_close_date_clears_past_close_date(healthy, rep):
    set_fields(healthy, close_date=timezone.localdate() - dt.timedelta(days=1))
    flags_refresh()
    assert open_flags(healthy)["past_close_date"][0] == "warning"
    services.opportunity_update(
        opportunity_id=healthy.pk,
        actor=rep,
        close_date=timezone.localdate() + dt.timedelta(days=10),
    )
    assert open_flags() == {}  # at once, in the service's transaction
    assert flags_refresh() == NOTHING


def test_qualifying_clears_requalify_due(healthy, rep, pipeline, framework):
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    flags_refresh()
    assert set(open_flags(healthy)) == {"requalify_due"}
    element = framework.elements.get()
    services.qualification_create(
        opportunity_id=healthy.pk, actor=rep, scores=[{"element": element.pk, "score": 1}]
    )
    # Cleared at once, in the service's transaction: the database says so without a run.
    flag = OpportunityFlag.objects.get()
    assert flag.kind == "requalify_due" and flag.cleared_at is not None
    assert open_flags() == {}
    assert flags_refresh() == NOTHING
    assert Notification.objects.count() == 1


def test_expired_and_voided_qualifications_are_due(healthy, rep, pipeline, framework):
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    pipeline.proposal.qualification_validity_days = 10
    pipeline.proposal.save(update_fields=["qualification_validity_days"])
    q = Qualification.objects.create(
        opportunity=healthy,
        framework=framework,
        score_pct=50,
        assessed_by=rep,
        assessed_at=days_ago(13),
    )
    flags_refresh()
    assert open_flags(healthy) == {
        "requalify_due": (
            "warning",
            f"The last qualification expired on {day(3)}; re-qualify the deal",
        )
    }
    Qualification.objects.filter(pk=q.pk).update(
        assessed_at=days_ago(1), invalidated_at=days_ago(0), invalidated_reason="x" * 300
    )
    assert flags_refresh() == FlagRefreshResult(raised=0, cleared=0, updated=1, notified=0)
    _severity, text = open_flags(healthy)["requalify_due"]
    assert text == (f"The last qualification was voided on {day(0)}: " + "x" * 300)[:300]
    assert len(text) == 300


def test_closing_the_deal_clears_all_its_flags(healthy, rep):
    set_fields(
        healthy,
        stage_entered_at=days_ago(50),
        close_date=timezone.localdate() - dt.timedelta(days=3),
    )
    flags_refresh()
    assert len(open_flags(healthy)) == 2
    services.opportunity_close_lost(
        opportunity_id=healthy.pk, actor=rep, loss_reason="No budget this year."
    )
    assert open_flags() == {}  # at once
    assert OpportunityFlag.objects.filter(cleared_at__isnull=False).count() == 2
    assert flags_refresh() == NOTHING
    assert Notification.objects.count() == 1  # the two raises, together; clearing is silent


def test_a_reraise_after_clearing_is_a_new_flag_and_notifies_again(healthy, rep):
    set_fields(healthy, last_activity_at=days_ago(20))
    flags_refresh()
    first = OpportunityFlag.objects.get()
    set_fields(healthy, last_activity_at=days_ago(0))
    flags_refresh()
    set_fields(healthy, last_activity_at=days_ago(15))
    assert flags_refresh() == FlagRefreshResult(raised=1, cleared=0, updated=0, notified=1)
    second = OpportunityFlag.objects.get(cleared_at__isnull=True)
    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.cleared_at is not None
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == sorted(
        [f"flags:{rep.pk}:{first.pk}", f"flags:{rep.pk}:{second.pk}"]
    )


# --- idempotence, query count ---------------------------------------------------------


def test_rerun_changes_nothing(healthy, rep, pipeline):
    for i in range(5):
        OpportunityFactory(
            owner=rep,
            stage=pipeline.qualify,
            stage_entered_at=days_ago(10 * i),
            close_date=timezone.localdate() - dt.timedelta(days=i),
        )
    first = flags_refresh()
    assert first.raised > 0 and first.notified == 1  # one owner
    before = db_state()
    assert flags_refresh() == NOTHING
    assert db_state() == before


@pytest.mark.parametrize("deals", [1, 40])
def test_query_count_does_not_grow_with_rows(rep, pipeline, deals):
    for i in range(deals):
        OpportunityFactory(owner=rep, stage=pipeline.qualify, stage_entered_at=days_ago(20 + i))
    with CaptureQueriesContext(connection) as ctx:
        result = flags_refresh()
    assert result.raised > 0
    # The advisory lock and the one refresh statement (the savepoint pair is the test's
    # transaction; outside a test atomic() opens a plain transaction). The first run of a
    # database is a full one (no fingerprint yet): + mending missing schedule rows.
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert result.full and len(statements) == 3
    OpportunityFactory(owner=rep, stage=pipeline.qualify, stage_entered_at=days_ago(20))
    with CaptureQueriesContext(connection) as ctx:
        result = flags_refresh()
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert (result.raised, result.checked, result.full, len(statements)) == (1, 1, False, 2)


def test_command_prints_the_counts(healthy):
    set_fields(healthy, stage_entered_at=days_ago(41))
    out = io.StringIO()
    call_command("refresh_flags", stdout=out)
    assert out.getvalue().startswith("raised 1, cleared 0, updated 0, notified 1 in ")
    assert out.getvalue().rstrip().endswith(" deals checked, all)")  # a first run: full
    out = io.StringIO()
    call_command("refresh_flags", stdout=out)
    assert out.getvalue().startswith("raised 0, cleared 0, updated 0, notified 0 in ")
    assert out.getvalue().rstrip().endswith(" s (0 deals checked)")
    out = io.StringIO()
    call_command("refresh_flags", "--full", stdout=out)
    assert out.getvalue().startswith("raised 0, cleared 0, updated 0, notified 0 in ")
    assert out.getvalue().rstrip().endswith(" deals checked, all)")


# --- targeted refresh (the services' immediate feedback) -------------------------------


def test_targeted_refresh_touches_only_the_given_deals(healthy, rep, pipeline):
    other = OpportunityFactory(owner=rep, stage=pipeline.proposal, stage_entered_at=days_ago(41))
    set_fields(healthy, stage_entered_at=days_ago(41))
    result = flags_refresh(opportunity_ids=[healthy.pk])
    assert result == FlagRefreshResult(raised=1, cleared=0, updated=0, notified=1)
    assert set(open_flags(healthy)) == {"stuck_in_stage"}
    assert open_flags(other) == {}
    assert flags_refresh(opportunity_ids=[healthy.pk]) == NOTHING
    assert flags_refresh(opportunity_ids=[]) == NOTHING
    # The global run agrees and only adds the other deal's flag.
    assert flags_refresh() == FlagRefreshResult(raised=1, cleared=0, updated=0, notified=1)


def test_a_flag_raised_by_a_service_notifies_once(healthy, rep):
    services.opportunity_update(
        opportunity_id=healthy.pk,
        actor=rep,
        next_step="Send proposal",
        next_step_date=timezone.localdate() - dt.timedelta(days=1),
    )
    flag = OpportunityFlag.objects.get(cleared_at__isnull=True)
    assert (flag.kind, flag.severity, flag.explanation) == (
        "next_step_overdue",
        "warning",
        f"Next step \u201cSend proposal\u201d was due {day(1)}",
    )
    note = Notification.objects.get()
    assert (note.dedupe_key, note.recipient) == (f"flags:{rep.pk}:{flag.pk}", rep)
    assert note.body == flag.explanation
    assert flags_refresh() == NOTHING
    assert flags_refresh(opportunity_ids=[healthy.pk]) == NOTHING
    assert Notification.objects.count() == 1


def test_advancing_refreshes_the_stage_flags_at_once(healthy, rep, pipeline):
    set_fields(healthy, stage_entered_at=days_ago(50))
    flags_refresh()
    assert open_flags(healthy)["stuck_in_stage"][0] == "critical"
    services.opportunity_advance(
        opportunity_id=healthy.pk,
        stage_id=pipeline.qualify.pk,
        actor=rep,
    )
    assert open_flags(healthy) == {}


def test_targeted_refresh_is_two_statements_without_the_lock(healthy, rep):
    set_fields(healthy, stage_entered_at=days_ago(41))
    with CaptureQueriesContext(connection) as ctx:
        flags_refresh(opportunity_ids=[healthy.pk])
    statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2  # claim the schedule row, then decide
    assert not any("pg_advisory" in sql for sql in statements)


def test_targeted_refresh_does_not_wait_for_a_global_run(transactional_db, healthy):
    """A user's change never queues behind the hourly run's advisory lock."""
    set_fields(healthy, stage_entered_at=days_ago(41))
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK_KEY])
            done: list[FlagRefreshResult] = []
            t = threading.Thread(
                target=lambda: (
                    done.append(flags_refresh(opportunity_ids=[healthy.pk])),
                    connections.close_all(),
                )
            )
            t.start()
            t.join(10)
            assert done == [FlagRefreshResult(raised=1, cleared=0, updated=0, notified=1)]
            cur.execute("ROLLBACK")
    finally:
        holder.close()


def test_targeted_and_global_raising_the_same_flag_at_once(transactional_db, healthy):
    """A targeted run that races an uncommitted global run for the same deal waits for the
    deal's schedule row, then sees the global run's flag: it inserts nothing and notifies
    nobody — one flag, one notification."""
    set_fields(healthy, stage_entered_at=days_ago(41))
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, FlagRefreshResult] = {}

    def global_run() -> None:
        with transaction.atomic():
            outcome["global"] = flags_refresh()
            started.set()
            release.wait(30)
        connections.close_all()

    def targeted_run() -> None:
        outcome["targeted"] = flags_refresh(opportunity_ids=[healthy.pk])
        connections.close_all()

    t1 = threading.Thread(target=global_run)
    t1.start()
    assert started.wait(30)
    t2 = threading.Thread(target=targeted_run)
    t2.start()
    t2.join(1.0)
    assert t2.is_alive()  # waiting for the global run's uncommitted flag
    release.set()
    t1.join(30)
    t2.join(30)
    assert outcome["global"].raised == 1
    assert outcome["targeted"] == NOTHING
    assert OpportunityFlag.objects.count() == 1 == Notification.objects.count()


# --- concurrency ----------------------------------------------------------------------


def test_two_refreshes_at_once_leave_the_same_flags(transactional_db, rep, pipeline):
    for i in range(30):
        OpportunityFactory(
            owner=rep,
            stage=pipeline.qualify,
            stage_entered_at=days_ago(i),
            last_activity_at=days_ago(i % 20),
            close_date=timezone.localdate() + dt.timedelta(days=15 - i),
        )
    barrier = threading.Barrier(2)
    results: list[FlagRefreshResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(flags_refresh())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(results) == 2
    # One run did the work, the other waited for the lock and found nothing to do.
    assert NOTHING in results
    work = next(r for r in results if r != NOTHING)
    flags, notes = db_state()
    assert work.raised == len(flags) > 0
    assert work.notified == len(notes) == 1  # one owner
    assert notes[0][2] == f"flags:{rep.pk}:{flags[0][0]}"
    # The same flags as a single run from scratch gives.
    expected = {(f[1], f[2], f[3], f[4]) for f in flags}
    with transaction.atomic():
        OpportunityFlag.objects.all().delete()
        Notification.objects.all().delete()
        flags_refresh(full=True)
        again = {(f[1], f[2], f[3], f[4]) for f in db_state()[0]}
        transaction.set_rollback(True)
    assert again == expected


def test_refresh_waits_for_a_running_one(transactional_db, healthy):
    """While one refresh holds the lock (uncommitted), another blocks rather than racing."""
    set_fields(healthy, stage_entered_at=days_ago(41))
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, FlagRefreshResult] = {}

    def holder() -> None:
        with transaction.atomic():
            outcome["first"] = flags_refresh()
            started.set()
            release.wait(30)
        connections.close_all()

    def second() -> None:
        outcome["second"] = flags_refresh()
        connections.close_all()

    t1 = threading.Thread(target=holder)
    t1.start()
    assert started.wait(30)
    t2 = threading.Thread(target=second)
    t2.start()
    t2.join(1.0)
    assert t2.is_alive()  # blocked on the advisory lock
    release.set()
    t1.join(30)
    t2.join(30)
    assert outcome["first"].raised == 1
    assert outcome["second"] == NOTHING
    assert OpportunityFlag.objects.count() == 1 == Notification.objects.count()


# --- the SQL says what the pure rules say ---------------------------------------------

LOCAL_NOW = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)
).map(lambda d: d.replace(tzinfo=TZ))
HOURS = st.integers(min_value=-24 * 5, max_value=24 * 80)


@st.composite
def deal_specs(draw):
    return {
        "status": draw(st.sampled_from(["open", "open", "open", "lost"])),
        "stage": draw(st.integers(0, 2)),
        "entered_h": draw(HOURS),
        "created_h": draw(HOURS),
        "activity_h": draw(st.none() | HOURS),
        "close_d": draw(st.integers(-40, 40)),
        "step_d": draw(st.none() | st.integers(-15, 15)),
        "step": draw(st.sampled_from(["", "Send proposal"])),
        "qual": draw(
            st.none()
            | st.tuples(HOURS, st.none() | st.integers(0, 24 * 30), st.sampled_from(["", "why"]))
        ),
        # An imported deal: the fields the import filled and the milestones ticked since
        # (indexes into the test pipeline's milestones, automatic and optional ones too).
        "imported": draw(st.booleans()),
        "gaps": draw(st.lists(st.sampled_from(["close_date", "account", "amount"]), unique=True)),
        "done": draw(st.sets(st.integers(0, 7))),
        "amount": draw(st.sampled_from([Decimal("0.00"), Decimal("1234.50")])),
    }


# The property test's milestones: (stage index, title, order, required, auto_check). Created
# in this order, so ids and orders disagree within a stage (the titles follow the order).
PROPERTY_MILESTONES = [
    (0, "Budget", 2, True, ""),
    (0, "Pain", 1, True, ""),
    (0, "Nice to have", 3, False, ""),
    (0, "Issue mapped", 4, True, "business_issue_mapped"),
    (1, "Decision process", 1, True, ""),
    (1, "Champion", 2, True, ""),
    (1, "Criteria", 2, True, ""),
    (2, "Proposal sent", 1, True, ""),
]


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(now=LOCAL_NOW, specs=st.lists(deal_specs(), min_size=1, max_size=12))
def test_sql_matches_the_pure_rules(rep, framework, now, specs):
    with transaction.atomic():
        from tests.factories import PipelineFactory

        pipeline = PipelineFactory(framework=framework)
        stages = [
            StageFactory(
                pipeline=pipeline, name="Discover", order=1, warn_days=None, rot_days=None
            ),
            StageFactory(
                pipeline=pipeline,
                name="Qualify",
                order=2,
                warn_days=3,
                rot_days=9,
                no_activity_days=4,
                qualification_validity_days=7,
            ),
            StageFactory(pipeline=pipeline, name="Proposal", order=3, warn_days=5, rot_days=None),
        ]
        lost_stage = StageFactory(pipeline=pipeline, name="Lost", order=9, is_lost=True)
        milestones = [
            MilestoneFactory(
                stage=stages[i], title=title, order=order, required=required, auto_check=auto
            )
            for i, title, order, required, auto in PROPERTY_MILESTONES
        ]
        stage_specs = [
            rules.StageSpec(s.pk, s.order, s.name, s.is_won, s.is_lost)
            for s in [*stages, lost_stage]
        ]
        stage_order = {s.pk: s.order for s in stages}
        milestone_specs = [
            rules.MilestoneSpec(m.pk, m.stage_id, m.title, m.kind, m.required, m.auto_check)
            for m in sorted(milestones, key=lambda m: (stage_order[m.stage_id], m.order, m.pk))
        ]
        now_utc = now.astimezone(dt.UTC)
        facts_by_id = {}
        for spec in specs:
            is_open = spec["status"] == "open"
            stage = stages[spec["stage"]] if is_open else lost_stage
            created = now_utc - dt.timedelta(hours=spec["created_h"])
            opp = OpportunityFactory(
                owner=rep,
                amount=spec["amount"],
                stage=stage,
                status=spec["status"],
                loss_reason="" if is_open else "Lost.",
                closed_at=None if is_open else now_utc,
                stage_entered_at=now_utc - dt.timedelta(hours=spec["entered_h"]),
                last_activity_at=None
                if spec["activity_h"] is None
                else now_utc - dt.timedelta(hours=spec["activity_h"]),
                close_date=now.date() + dt.timedelta(days=spec["close_d"]),
                next_step=spec["step"],
                next_step_date=None
                if spec["step_d"] is None
                else now.date() + dt.timedelta(days=spec["step_d"]),
            )
            set_fields(opp, created_at=created)
            if spec["imported"]:
                set_fields(opp, imported_at=created, import_gaps=spec["gaps"])
            done = {milestones[i].pk for i in spec["done"]}
            MilestoneCompletion.objects.bulk_create(
                MilestoneCompletion(
                    opportunity=opp, milestone_id=pk, completed_by=rep, completed_at=now_utc
                )
                for pk in done
            )
            latest = None
            if spec["qual"] is not None:
                assessed_h, voided_h, reason = spec["qual"]
                q = Qualification.objects.create(
                    opportunity=opp,
                    framework=framework,
                    score_pct=50,
                    assessed_by=rep,
                    assessed_at=now_utc - dt.timedelta(hours=assessed_h),
                    invalidated_at=None
                    if voided_h is None
                    else now_utc - dt.timedelta(hours=voided_h),
                    invalidated_reason=reason if voided_h is not None else "",
                )
                latest = rules.QualificationFacts(
                    assessed_at=q.assessed_at,
                    invalidated_at=q.invalidated_at,
                    invalidated_reason=q.invalidated_reason,
                )
            facts_by_id[opp.pk] = rules.OpportunityFacts(
                status=opp.status,
                stage_name=stage.name,
                stage_entered_at=opp.stage_entered_at,
                created_at=created,
                close_date=opp.close_date,
                warn_days=stage.warn_days,
                rot_days=stage.rot_days,
                stage_no_activity_days=stage.no_activity_days,
                stage_validity_days=stage.qualification_validity_days,
                last_activity_at=opp.last_activity_at,
                next_step=opp.next_step,
                next_step_date=opp.next_step_date,
                framework_name=framework.name,
                latest_qualification=latest,
                imported=opp.imported_at is not None,
                import_gaps=tuple(opp.import_gaps),
                account_name=opp.account.name,
                amount=opp.amount,
                currency=opp.currency,
                skipped_milestones=tuple(
                    m.title
                    for m in rules.gate_skipped_milestones(
                        stages=stage_specs,
                        milestones=milestone_specs,
                        current=next(s for s in stage_specs if s.id == stage.pk),
                        completed_ids=done,
                    )
                ),
            )
        flags_refresh(now=now_utc)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT opportunity_id, due_at FROM pipeline_flagschedule"
                " WHERE opportunity_id = ANY(%s)",
                [list(facts_by_id)],
            )
            due = dict(cur.fetchall())
        got = {
            (f.opportunity_id, f.kind, f.severity, f.explanation)
            for f in OpportunityFlag.objects.filter(
                cleared_at__isnull=True, opportunity_id__in=facts_by_id
            )
        }
        expected = {
            (pk, d.kind, d.severity, d.explanation)
            for pk, facts in facts_by_id.items()
            for d in rules.attention_flags(
                facts,
                now=now_utc,
                tz=TZ,
                default_no_activity_days=settings.NO_ACTIVITY_DAYS,
                default_validity_days=settings.QUALIFICATION_VALIDITY_DAYS,
            )
        }
        expected_due = {
            pk: rules.flags_change_at(
                facts,
                now=now_utc,
                tz=TZ,
                default_no_activity_days=settings.NO_ACTIVITY_DAYS,
                default_validity_days=settings.QUALIFICATION_VALIDITY_DAYS,
            )
            for pk, facts in facts_by_id.items()
        }
        transaction.set_rollback(True)
    assert got == expected
    assert due == expected_due


def test_sql_uses_the_organisation_timezone_for_today(healthy):
    # 23:30 UTC on 3 Nov is already 4 Nov in Berlin: a 3 Nov close date has passed.
    assert settings.TIME_ZONE == "Europe/Berlin"
    set_fields(healthy, close_date=dt.date(2026, 11, 3))
    now = dt.datetime(2026, 11, 3, 23, 30, tzinfo=dt.UTC)
    set_fields(
        healthy,
        stage_entered_at=now - dt.timedelta(days=1),
        last_activity_at=now,
        next_step_date=None,
    )
    flags_refresh(now=now)
    assert open_flags(healthy) == {
        "past_close_date": ("warning", "Close date 3 Nov 2026 has passed")
    }
    assert connection.connection is not None


# --- the schedule: only the deals due for a look --------------------------------------


def schedule(opp) -> tuple:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT due_at = '-infinity', due_at, version FROM pipeline_flagschedule"
            " WHERE opportunity_id = %s",
            [opp.pk],
        )
        return cur.fetchone()


def test_every_new_deal_is_due_at_once_and_a_closed_one_never(rep, pipeline):
    open_deal = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    won = OpportunityFactory(owner=rep, stage=pipeline.won, status="won", closed_at=timezone.now())
    assert schedule(open_deal)[0] is True
    assert schedule(won)[:2] == (None, None)


def test_a_run_decides_only_the_due_deals(healthy, rep, pipeline):
    later = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        stage_entered_at=days_ago(12),
        last_activity_at=days_ago(0),
        next_step_date=None,
        close_date=timezone.localdate() + dt.timedelta(days=60),
    )
    first = flags_refresh()
    assert first.checked == 2 and first.full
    # Nothing due: nothing read beyond the schedule.
    again = flags_refresh()
    assert (again, again.checked, again.full) == (NOTHING, 0, False)
    # `later` warns at 14 days in Proposal: due on the morning its 14th day begins.
    entered = timezone.localtime(later.stage_entered_at).date()
    due = rules.start_of_day(entered + dt.timedelta(days=14), TZ)
    assert schedule(later)[1] == due
    just_before = flags_refresh(now=due - dt.timedelta(seconds=1))
    assert (just_before, just_before.checked) == (NOTHING, 0)
    result = flags_refresh(now=due)
    assert result == FlagRefreshResult(raised=1, cleared=0, updated=0, notified=1)
    assert result.checked == 1
    assert open_flags(later)["stuck_in_stage"][0] == "warning"


def test_a_direct_update_of_a_deal_makes_it_due(healthy):
    flags_refresh()
    due, _, version = schedule(healthy)
    assert not due
    set_fields(healthy, close_date=timezone.localdate() - dt.timedelta(days=2))  # raw UPDATE
    assert schedule(healthy)[0] is True and schedule(healthy)[2] == version + 1
    assert flags_refresh().raised == 1
    assert set(open_flags(healthy)) == {"past_close_date"}
    # Columns the rules do not read leave the schedule alone.
    set_fields(healthy, name="Renamed", amount=123)
    assert schedule(healthy)[0] is False


def test_stage_limits_changed_anywhere_recheck_the_stage_deals(healthy, pipeline):
    flags_refresh()
    assert open_flags(healthy) == {}
    type(pipeline.proposal).objects.filter(pk=pipeline.proposal.pk).update(warn_days=1)
    assert flags_refresh().raised == 1
    assert open_flags(healthy)["stuck_in_stage"][0] == "warning"
    type(pipeline.proposal).objects.filter(pk=pipeline.proposal.pk).update(name="Offer")
    assert flags_refresh().updated == 1
    assert open_flags(healthy)["stuck_in_stage"][1].startswith("In Offer since ")


def test_framework_set_or_renamed_rechecks_its_deals(healthy, pipeline, framework):
    flags_refresh()
    type(pipeline).objects.filter(pk=pipeline.pk).update(framework=framework)
    assert flags_refresh().raised == 1
    assert open_flags(healthy)["requalify_due"][1] == "Never qualified with TestFW"
    QualificationFramework.objects.filter(pk=framework.pk).update(name="MEDDICC-2")
    assert flags_refresh().updated == 1
    assert open_flags(healthy)["requalify_due"][1] == "Never qualified with MEDDICC-2"


def test_the_latest_qualification_is_kept_by_the_database(healthy, rep, pipeline, framework):
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    flags_refresh()
    assert set(open_flags(healthy)) == {"requalify_due"}
    old = Qualification.objects.create(
        opportunity=healthy,
        framework=framework,
        score_pct=10,
        assessed_by=rep,
        assessed_at=days_ago(40),
    )
    new = Qualification.objects.create(
        opportunity=healthy,
        framework=framework,
        score_pct=90,
        assessed_by=rep,
        assessed_at=days_ago(1),
    )
    # An older one added later does not take the place of the newest.
    Qualification.objects.create(
        opportunity=healthy,
        framework=framework,
        score_pct=50,
        assessed_by=rep,
        assessed_at=days_ago(60),
    )
    healthy.refresh_from_db()
    assert healthy.latest_qualification_id == new.pk
    assert flags_refresh().cleared == 1
    new.delete()
    healthy.refresh_from_db()
    assert healthy.latest_qualification_id == old.pk  # expired (40 days > 30)
    assert flags_refresh().raised == 1
    assert open_flags(healthy)["requalify_due"][1].startswith("The last qualification expired on ")


def test_changed_rule_settings_recheck_every_deal(healthy, settings):
    set_fields(healthy, last_activity_at=days_ago(5))
    assert flags_refresh().full
    assert open_flags(healthy) == {}
    assert not flags_refresh().full
    settings.NO_ACTIVITY_DAYS = 3
    # The deal was not due, yet a changed setting is seen at the next run.
    result = flags_refresh()
    assert result.full and result.raised == 1
    assert open_flags(healthy)["no_activity"][0] == "warning"
    assert not flags_refresh().full


def test_a_global_run_leaves_a_deal_changed_since_its_snapshot_alone(transactional_db, healthy):
    """A user changes the deal while a global run is deciding it: the run, whose snapshot
    predates the change, writes nothing for that deal (its version moved); the deal stays
    due, and the next run decides it from the new state."""
    set_fields(healthy, stage_entered_at=days_ago(41))
    user = connections.create_connection("default")
    outcome: dict[str, FlagRefreshResult] = {}
    try:
        with user.cursor() as cur:
            cur.execute("BEGIN")
            # The user's transaction: the deal moved on (a raw UPDATE: the trigger bumps the
            # version and holds the schedule row) but is not committed yet.
            cur.execute(
                # The test's clock, not the database server's (which reads the real one).
                "UPDATE pipeline_opportunity SET stage_entered_at = %s WHERE id = %s",
                [timezone.now(), healthy.pk],
            )

            def global_run() -> None:
                outcome["global"] = flags_refresh()
                connections.close_all()

            t = threading.Thread(target=global_run)
            t.start()
            t.join(1.5)
            assert t.is_alive()  # waiting for the deal's schedule row
            cur.execute("COMMIT")
            t.join(30)
    finally:
        user.close()
    # From its snapshot the deal was 41 days in Proposal: a stale flag it did not raise.
    assert outcome["global"] == NOTHING and outcome["global"].checked == 1
    assert open_flags(healthy) == {}
    assert schedule(healthy)[0] is True  # still due
    assert flags_refresh().checked == 1
    assert open_flags(healthy) == {}
