"""Forecast meetings: the service meeting_create / meeting_update (the database after each
success and each refusal), the frozen numbers (figures, risks, changes since the previous
meeting), the pure risk rule and the scoped reads.

Hand-computed data set (period 2026-Q4 = 1 Oct – 31 Dec 2026, EUR, Europe/Berlin; stages
of make_pipeline: Discover 10 % pipeline, Qualify 25 % pipeline, Proposal 60 % best case):

  rep       A  open 10,000  Proposal (best case), closes 15 Dec, next step set, critical flag
            B  open  4,000  Qualify OVERRIDDEN to commit, 30 Nov, NO next step
            C  won   2,500  closed 20 Oct
            D  open  7,000  Discover (pipeline), 10 Dec, no next step → pipeline: not a risk
  teammate  F  open  6,000  Proposal OVERRIDDEN to commit, 20 Dec, next step set, close date
                            pushed 1 Dec → 10 Dec → 20 Dec (two pushes) on 10 and 20 Nov
  other_rep G  open  9,000  Team B, commit, no next step → not Team A's

Team A: closed won 2,500; commit 4,000 + 6,000 = 10,000; best case 10,000; pipeline 7,000;
  commit cum. 12,500; best case cum. 22,500; pipeline cum. 29,500; open 27,000;
  weighted 6,000 + 1,000 + 3,600 + 700 = 11,300; no quota.
Risks of Team A (commit / best case): A (critical flag) first, then F (one reason, 6,000)
  and B (one reason, 4,000): same number of reasons, the larger first.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from forecasting.models import ForecastMeeting, PipelineSnapshot
from forecasting.selectors import (
    RiskFlag,
    deal_risk_reasons,
    meeting_attendee_candidates,
    meeting_get_for,
    meeting_neighbours,
    meetings_for,
    risk_rank,
)
from forecasting.services import meeting_create, meeting_update
from pipeline.models import OpportunityChange
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.models import AuditEvent
from tests.factories import OpportunityFactory, OpportunityFlagFactory, UserFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=BERLIN)  # a Wednesday; Monday = 23 Nov
# The factories stamp their rows on this clock too (created before the week's end…).
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
TODAY = NOW.date()


def at(y: int, m: int, d: int, h: int = 12) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=BERLIN)


@pytest.fixture
def deals(rep, teammate, other_rep, pipeline):
    p = pipeline

    def deal(owner, stage, amount, close, **extra):
        extra.setdefault("next_step", "Send the proposal")
        return OpportunityFactory(
            owner=owner, stage=stage, amount=Decimal(amount), close_date=close, **extra
        )

    a = deal(rep, p.proposal, "10000", dt.date(2026, 12, 15), name="Deal A")
    b = deal(
        rep,
        p.qualify,
        "4000",
        dt.date(2026, 11, 30),
        forecast_category="commit",
        next_step="",
        name="Deal B",
    )
    deal(
        rep,
        p.won,
        "2500",
        dt.date(2026, 10, 20),
        status="won",
        closed_at=at(2026, 10, 20),
        name="Deal C",
    )
    d = deal(rep, p.discover, "7000", dt.date(2026, 12, 10), next_step="", name="Deal D")
    f = deal(
        teammate,
        p.proposal,
        "6000",
        dt.date(2026, 12, 20),
        forecast_category="commit",
        name="Deal F",
    )
    g = deal(
        other_rep,
        p.qualify,
        "9000",
        dt.date(2026, 12, 5),
        forecast_category="commit",
        next_step="",
        name="Deal G",
    )
    OpportunityFlagFactory(
        opportunity=a, kind="past_close_date", severity="critical", explanation="Overdue 20 days"
    )
    OpportunityFlagFactory(opportunity=a, kind="stuck_in_stage", severity="warning")
    OpportunityFlagFactory(  # cleared: no longer a reason
        opportunity=b, kind="no_activity", severity="critical", cleared_at=at(2026, 11, 1)
    )
    for changed, old, new in (
        (at(2026, 11, 10), "2026-12-01", "2026-12-10"),
        (at(2026, 11, 20), "2026-12-10", "2026-12-20"),
    ):
        OpportunityChange.objects.create(
            opportunity=f, field="close_date", old_value=old, new_value=new, changed_at=changed
        )
    return {"a": a, "b": b, "d": d, "f": f, "g": g}


def create(actor, team, **kwargs):
    kwargs.setdefault("period", "2026-Q4")
    kwargs.setdefault("held_on", TODAY)
    kwargs.setdefault("attendee_ids", [actor.pk])
    return meeting_create(actor=actor, team_id=team.pk, now=NOW, **kwargs)


# --- meeting_create: success ------------------------------------------------------------


def test_manager_records_a_meeting_with_the_numbers_frozen(manager, rep, teammate, team_a, deals):
    meeting = create(
        manager,
        team_a,
        attendee_ids=[manager.pk, rep.pk, teammate.pk],
        notes="  Commit looks solid  ",
    )

    stored = ForecastMeeting.objects.get()
    assert stored.pk == meeting.pk
    assert (stored.team_id, stored.period_kind, stored.period_start) == (
        team_a.pk,
        "quarter",
        dt.date(2026, 10, 1),
    )
    assert stored.held_on == TODAY
    assert stored.notes == "Commit looks solid"
    assert stored.version == 1
    assert stored.created_by_id == manager.pk
    assert set(stored.attendees.values_list("pk", flat=True)) == {manager.pk, rep.pk, teammate.pk}

    totals = stored.figures["totals"]
    assert stored.figures["currency"] == "EUR"
    assert totals["closed_won"] == "2500.00"
    assert totals["commit"] == "10000.00"
    assert totals["best_case"] == "10000.00"
    assert totals["pipeline"] == "7000.00"
    assert totals["commit_cumulative"] == "12500.00"
    assert totals["best_case_cumulative"] == "22500.00"
    assert totals["pipeline_cumulative"] == "29500.00"
    assert totals["open_pipeline"] == "27000.00"
    assert totals["weighted_pipeline"] == "11300.00"
    assert totals["quota"] is None
    owners = {row["id"]: row for row in stored.figures["by_owner"]}
    assert set(owners) == {rep.pk, teammate.pk}
    assert owners[rep.pk]["commit"] == "4000.00"
    assert owners[teammate.pk]["commit"] == "6000.00"

    assert [r["name"] for r in stored.risks] == ["Deal A", "Deal F", "Deal B"]
    risk_a, risk_f, risk_b = stored.risks
    assert risk_a["severity"] == "critical"
    assert risk_a["reasons"] == [
        "Close date passed (critical): Overdue 20 days",
        "Stuck in stage (warning): In Discover for 20 days; this stage's warning comes at 14",
    ]
    assert (risk_a["amount"], risk_a["currency"], risk_a["forecast_category"]) == (
        "10000.00",
        "EUR",
        "best_case",
    )
    assert risk_a["owner_id"] == rep.pk
    assert risk_f["reasons"] == [
        "Close date pushed 2 times in the last 30 days: 01 Dec 2026 → 20 Dec 2026"
    ]
    assert risk_b["reasons"] == ["No next step"]
    assert risk_b["severity"] == "warning"

    assert stored.changes["previous_meeting"] is None
    assert stored.changes["figure_deltas"] is None
    assert stored.changes["basis"] == "previous_week"
    assert stored.changes["available"] is False  # no snapshot at all

    event = AuditEvent.objects.get(action="forecast_meeting.created")
    assert (event.actor_id, event.target_id) == (manager.pk, meeting.pk)
    assert event.data["attendees"] == [manager.pk, rep.pk, teammate.pk]
    assert event.data["risks"] == 3


def test_a_leader_records_a_meeting_of_any_team_and_may_attend(leader, other_manager, team_b):
    meeting = create(leader, team_b, attendee_ids=[leader.pk, other_manager.pk])
    assert meeting.team_id == team_b.pk
    assert set(meeting.attendees.all()) == {leader, other_manager}


def test_a_managers_manager_may_record_and_attend_a_sub_teams_meeting(manager, team_a):
    from tests.factories import TeamFactory

    sub = TeamFactory(name="Team A East", parent=team_a)
    sub_manager = UserFactory(username="sub_manager", role="manager", team=sub)
    sub.manager = sub_manager
    sub.save(update_fields=["manager"])
    meeting = create(manager, sub, attendee_ids=[manager.pk, sub_manager.pk])
    assert set(meeting.attendees.all()) == {manager, sub_manager}
    assert {u.pk for u in meeting_attendee_candidates(sub.pk)} == {manager.pk, sub_manager.pk}


def test_held_on_defaults_to_today_and_may_be_a_year_back(manager, team_a):
    assert create(manager, team_a, held_on=None).held_on == TODAY
    year_ago = TODAY - dt.timedelta(days=365)
    assert create(manager, team_a, held_on=year_ago.isoformat()).held_on == year_ago


def test_changes_against_the_previous_meeting(manager, rep, team_a, deals, pipeline):
    """Previous meeting on Wed 18 Nov (snapshot week 16 Nov); this one on 25 Nov (latest
    snapshot week 23 Nov). Between the two snapshots: A's amount 8,000 → 10,000 (amount
    up +2,000), F new, a deal pushed out to 2027 (−3,000). Since the previous meeting's
    figures: B's amount 4,000 → 5,000, so commit +1,000."""
    previous = create(manager, team_a, held_on=dt.date(2026, 11, 18))
    pushed = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        amount=Decimal("3000"),
        close_date=dt.date(2027, 2, 1),
        name="Pushed deal",
    )
    a, f = deals["a"], deals["f"]

    def snap(week, opp, amount, close):
        PipelineSnapshot.objects.create(
            week=week,
            opportunity=opp,
            owner=opp.owner,
            team_id=opp.owner.team_id,
            stage=opp.stage,
            forecast_category=opp.forecast_category,
            amount=Decimal(amount),
            currency="EUR",
            close_date=close,
            status="open",
        )

    w1, w2 = dt.date(2026, 11, 16), dt.date(2026, 11, 23)
    snap(w1, a, "8000", a.close_date)
    snap(w1, pushed, "3000", dt.date(2026, 12, 1))
    snap(w2, a, "10000", a.close_date)
    snap(w2, pushed, "3000", dt.date(2027, 2, 1))
    snap(w2, f, "6000", f.close_date)
    deals["b"].amount = Decimal("5000")
    deals["b"].save(update_fields=["amount"])

    meeting = create(manager, team_a, held_on=TODAY)

    changes = meeting.changes
    assert changes["previous_meeting"] == {"id": previous.pk, "held_on": "2026-11-18"}
    assert changes["basis"] == "previous_meeting"
    assert (changes["from_week"], changes["to_week"]) == ("2026-11-16", "2026-11-23")
    assert changes["available"] is True
    assert changes["figure_deltas"]["commit"] == "1000.00"
    assert changes["figure_deltas"]["closed_won"] == "0.00"
    assert changes["figure_deltas"]["quota"] is None
    assert changes["opening"] == {"EUR": "11000.00"}
    assert changes["closing"] == {"EUR": "16000.00"}
    groups = {g["kind"]: g for g in changes["deals"]}
    assert groups["amount_up"]["count"] == 1
    assert groups["amount_up"]["deltas"] == {"EUR": "2000.00"}
    assert groups["amount_up"]["items"][0]["opportunity_id"] == a.pk
    assert groups["new"]["items"][0]["opportunity_id"] == f.pk
    assert groups["pushed_out"]["deltas"] == {"EUR": "-3000.00"}
    assert groups["won"]["count"] == 0
    # Opening + Σ deltas = closing.
    total = sum(Decimal(g["deltas"].get("EUR", "0")) for g in changes["deals"])
    assert Decimal("11000") + total == Decimal("16000")
    # The pushes of F happened on 10 and 20 Nov: only the one since the last meeting counts.
    risk_f = next(r for r in meeting.risks if r["name"] == "Deal F")
    assert risk_f["reasons"] == [
        "Close date pushed once since the last meeting (18 Nov 2026): 10 Dec 2026 → 20 Dec 2026"
    ]


