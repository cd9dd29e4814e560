"""Forecast submissions: the database constraints and the immutability trigger, the
service forecast_submit (the database after each success and each refusal), the
supersede chain, the scoped reads and the "not submitted this week" indicator.

Hand-computed data set (period 2026-Q4 = 1 Oct – 31 Dec 2026, EUR, Europe/Berlin;
stages of make_pipeline: Discover 10 % pipeline, Qualify 25 % pipeline, Proposal 60 %
best case, Closed won):

  rep       A  open 10,000  Proposal (best case, 60 %), closes 15 Dec → best case, w 6,000
            B  open  4,000  Qualify OVERRIDDEN to commit (25 %), 30 Nov → commit,   w 1,000
            C  won   2,500  closed 20 Oct                             → closed won
            D  open  7,000  Discover, closes 15 Jan 2027              → not in Q4
            E  open  3,000  USD, Proposal, closes 1 Dec               → not in EUR
  teammate  F  open  6,000  Proposal OVERRIDDEN to commit (60 %), 20 Dec → commit,  w 3,600
  quota 2026-Q4: rep 20,000 (EUR); Team A has none → the sum of its reps' = 20,000.

rep's figures: closed won 2,500; commit 4,000; best case 10,000; pipeline 0;
  commit cum. 2,500 + 4,000 = 6,500; best case cum. 6,500 + 10,000 = 16,500; pipeline
  cum. 16,500; open 14,000; weighted (6,000 + 1,000) = 7,000; attainment 2,500 / 20,000
  = 12.5 %; remaining 17,500; coverage 14,000 / 17,500 = 0.80.
Team A's figures: closed won 2,500; commit 4,000 + 6,000 = 10,000; best case 10,000;
  pipeline 0; commit cum. 12,500; best case cum. 22,500; pipeline cum. 22,500; open
  20,000; weighted 6,000 + 1,000 + 3,600 = 10,600; quota 20,000; attainment 12.5;
  remaining 17,500; coverage 20,000 / 17,500 = 1.142… → 1.14.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from forecasting.models import ForecastSubmission, Quota
from forecasting.selectors import not_submitted_this_week, submissions_for
from forecasting.services import forecast_submit
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import OpportunityFactory

BERLIN = ZoneInfo("Europe/Berlin")
Q4 = dt.date(2026, 10, 1)
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=BERLIN)  # a Wednesday; Monday = 23 Nov
# The factories stamp their rows on this clock too (created before the week's end…).
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def at(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=BERLIN)


@pytest.fixture
def deals(rep, teammate, pipeline):
    p = pipeline

    def deal(owner, stage, amount, close, **extra):
        return OpportunityFactory(
            owner=owner, stage=stage, amount=Decimal(amount), close_date=close, **extra
        )

    deal(rep, p.proposal, "10000", dt.date(2026, 12, 15))
    deal(rep, p.qualify, "4000", dt.date(2026, 11, 30), forecast_category="commit")
    deal(rep, p.won, "2500", dt.date(2026, 10, 20), status="won", closed_at=at(2026, 10, 20))
    deal(rep, p.discover, "7000", dt.date(2027, 1, 15))
    deal(rep, p.proposal, "3000", dt.date(2026, 12, 1), currency="USD")
    deal(teammate, p.proposal, "6000", dt.date(2026, 12, 20), forecast_category="commit")
    Quota.objects.create(
        period_kind="quarter", period_start=Q4, rep=rep, amount=Decimal("20000"), currency="EUR"
    )


def row(**fields) -> ForecastSubmission:
    """A submission written straight to the table (for constraint and reading tests)."""
    base = {
        "period_kind": "quarter",
        "period_start": Q4,
        "level": "rep",
        "commit": Decimal("1"),
        "best_case": Decimal("2"),
        "currency": "EUR",
        "submitted_at": NOW,
    }
    return ForecastSubmission.objects.create(**base | fields)


def state(submission: ForecastSubmission) -> dict:
    return dict(ForecastSubmission.objects.filter(pk=submission.pk).values().get())


# --- the database -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"commit": Decimal("-1"), "best_case": Decimal("0")},
        {"commit": Decimal("5"), "best_case": Decimal("4")},  # best case below commit
        {"currency": "eur"},
        {"period_start": dt.date(2026, 10, 2)},
        {"level": "team"},  # a team call without a team
        {"with_team": True},  # a rep call with a team
    ],
)
def test_constraints_hold_in_the_database(rep, fields):
    if fields.pop("with_team", False):
        fields["team"] = rep.team
    with pytest.raises(IntegrityError), transaction.atomic():
        row(submitter=rep, **fields)


def test_one_chain_head_and_a_submission_superseded_once(rep, manager):
    first = row(submitter=rep)
    row(submitter=manager, level="team", team=manager.team)  # another chain
    row(submitter=rep, period_kind="month", period_start=dt.date(2026, 11, 1))  # another
    with pytest.raises(IntegrityError), transaction.atomic():
        row(submitter=rep)  # a second head of rep's 2026-Q4 chain
    row(submitter=rep, supersedes=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        row(submitter=rep, supersedes=first)  # first is superseded already


# --- immutability: every path is refused and the row stays as it was ---------------------


def test_orm_save_of_an_existing_row_is_refused(rep):
    s = row(submitter=rep, notes="Original")
    before = state(s)
    s.commit, s.notes = Decimal("0"), "Edited"
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        s.save()
    assert state(s) == before


def test_queryset_update_is_refused(rep):
    s = row(submitter=rep)
    before = state(s)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ForecastSubmission.objects.filter(pk=s.pk).update(best_case=Decimal("99"))
    assert state(s) == before


def test_raw_sql_update_and_delete_are_refused(rep):
    s = row(submitter=rep)
    before = state(s)
    for sql in (
        "UPDATE forecasting_forecastsubmission SET notes = 'x' WHERE id = %s",
        "DELETE FROM forecasting_forecastsubmission WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [s.pk])
    assert state(s) == before


def test_delete_is_refused(rep):
    s = row(submitter=rep)
    before = state(s)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        s.delete()
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        ForecastSubmission.objects.all().delete()
    assert state(s) == before


def test_deleting_the_submitter_or_the_team_is_refused(manager):
    s = row(submitter=manager, level="team", team=manager.team)
    before = state(s)
    with pytest.raises(ProtectedError), transaction.atomic():
        manager.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        manager.team.delete()
    assert state(s) == before


# --- forecast_submit: success -------------------------------------------------------------

REP_FIGURES = {
    "currency": "EUR",
    "closed_won": "2500.00",
    "commit": "4000.00",
    "best_case": "10000.00",
    "pipeline": "0.00",
    "commit_cumulative": "6500.00",
    "best_case_cumulative": "16500.00",
    "pipeline_cumulative": "16500.00",
    "open_pipeline": "14000.00",
    "weighted_pipeline": "7000.00",
    "quota": "20000.00",
    "attainment_percent": "12.5",
    "remaining": "17500.00",
    "coverage": "0.80",
}
TEAM_A_FIGURES = REP_FIGURES | {
    "commit": "10000.00",
    "commit_cumulative": "12500.00",
    "best_case_cumulative": "22500.00",
    "pipeline_cumulative": "22500.00",
    "open_pipeline": "20000.00",
    "weighted_pipeline": "10600.00",
    "coverage": "1.14",
}


def test_a_rep_submits_their_call_with_the_figures_of_the_moment(rep, deals):
    s = forecast_submit(
        actor=rep, period="2026-Q4", commit="4000", best_case="14000", notes="B slips?", now=NOW
    )
    s = ForecastSubmission.objects.get(pk=s.pk)
    assert (s.submitter, s.level, s.team, s.period_kind, s.period_start) == (
        rep, "rep", None, "quarter", Q4
    )  # fmt: skip
    assert (s.commit, s.best_case, s.currency) == (Decimal("4000.00"), Decimal("14000.00"), "EUR")
    assert (s.notes, s.adjustment_note, s.reps_calls, s.supersedes) == ("B slips?", "", [], None)
    assert s.submitted_at == NOW
    assert s.figures == REP_FIGURES
    event = AuditEvent.objects.get(action="forecast.submitted")
    assert (event.actor, event.target_id) == (rep, s.pk)
    assert event.data == {
        "period": "2026-Q4",
        "level": "rep",
        "team": None,
        "commit": "4000.00",
        "best_case": "14000.00",
        "currency": "EUR",
        "supersedes": None,
    }


def test_the_supersede_chain(rep, deals):
    s1 = forecast_submit(actor=rep, period="2026-Q4", commit="1000", best_case="2000", now=NOW)
    s2 = forecast_submit(actor=rep, period="2026-Q4", commit="3000", best_case="3000", now=NOW)
    other = forecast_submit(actor=rep, period="2026-11", commit="5", best_case="5", now=NOW)
    s3 = forecast_submit(actor=rep, period="2026-Q4", commit="4000", best_case="9000", now=NOW)
    rows = {s.pk: s for s in ForecastSubmission.objects.all()}
    assert rows[s1.pk].supersedes_id is None
    assert rows[s2.pk].supersedes_id == s1.pk
    assert rows[s3.pk].supersedes_id == s2.pk
    assert rows[other.pk].supersedes_id is None  # a month is another chain
    # The superseded calls are as they were submitted.
    assert (rows[s1.pk].commit, rows[s1.pk].best_case) == (Decimal("1000.00"), Decimal("2000.00"))
    assert (rows[s2.pk].commit, rows[s2.pk].best_case) == (Decimal("3000.00"), Decimal("3000.00"))
    latest = submissions_for(rep, period="2026-Q4", latest=True)
    assert [s.pk for s in latest] == [s3.pk]
    assert [(s.pk, s.next_id) for s in submissions_for(rep, period="2026-Q4")] == [
        (s3.pk, None), (s2.pk, s3.pk), (s1.pk, s2.pk)
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="forecast.submitted").count() == 4


def test_a_manager_submits_for_the_team_seeing_the_reps_calls(
    rep, teammate, other_rep, manager, deals
):
    forecast_submit(actor=rep, period="2026-Q4", commit="4000", best_case="14000", now=NOW)
    r2 = forecast_submit(actor=rep, period="2026-Q4", commit="5000", best_case="15000", now=NOW)
    t1 = forecast_submit(actor=teammate, period="2026-Q4", commit="6000", best_case="6000", now=NOW)
    forecast_submit(actor=other_rep, period="2026-Q4", commit="9", best_case="9", now=NOW)
    # The reps' latest calls add up to 5,000 + 6,000 = 11,000 commit and 15,000 + 6,000 =
    # 21,000 best case (other_rep is in Team B): the same numbers need no note.
    s = forecast_submit(
        actor=manager, period="2026-Q4", commit="11000", best_case="21000", team_id=manager.team_id,
        now=NOW,
    )  # fmt: skip
    s = ForecastSubmission.objects.get(pk=s.pk)
    assert (s.level, s.team_id, s.adjustment_note) == ("team", manager.team_id, "")
    assert s.figures == TEAM_A_FIGURES
    calls = {c["rep"]: c for c in s.reps_calls}
    assert set(calls) == {rep.pk, teammate.pk}
    assert calls[rep.pk] | {"name": None} == {
        "rep": rep.pk, "name": None, "team": manager.team_id, "submission": r2.pk,
        "commit": "5000.00", "best_case": "15000.00", "currency": "EUR",
        "submitted_at": "2026-11-25T11:00:00+00:00",  # 12:00 Berlin (CET), stored in UTC
    }  # fmt: skip
    assert (calls[teammate.pk]["submission"], calls[teammate.pk]["commit"]) == (t1.pk, "6000.00")
    assert calls[rep.pk]["name"] == str(rep)

    # Different numbers: a note is required, and then accepted.
    with pytest.raises(ValidationFailed) as exc:
        forecast_submit(
            actor=manager, period="2026-Q4", commit="12000", best_case="21000",
            team_id=manager.team_id, adjustment_note="  ", now=NOW,
        )  # fmt: skip
    assert list(exc.value.details) == ["adjustment_note"]
    assert "11000.00 commit and 21000.00 best case" in exc.value.details["adjustment_note"][0]
    adjusted = forecast_submit(
        actor=manager, period="2026-Q4", commit="12000", best_case="21000",
        team_id=manager.team_id, adjustment_note="Acme signs early", now=NOW,
    )  # fmt: skip
    adjusted = ForecastSubmission.objects.get(pk=adjusted.pk)
    assert (adjusted.supersedes_id, adjusted.adjustment_note) == (s.pk, "Acme signs early")


def test_a_team_call_without_rep_calls_is_an_adjustment_unless_zero(manager, rep):
    with pytest.raises(ValidationFailed) as exc:
        forecast_submit(
            actor=manager, period="2026-Q4", commit="1", best_case="1", team_id=manager.team_id,
            now=NOW,
        )  # fmt: skip
    assert list(exc.value.details) == ["adjustment_note"]
    s = forecast_submit(
        actor=manager, period="2026-Q4", commit="0", best_case="0", team_id=manager.team_id,
        now=NOW,
    )  # fmt: skip
    assert ForecastSubmission.objects.get(pk=s.pk).reps_calls[0]["submission"] is None


def test_a_leader_submits_for_any_team(leader, team_b):
    s = forecast_submit(
        actor=leader, period="2026-Q4", commit="0", best_case="0", team_id=team_b.pk, now=NOW
    )
    assert ForecastSubmission.objects.get(pk=s.pk).team == team_b


# --- forecast_submit: refusals (nothing written) -------------------------------------------


def assert_nothing_written() -> None:
    assert ForecastSubmission.objects.count() == 0
    assert not AuditEvent.objects.filter(action="forecast.submitted").exists()


def test_a_rep_cannot_submit_for_a_team(rep):
    with pytest.raises(PermissionDenied):
        forecast_submit(
            actor=rep, period="2026-Q4", commit="1", best_case="1", team_id=rep.team_id, now=NOW
        )
    assert_nothing_written()


@pytest.mark.parametrize("team", ["other", "missing"])
def test_a_manager_cannot_submit_for_a_team_they_do_not_manage(manager, team_b, team):
    team_id = team_b.pk if team == "other" else team_b.pk + 1000
    with pytest.raises(NotFound):
        forecast_submit(
            actor=manager, period="2026-Q4", commit="0", best_case="0", team_id=team_id, now=NOW
        )
    assert_nothing_written()


def test_a_manager_must_name_the_team(manager):
    with pytest.raises(ValidationFailed) as exc:
        forecast_submit(actor=manager, period="2026-Q4", commit="0", best_case="0", now=NOW)
    assert list(exc.value.details) == ["team"]
    assert_nothing_written()


def test_every_validation_error_at_once(rep):
    with pytest.raises(ValidationFailed) as exc:
        forecast_submit(
            actor=rep, period="2026-Q9", commit="-1", best_case="abc", notes="x" * 4001,
            currency="euro", adjustment_note="why", now=NOW,
        )  # fmt: skip
    assert set(exc.value.details) == {
        "period", "commit", "best_case", "notes", "currency", "adjustment_note"
    }  # fmt: skip
    assert_nothing_written()


def test_best_case_below_commit(rep):
    with pytest.raises(ValidationFailed) as exc:
        forecast_submit(actor=rep, period="2026-Q4", commit="10", best_case="9.99", now=NOW)
    assert exc.value.details == {"best_case": ["Best case cannot be below commit."]}
    assert_nothing_written()


def test_a_past_period_is_closed(rep):
    with pytest.raises(Conflict) as exc:
        forecast_submit(actor=rep, period="2026-Q3", commit="1", best_case="1", now=NOW)
    assert (exc.value.code, exc.value.status) == ("period_closed", 409)
    assert_nothing_written()


def test_a_period_is_open_through_its_last_day_in_the_org_timezone(rep):
    # 31 Dec 2026 23:30 Berlin (22:30 UTC): still Q4.
    forecast_submit(
        actor=rep, period="2026-Q4", commit="1", best_case="1", now=at(2026, 12, 31, 23, 30)
    )
    # 1 Jan 2027 00:30 Berlin (31 Dec 23:30 UTC): Q4 is over.
    with pytest.raises(Conflict):
        forecast_submit(
            actor=rep, period="2026-Q4", commit="1", best_case="1", now=at(2027, 1, 1, 0, 30)
        )
    assert ForecastSubmission.objects.count() == 1


def test_an_inactive_user_cannot_submit(rep):
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        forecast_submit(actor=rep, period="2026-Q4", commit="1", best_case="1", now=NOW)
    assert_nothing_written()


# --- reads --------------------------------------------------------------------------------


def test_submissions_are_read_in_scope_and_filtered(
    rep, teammate, other_rep, manager, other_manager, leader
):
    mine = row(submitter=rep)
    mate = row(submitter=teammate)
    other = row(submitter=other_rep)
    team_a = row(submitter=manager, level="team", team=manager.team)
    team_b = row(submitter=other_manager, level="team", team=other_manager.team)
    nov = row(submitter=rep, period_kind="month", period_start=dt.date(2026, 11, 1))

    def ids(user, **filters):
        return {s.pk for s in submissions_for(user, **filters)}

    assert ids(rep) == {mine.pk, nov.pk}
    assert ids(manager) == {mine.pk, mate.pk, team_a.pk, nov.pk}
    assert ids(other_manager) == {other.pk, team_b.pk}
    assert ids(leader) == {mine.pk, mate.pk, other.pk, team_a.pk, team_b.pk, nov.pk}
    assert ids(leader, period="2026-11") == {nov.pk}
    assert ids(leader, person=teammate.pk) == {mate.pk}
    assert ids(leader, team=other_manager.team_id) == {other.pk, team_b.pk}
    assert ids(leader, level="team") == {team_a.pk, team_b.pk}
    assert ids(manager, team=other_manager.team_id) == set()  # outside the scope
    with pytest.raises(ValidationFailed):
        ids(leader, period="Q5")


# --- not submitted this week ----------------------------------------------------------------


def test_not_submitted_this_week(
    rep, teammate, other_rep, manager, other_manager, leader, django_assert_num_queries
):
    """The week of Wednesday 25 Nov 2026 begins Monday 23 Nov 00:00 Berlin = 22 Nov 23:00
    UTC. rep called at 00:30 Monday Berlin (still Sunday in UTC): this week. teammate
    called at 23:30 Sunday Berlin: last week. other_rep called this week, but for 2027-Q1.
    manager called for Team A on Tuesday; other_manager did not call for Team B."""
    row(submitter=rep, submitted_at=at(2026, 11, 23, 0, 30))
    row(submitter=teammate, submitted_at=at(2026, 11, 22, 23, 30))
    row(submitter=other_rep, period_start=dt.date(2027, 1, 1), submitted_at=at(2026, 11, 24))
    row(submitter=manager, level="team", team=manager.team, commit=0, best_case=0,
        submitted_at=at(2026, 11, 24))  # fmt: skip

    def missing(user):
        with django_assert_num_queries(1):
            result = not_submitted_this_week(user, "2026-Q4", now=NOW)
        assert (result.week, result.since) == (dt.date(2026, 11, 23), at(2026, 11, 23, 0, 0))
        return {(p.level, p.person_id, p.team_id): p.last_submitted_at for p in result.people}

    assert missing(leader) == {
        ("rep", teammate.pk, teammate.team_id): at(2026, 11, 22, 23, 30),
        ("rep", other_rep.pk, other_rep.team_id): None,
        ("team", other_manager.pk, other_manager.team_id): None,
    }
    assert missing(manager) == {("rep", teammate.pk, teammate.team_id): at(2026, 11, 22, 23, 30)}
    assert missing(other_manager) == {
        ("rep", other_rep.pk, other_rep.team_id): None,
        ("team", other_manager.pk, other_manager.team_id): None,
    }
    assert missing(rep) == {}
    assert missing(teammate) == {("rep", teammate.pk, teammate.team_id): at(2026, 11, 22, 23, 30)}