def test_a_back_dated_meeting_compares_with_the_one_before_it(manager, team_a):
    first = create(manager, team_a, held_on=dt.date(2026, 11, 2))
    create(manager, team_a, held_on=dt.date(2026, 11, 20))
    between = create(manager, team_a, held_on=dt.date(2026, 11, 10))
    assert between.changes["previous_meeting"]["id"] == first.pk


# --- meeting_create: refusals (nothing written) --------------------------------------------


def assert_nothing_written():
    assert ForecastMeeting.objects.count() == 0
    assert ForecastMeeting.attendees.through.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="forecast_meeting").exists()


def test_a_rep_cannot_record_a_meeting(rep, team_a):
    with pytest.raises(PermissionDenied):
        create(rep, team_a)
    assert_nothing_written()


def test_another_teams_manager_does_not_find_the_team(other_manager, team_a):
    with pytest.raises(NotFound):
        create(other_manager, team_a, attendee_ids=[other_manager.pk])
    assert_nothing_written()


@pytest.mark.parametrize("team_id", ["abc", "0", "-3", "", None, "1.5"])
def test_a_bad_team_id_is_a_field_error(manager, team_id):
    with pytest.raises(ValidationFailed) as exc:
        meeting_create(actor=manager, period="2026-Q4", team_id=team_id, attendee_ids=[manager.pk])
    assert "team" in exc.value.details
    assert_nothing_written()


def test_an_unknown_team_is_not_found(leader):
    with pytest.raises(NotFound):
        meeting_create(actor=leader, period="2026-Q4", team_id=999_999, attendee_ids=[leader.pk])
    assert_nothing_written()


def test_inactive_actor_is_refused(manager, team_a):
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        create(manager, team_a)
    assert_nothing_written()


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"period": "2026-Q9"}, {"period"}),
        ({"held_on": TODAY + dt.timedelta(days=1)}, {"held_on"}),
        ({"held_on": TODAY - dt.timedelta(days=366)}, {"held_on"}),
        ({"held_on": "yesterday"}, {"held_on"}),
        ({"attendee_ids": []}, {"attendees"}),
        ({"attendee_ids": "12"}, {"attendees"}),
        ({"attendee_ids": ["x"]}, {"attendees"}),
        ({"notes": "x" * 20_001}, {"notes"}),
        (
            {"period": "nope", "held_on": "2099-01-01", "attendee_ids": []},
            {"period", "held_on", "attendees"},
        ),
    ],
)
def test_bad_fields_are_refused_together(manager, team_a, fields, errors):
    with pytest.raises(ValidationFailed) as exc:
        create(manager, team_a, **fields)
    assert set(exc.value.details) == errors
    assert_nothing_written()


def test_the_future_date_message_says_why(manager, team_a):
    with pytest.raises(ValidationFailed) as exc:
        create(manager, team_a, held_on=TODAY + dt.timedelta(days=1))
    assert "cannot be in the future" in exc.value.details["held_on"][0]


def test_attendees_outside_the_team_are_named(manager, team_a, other_rep, other_manager, rep):
    with pytest.raises(ValidationFailed) as exc:
        create(manager, team_a, attendee_ids=[rep.pk, other_rep.pk, other_manager.pk])
    messages = exc.value.details["attendees"]
    assert len(messages) == 2
    assert messages[0].startswith(f"{other_rep} cannot attend")
    assert "Team A" in messages[0]
    assert_nothing_written()


def test_an_inactive_team_member_cannot_attend(manager, team_a, teammate):
    teammate.is_active = False
    teammate.save(update_fields=["is_active"])
    with pytest.raises(ValidationFailed) as exc:
        create(manager, team_a, attendee_ids=[manager.pk, teammate.pk])
    assert "cannot attend" in exc.value.details["attendees"][0]
    assert_nothing_written()


def test_an_unknown_user_cannot_attend(manager, team_a):
    with pytest.raises(ValidationFailed) as exc:
        create(manager, team_a, attendee_ids=[999_999])
    assert exc.value.details["attendees"][0].startswith("User 999999 cannot attend")
    assert_nothing_written()


def test_the_same_team_period_and_day_twice_is_a_conflict(manager, leader, team_a):
    first = create(manager, team_a)
    with pytest.raises(Conflict) as exc:
        create(leader, team_a, attendee_ids=[leader.pk])
    assert exc.value.code == "duplicate_meeting"
    assert exc.value.status == 409
    assert list(ForecastMeeting.objects.values_list("pk", flat=True)) == [first.pk]
    assert AuditEvent.objects.filter(action="forecast_meeting.created").count() == 1
    # Another period on the same day is another meeting.
    assert create(manager, team_a, period="2026-12").pk != first.pk


# --- the database itself --------------------------------------------------------------------


def test_the_database_refuses_a_duplicate_and_a_period_not_on_the_1st(manager, team_a):
    meeting = create(manager, team_a)
    base = {"team": team_a, "period_kind": "quarter", "created_by": manager}
    with pytest.raises(IntegrityError), transaction.atomic():
        ForecastMeeting.objects.create(
            **base, period_start=meeting.period_start, held_on=meeting.held_on
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ForecastMeeting.objects.create(**base, period_start=dt.date(2026, 10, 2), held_on=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ForecastMeeting.objects.create(
            **base,
            period_start=dt.date(2026, 10, 1),
            held_on=TODAY - dt.timedelta(days=1),
            version=0,
        )


def test_a_team_with_meetings_cannot_be_deleted(manager, team_a):
    create(manager, team_a)
    with pytest.raises(ProtectedError):
        team_a.delete()


# --- meeting_update ---------------------------------------------------------------------------


@pytest.fixture
def meeting(manager, rep, team_a, deals):
    return create(manager, team_a, attendee_ids=[manager.pk, rep.pk], notes="First notes")


def test_update_changes_notes_attendees_and_date_and_bumps_the_version(meeting, manager, teammate):
    frozen = (meeting.figures, meeting.risks, meeting.changes)
    updated = meeting_update(
        actor=manager,
        meeting_id=meeting.pk,
        expected_version=1,
        notes="Revised",
        attendee_ids=[manager.pk, teammate.pk],
        held_on=TODAY - dt.timedelta(days=1),
        now=NOW,
    )
    stored = ForecastMeeting.objects.get(pk=meeting.pk)
    assert stored.version == updated.version == 2
    assert stored.notes == "Revised"
    assert stored.held_on == TODAY - dt.timedelta(days=1)
    assert set(stored.attendees.values_list("pk", flat=True)) == {manager.pk, teammate.pk}
    assert (stored.figures, stored.risks, stored.changes) == frozen
    event = AuditEvent.objects.get(action="forecast_meeting.updated")
    assert event.data["fields"] == ["notes", "held_on", "attendees"]


def test_update_without_a_change_saves_nothing(meeting, manager):
    meeting_update(actor=manager, meeting_id=meeting.pk, notes="First notes", now=NOW)
    assert ForecastMeeting.objects.get(pk=meeting.pk).version == 1
    assert not AuditEvent.objects.filter(action="forecast_meeting.updated").exists()


def test_a_leader_may_update(meeting, leader):
    meeting_update(actor=leader, meeting_id=meeting.pk, notes="Leader's note", now=NOW)
    assert ForecastMeeting.objects.get(pk=meeting.pk).notes == "Leader's note"


def assert_unchanged(meeting):
    stored = ForecastMeeting.objects.get(pk=meeting.pk)
    assert (stored.version, stored.notes, stored.held_on) == (1, "First notes", TODAY)
    assert set(stored.attendees.all()) == set(meeting.attendees.all())
    assert not AuditEvent.objects.filter(action="forecast_meeting.updated").exists()


def test_a_stale_version_is_refused(meeting, manager):
    with pytest.raises(StaleVersion) as exc:
        meeting_update(actor=manager, meeting_id=meeting.pk, expected_version=7, notes="Late")
    assert exc.value.status == 412
    assert_unchanged(meeting)


def test_a_rep_who_attended_reads_but_cannot_update(meeting, rep):
    with pytest.raises(PermissionDenied):
        meeting_update(actor=rep, meeting_id=meeting.pk, notes="Mine")
    assert_unchanged(meeting)


@pytest.mark.parametrize("who", ["teammate", "other_manager"])
def test_people_who_do_not_see_it_do_not_find_it(meeting, request, who):
    with pytest.raises(NotFound):
        meeting_update(actor=request.getfixturevalue(who), meeting_id=meeting.pk, notes="x")
    assert_unchanged(meeting)


@pytest.mark.parametrize("meeting_id", ["abc", None, -1, 999_999])
def test_no_such_meeting(meeting, manager, meeting_id):
    with pytest.raises(NotFound):
        meeting_update(actor=manager, meeting_id=meeting_id, notes="x")
    assert_unchanged(meeting)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"held_on": TODAY + dt.timedelta(days=3)}, "held_on"),
        ({"attendee_ids": []}, "attendees"),
        ({"notes": "x" * 20_001}, "notes"),
    ],
)
def test_bad_changes_are_refused(meeting, manager, other_rep, fields, error):
    with pytest.raises(ValidationFailed) as exc:
        meeting_update(actor=manager, meeting_id=meeting.pk, now=NOW, **fields)
    assert error in exc.value.details
    assert_unchanged(meeting)


def test_moving_onto_another_meetings_day_is_a_conflict(meeting, manager, team_a):
    create(manager, team_a, held_on=TODAY - dt.timedelta(days=2))
    with pytest.raises(Conflict):
        meeting_update(
            actor=manager, meeting_id=meeting.pk, held_on=TODAY - dt.timedelta(days=2), now=NOW
        )
    assert_unchanged(meeting)


# --- the pure risk rule ---------------------------------------------------------------------


CRIT = RiskFlag("critical", "Close date passed", "Overdue 3 days")
WARN = RiskFlag("warning", "No customer activity", "No contact for 20 days")


@pytest.mark.parametrize(
    ("flags", "pushes", "next_step", "expected"),
    [
        ([], [], "Call", []),
        ([], [], "   ", ["No next step"]),
        (
            [WARN, CRIT],
            [],
            "Call",
            [
                "Close date passed (critical): Overdue 3 days",
                "No customer activity (warning): No contact for 20 days",
            ],
        ),
        # Only pushes LATER count; an earlier close date is no risk.
        ([], [(dt.date(2026, 12, 1), dt.date(2026, 11, 20))], "Call", []),
        (
            [],
            [(dt.date(2026, 12, 1), dt.date(2026, 12, 9))],
            "Call",
            ["Close date pushed once since X: 01 Dec 2026 → 09 Dec 2026"],
        ),
        (
            [],
            [
                (dt.date(2026, 12, 9), dt.date(2026, 12, 20)),
                (dt.date(2026, 12, 1), dt.date(2026, 12, 9)),
            ],
            "",
            ["Close date pushed 2 times since X: 01 Dec 2026 → 20 Dec 2026", "No next step"],
        ),
    ],
)
def test_deal_risk_reasons(flags, pushes, next_step, expected):
    assert (
        deal_risk_reasons(flags=flags, pushes=pushes, next_step=next_step, since_label="since X")
        == expected
    )


def test_risk_rank_puts_critical_then_more_reasons_then_larger_first():
    keys = {
        "small critical": risk_rank(critical=True, reasons=1, amount=Decimal(1), deal_id=5),
        "big two reasons": risk_rank(critical=False, reasons=2, amount=Decimal(900), deal_id=1),
        "big one reason": risk_rank(critical=False, reasons=1, amount=Decimal(900), deal_id=2),
        "small one reason": risk_rank(critical=False, reasons=1, amount=Decimal(10), deal_id=3),
    }
    assert sorted(keys, key=keys.get) == [
        "small critical",
        "big two reasons",
        "big one reason",
        "small one reason",
    ]


# --- scoped reads -------------------------------------------------------------------------------


def test_who_sees_which_meeting(meeting, manager, rep, teammate, other_manager, leader, team_b):
    other = create(leader, team_b, attendee_ids=[leader.pk, other_manager.pk])
    assert list(meetings_for(rep)) == [meeting]  # attended
    assert list(meetings_for(teammate)) == []  # same team, did not attend
    assert list(meetings_for(manager)) == [meeting]
    assert list(meetings_for(other_manager)) == [other]
    assert {m.pk for m in meetings_for(leader)} == {meeting.pk, other.pk}
    assert meeting_get_for(rep, meeting.pk).attendee_count == 2
    from django.http import Http404

    for who, pk in ((teammate, meeting.pk), (other_manager, meeting.pk), (rep, "abc")):
        with pytest.raises(Http404):
            meeting_get_for(who, pk)


def test_filters_and_neighbours(manager, leader, team_a, team_b):
    early = create(manager, team_a, held_on=dt.date(2026, 11, 2))
    late = create(manager, team_a, held_on=dt.date(2026, 11, 20))
    month = create(manager, team_a, held_on=dt.date(2026, 11, 20), period="2026-11")
    assert list(meetings_for(manager, period="2026-Q4")) == [late, early]
    assert list(meetings_for(manager, period="2026-11")) == [month]
    assert list(meetings_for(leader, team=team_b.pk)) == []
    assert list(meetings_for(leader, team=team_a.pk)) == [month, late, early]
    with pytest.raises(ValidationFailed):
        list(meetings_for(manager, period="2026-Q7"))
    assert meeting_neighbours(manager, early) == (None, late)
    assert meeting_neighbours(manager, late) == (early, None)
