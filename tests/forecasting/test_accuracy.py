"""forecast_accuracy against the hand-computed data set of accuracy_data.py: every row and
every per-person figure, the checkpoints, the scopes and their 404s, the refusals, the
CSV rows, the pickling, and a fixed query count."""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import pandas as pd
import pytest
from django.http import Http404
from django.template.loader import render_to_string

from forecasting import computations, rules
from forecasting.accuracy import accuracy_csv_rows, checkpoint_cutoff, forecast_accuracy
from forecasting.exports import csv_cell
from forecasting.models import ForecastSubmission
from forecasting.services import forecast_submit
from pipeline.models import OpportunityStatus
from salesops.exceptions import ValidationFailed
from salesops.models import Role
from tests.factories import OpportunityFactory, UserFactory
from tests.forecasting.accuracy_data import NOW, Q1_W1, Q1_W6, Q2_W1, Q2_W6, at, build

D = Decimal


@pytest.fixture
def data(db, rep, teammate, manager, other_rep, other_manager, pipeline):
    return build(
        rep=rep,
        teammate=teammate,
        manager=manager,
        other_rep=other_rep,
        other_manager=other_manager,
        pipeline=pipeline,
    )


def report_for(user, **kwargs):
    return forecast_accuracy(user, **{"periods": 2, "now": NOW, **kwargs})


def rows(report) -> dict:
    return {
        (r.person_id, r.level, r.period, r.checkpoint): (
            r.submission_id,
            r.submitted,
            r.actual,
            r.error,
            r.accuracy,
            r.note,
        )
        for r in report.rows
    }


def people(report) -> dict:
    return {
        (p.person_id, p.level, p.checkpoint): (
            p.periods,
            p.calls,
            p.accuracy,
            p.bias,
            p.bias_ratio,
            p.note,
        )
        for p in report.by_person
    }


# --- pure: the checkpoints --------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "kind", "week", "expected"),
    [
        # 1 Jan 2026 is a Thursday: week 1 is Thu-Sun, its cutoff the Monday 5 Jan.
        (dt.date(2026, 1, 1), "quarter", 1, dt.date(2026, 1, 5)),
        (dt.date(2026, 1, 1), "quarter", 6, dt.date(2026, 2, 9)),
        # A period that starts on a Monday: week 1 is a full week.
        (dt.date(2026, 6, 1), "month", 1, dt.date(2026, 6, 8)),
        # …starting on a Sunday: week 1 is that one day.
        (dt.date(2026, 3, 1), "month", 1, dt.date(2026, 3, 2)),
        # Week 13 of Q1 2024 (starts Monday 1 Jan) would end on 1 Apr: capped at the end.
        (dt.date(2024, 1, 1), "quarter", 13, dt.date(2024, 4, 1)),
        # Week 13 of Q2 2026 (starts on a Wednesday) ends 29 Jun, inside the quarter.
        (dt.date(2026, 4, 1), "quarter", 13, dt.date(2026, 6, 29)),
    ],
)
def test_checkpoint_cutoff(start, kind, week, expected):
    period = rules.FiscalCalendar(1).period_of(start, kind)
    assert checkpoint_cutoff(period, week) == expected


# --- the numbers ------------------------------------------------------------------------


def test_manager_sees_every_row_computed_by_hand(data, manager, rep, teammate):
    report = report_for(manager)
    assert [p.label for p in report.periods] == ["2026-Q1", "2026-Q2"]
    assert (report.currency, report.kind, report.checkpoints) == ("EUR", "quarter", (1, 6))
    team = data.team_a.pk
    assert rows(report) == {
        (rep.pk, "rep", "2026-Q1", 1): (data.r2.pk, D("90000"), D("100000"), D("-10000"), 0.9, ""),
        (rep.pk, "rep", "2026-Q1", 6): (data.r2.pk, D("90000"), D("100000"), D("-10000"), 0.9, ""),
        (rep.pk, "rep", "2026-Q2", 1): (None, None, D("50000"), None, None, "no call"),
        (rep.pk, "rep", "2026-Q2", 6): (data.r4.pk, D("65000"), D("50000"), D("15000"), 0.7, ""),
        (teammate.pk, "rep", "2026-Q1", 1): (None, None, D("0"), None, None, "no call"),
        (teammate.pk, "rep", "2026-Q1", 6): (
            data.t.pk, D("5000"), D("0"), D("5000"), None, "no closed won"
        ),
        (teammate.pk, "rep", "2026-Q2", 1): (None, None, D("40000"), None, None, "no call"),
        (teammate.pk, "rep", "2026-Q2", 6): (None, None, D("40000"), None, None, "no call"),
        (data.newbie.pk, "rep", "2026-Q2", 6): (None, None, D("0"), None, None, "no call"),
        (manager.pk, "team", "2026-Q1", 1): (
            data.m1.pk, D("95000"), D("100000"), D("-5000"), 0.95, ""
        ),
        (manager.pk, "team", "2026-Q1", 6): (
            data.m2.pk, D("120000"), D("100000"), D("20000"), 0.8, ""
        ),
        (manager.pk, "team", "2026-Q2", 1): (data.m3.pk, D("110000"), D("110000"), D("0"), 1.0, ""),
        (manager.pk, "team", "2026-Q2", 6): (data.m3.pk, D("110000"), D("110000"), D("0"), 1.0, ""),
    }  # fmt: skip
    by_key = {(r.person_id, r.level, r.period, r.checkpoint): r for r in report.rows}
    first = by_key[(rep.pk, "rep", "2026-Q1", 1)]
    assert (first.best_case, first.best_case_error) == (D("130000"), D("30000"))
    assert (first.cutoff, first.submitted_at) == (Q1_W1, at(2026, 1, 4, 23, 0))
    assert by_key[(rep.pk, "rep", "2026-Q1", 6)].cutoff == Q1_W6
    assert by_key[(rep.pk, "rep", "2026-Q2", 1)].cutoff == Q2_W1
    assert by_key[(rep.pk, "rep", "2026-Q2", 6)].cutoff == Q2_W6
    assert (first.team_id, first.team_name) == (team, "Team A")
    assert by_key[(teammate.pk, "rep", "2026-Q1", 6)].team_name == "Team A1"
    assert by_key[(manager.pk, "team", "2026-Q1", 1)].team_id == team


def test_manager_sees_the_per_person_figures_computed_by_hand(data, manager, rep, teammate):
    assert people(report_for(manager)) == {
        (rep.pk, "rep", 1): (2, 1, 0.9, D("-10000.00"), -0.1, ""),
        (rep.pk, "rep", 6): (2, 2, 0.8, D("2500.00"), 0.0333, ""),
        (teammate.pk, "rep", 1): (2, 0, None, None, None, "no call"),
        (teammate.pk, "rep", 6): (2, 1, None, D("5000.00"), None, "no closed won"),
        (data.newbie.pk, "rep", 6): (1, 0, None, None, None, "no call"),
        (manager.pk, "team", 1): (2, 2, 0.975, D("-2500.00"), -0.0238, ""),
        (manager.pk, "team", 6): (2, 2, 0.9, D("10000.00"), 0.0952, ""),
    }


def test_rows_are_ordered_by_level_name_then_period_and_checkpoint(data, manager):
    report = report_for(manager)
    assert [(p.person_name, p.checkpoint) for p in report.by_person] == [
        ("Nina Newbie", 6),
        ("Rita Rep", 1),
        ("Rita Rep", 6),
        ("Tom Teammate", 1),
        ("Tom Teammate", 6),
        ("Mia Manager", 1),
        ("Mia Manager", 6),
    ]
    rita = [(r.period, r.checkpoint) for r in report.rows if r.person_name == "Rita Rep"]
    assert rita == [("2026-Q1", 1), ("2026-Q1", 6), ("2026-Q2", 1), ("2026-Q2", 6)]


def test_percentages_for_display(data, manager, rep):
    person = {(p.person_id, p.level, p.checkpoint): p for p in report_for(manager).by_person}
    rep_6 = person[(rep.pk, "rep", 6)]
    assert (rep_6.accuracy_percent, rep_6.bias_percent) == (D("80.0"), D("3.3"))
    team_1 = person[(data.team_a.manager_id, "team", 1)]
    assert (team_1.accuracy_percent, team_1.bias_percent) == (D("97.5"), D("-2.4"))


def test_leader_sees_everyone_and_a_call_in_another_currency(data, leader, other_rep):
    report = report_for(leader)
    found = rows(report)
    assert found[(other_rep.pk, "rep", "2026-Q1", 1)] == (
        None, None, D("70000"), None, None, "no call"
    )  # fmt: skip
    assert found[(other_rep.pk, "rep", "2026-Q2", 6)] == (
        data.o.pk, None, D("0"), None, None, "call in USD"
    )  # fmt: skip
    team_b_manager = other_rep.team.manager_id
    assert found[(team_b_manager, "team", "2026-Q1", 1)] == (
        None, None, D("70000"), None, None, "no call"
    )  # fmt: skip
    # Everyone of the manager's view is there too, with the same numbers.
    assert len(report.rows) == 13 + 4 + 4  # Team A's 13, other_rep's 4, Team B's 4
    by_person = people(report)
    assert by_person[(other_rep.pk, "rep", 6)] == (2, 0, None, None, None, "no call")


def test_rep_sees_themselves_only(data, rep):
    report = report_for(rep)
    assert {r.person_id for r in report.rows} == {rep.pk}
    assert len(report.rows) == 4
    assert people(report)[(rep.pk, "rep", 6)] == (2, 2, 0.8, D("2500.00"), 0.0333, "")


def test_filters_person_level_and_team(data, manager, rep, teammate):
    by_person = report_for(manager, person_id=teammate.pk)
    assert {r.person_id for r in by_person.rows} == {teammate.pk}
    assert by_person.person_id == teammate.pk
    team_level = report_for(manager, level="team")
    assert {(r.person_id, r.level) for r in team_level.rows} == {(manager.pk, "team")}
    sub_team = report_for(manager, team_id=data.team_a1.pk)
    assert {r.person_id for r in sub_team.rows} == {teammate.pk}
    team_a = report_for(manager, team_id=data.team_a.pk)
    assert {(r.person_id, r.level) for r in team_a.rows} == {
        (rep.pk, "rep"),
        (teammate.pk, "rep"),
        (data.newbie.pk, "rep"),
        (manager.pk, "team"),
    }
    assert report_for(manager, person_id=str(manager.pk), level="rep").rows == []


def test_checkpoints_kind_and_periods(data, manager, rep):
    report = report_for(manager, person_id=rep.pk, checkpoints="7, 1")
    assert report.checkpoints == (1, 7)
    # Week 7 of Q1 ends Mon 16 Feb: R3 (9 Feb 00:30) stands then.
    row = next(r for r in report.rows if (r.period, r.checkpoint) == ("2026-Q1", 7))
    assert (row.submission_id, row.error, row.accuracy) == (data.r3.pk, D("100000"), 0.0)
    months = forecast_accuracy(manager, kind="month", periods=3, now=NOW, person_id=rep.pk)
    assert [p.label for p in months.periods] == ["2026-04", "2026-05", "2026-06"]
    assert months.checkpoints == (1, 3)
    # No monthly calls: owed, so "no call" against each month's closed won (May: 50,000).
    assert {(r.period, r.checkpoint): (r.actual, r.note) for r in months.rows} == {
        ("2026-04", 1): (D("0"), "no call"),
        ("2026-04", 3): (D("0"), "no call"),
        ("2026-05", 1): (D("50000"), "no call"),
        ("2026-05", 3): (D("50000"), "no call"),
        ("2026-06", 1): (D("0"), "no call"),
        ("2026-06", 3): (D("0"), "no call"),
    }
    one = forecast_accuracy(manager, periods=1, now=NOW, person_id=rep.pk)
    assert [p.label for p in one.periods] == ["2026-Q2"]


def test_a_period_that_is_not_over_is_left_out(data, manager):
    # On 30 June 2026 Q2 is not over yet: the closed quarters are 2025-Q4 and 2026-Q1.
    report = forecast_accuracy(manager, periods=2, now=at(2026, 6, 30))
    assert [p.label for p in report.periods] == ["2025-Q4", "2026-Q1"]
    # And at 00:00 on 1 July it is.
    report = forecast_accuracy(manager, periods=1, now=at(2026, 7, 1, 0, 0))
    assert [p.label for p in report.periods] == ["2026-Q2"]


def test_a_rep_who_had_not_started_owes_no_call(data, manager):
    report = report_for(manager)
    newbie = {(r.period, r.checkpoint) for r in report.rows if r.person_id == data.newbie.pk}
    assert newbie == {("2026-Q2", 6)}


def test_an_inactive_rep_keeps_their_calls_but_owes_none(data, manager, rep):
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    report = report_for(manager)
    # Q1 had calls (both checkpoints kept); Q2 only the week-6 call, week 1 ("no call")
    # is shown because the rep called in that period.
    assert {(r.period, r.checkpoint, r.note) for r in report.rows if r.person_id == rep.pk} == {
        ("2026-Q1", 1, ""),
        ("2026-Q1", 6, ""),
        ("2026-Q2", 1, "no call"),
        ("2026-Q2", 6, ""),
    }


def test_other_currency_report(data, leader, rep, other_rep):
    report = report_for(leader, currency="usd")
    assert report.currency == "USD"
    found = rows(report)
    assert found[(other_rep.pk, "rep", "2026-Q2", 6)] == (
        data.o.pk, D("1000"), D("0"), D("1000"), None, "no closed won"
    )  # fmt: skip
    assert found[(rep.pk, "rep", "2026-Q2", 6)] == (
        data.r4.pk, None, D("30000"), None, None, "call in EUR"
    )  # fmt: skip


# --- scope and refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "kwargs"),
    [
        ("rep", {"person_id": "teammate"}),
        ("rep", {"team_id": "team_a"}),
        ("manager", {"person_id": "other_rep"}),
        ("manager", {"team_id": "team_b"}),
        ("leader", {"person_id": 999999999}),
        ("leader", {"team_id": 999999999}),
        ("leader", {"person_id": "abc"}),
        ("leader", {"team_id": "1.5"}),
        ("leader", {"person_id": "0"}),
    ],
)
def test_outside_the_scope_is_a_404(data, request, who, kwargs):
    cast = {
        "teammate": lambda: request.getfixturevalue("teammate").pk,
        "other_rep": lambda: request.getfixturevalue("other_rep").pk,
        "team_a": lambda: data.team_a.pk,
        "team_b": lambda: request.getfixturevalue("other_rep").team_id,
    }
    resolved = {k: cast[v]() if v in cast else v for k, v in kwargs.items()}
    with pytest.raises(Http404):
        report_for(request.getfixturevalue(who), **resolved)


def test_an_inactive_user_gets_a_404(data, manager):
    manager.is_active = False
    with pytest.raises(Http404):
        report_for(manager)


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"level": "boss"}, {"level"}),
        ({"kind": "year"}, {"kind"}),
        ({"periods": 0}, {"periods"}),
        ({"periods": 13}, {"periods"}),
        ({"periods": "x"}, {"periods"}),
        ({"periods": True}, {"periods"}),
        ({"checkpoints": "0"}, {"checkpoints"}),
        ({"checkpoints": "14"}, {"checkpoints"}),
        ({"checkpoints": "1,1"}, {"checkpoints"}),
        ({"checkpoints": "1,2,3,4,5"}, {"checkpoints"}),
        ({"checkpoints": "a"}, {"checkpoints"}),
        ({"checkpoints": ","}, {"checkpoints"}),
        ({"checkpoints": 5}, {"checkpoints"}),
        ({"kind": "month", "checkpoints": "5"}, {"checkpoints"}),
        ({"currency": "EURO"}, {"currency"}),
        ({"level": "x", "kind": "x", "currency": "1"}, {"level", "kind", "currency"}),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(data, leader, kwargs, fields):
    arguments = {"periods": 2, **kwargs}
    with pytest.raises(ValidationFailed) as refused:
        forecast_accuracy(leader, now=NOW, **arguments)
    assert set(refused.value.details) == fields


# --- the report as a value: pickle, CSV, the partial ---------------------------------------


def test_the_report_pickles(data, manager):
    report = report_for(manager)
    assert pickle.loads(pickle.dumps(report)) == report


def test_csv_rows_of_both_tables(data, manager, rep, teammate):
    report = report_for(manager, person_id=rep.pk)
    by_person = [[csv_cell(v) for v in row] for row in accuracy_csv_rows(report)]
    assert by_person[0][:3] == ["person_id", "person", "level"]
    assert by_person[1:] == [
        [str(rep.pk), "Rita Rep", "rep", str(data.team_a.pk), "Team A", "1", "2", "1",
         "90.0", "-10000.00", "-10.0", ""],
        [str(rep.pk), "Rita Rep", "rep", str(data.team_a.pk), "Team A", "6", "2", "2",
         "80.0", "2500.00", "3.3", ""],
    ]  # fmt: skip
    detail = [[csv_cell(v) for v in row] for row in accuracy_csv_rows(report, "rows")]
    assert len(detail) == 5
    header = detail[0]
    no_call = dict(zip(header, detail[3], strict=True))
    assert (no_call["period"], no_call["checkpoint_week"]) == ("2026-Q2", "1")
    assert (no_call["submitted_commit"], no_call["actual_closed_won"]) == ("", "50000.00")
    assert (no_call["accuracy_percent"], no_call["note"]) == ("", "no call")
    called = dict(zip(header, detail[4], strict=True))
    assert (called["submission_id"], called["error"]) == (str(data.r4.pk), "15000.00")
    assert called["cutoff"] == "2026-05-11T00:00:00+02:00"
    with pytest.raises(ValueError, match="table"):
        accuracy_csv_rows(report, "other")  # type: ignore[arg-type]


def test_the_partial_renders_the_by_person_table(data, manager, rep, teammate):
    html = render_to_string(
        "forecasting/partials/accuracy_table.html", {"accuracy": report_for(manager)}
    )
    assert html.count('data-testid="accuracy-row"') == 7
    assert "Rita Rep" in html and "Team A1" in html
    assert "80.0 %" in html and "97.5 %" in html
    assert "+2,500.00" in html or "+2500.00" in html
    assert "text-danger" in html and "text-primary" in html  # over and under
    assert "no call" in html and "no closed won" in html
    assert "Week 1" in html and "Week 6" in html
    empty = render_to_string(
        "forecasting/partials/accuracy_table.html",
        {"accuracy": report_for(manager, person_id=manager.pk, level="rep")},
    )
    assert 'data-testid="accuracy-empty"' in empty


# --- queries --------------------------------------------------------------------------------


def _more_people_and_calls(team, pipeline, count: int) -> None:
    for i in range(count):
        person = UserFactory(role=Role.REP, team=team, started_on=dt.date(2025, 1, 1))
        OpportunityFactory(
            owner=person, stage=pipeline.won, amount=D("1000"), close_date=dt.date(2026, 2, 2),
            status=OpportunityStatus.WON, closed_at=at(2026, 2, 2),
        )  # fmt: skip
        for when, period in ((at(2026, 1, 2), "2026-Q1"), (at(2026, 4, 2), "2026-Q2")):
            forecast_submit(
                actor=person, period=period, commit=str(500 + i), best_case="2000", now=when
            )


@pytest.mark.parametrize("who", ["leader", "manager"])
def test_the_query_count_does_not_grow(
    data, request, pipeline, rep, teammate, who, django_assert_num_queries
):
    user = request.getfixturevalue(who)
    with django_assert_num_queries(4):
        small = report_for(user)
    _more_people_and_calls(data.team_a, pipeline, 12)
    with django_assert_num_queries(4):
        large = report_for(user, periods=4)
    assert len(large.rows) > len(small.rows) + 12 * 4
    with django_assert_num_queries(5):  # + the person asked for
        report_for(user, person_id=teammate.pk)


def test_submissions_are_only_read(data, manager):
    before = list(ForecastSubmission.objects.order_by("pk").values())
    report_for(manager)
    assert list(ForecastSubmission.objects.order_by("pk").values()) == before


# --- pure: the arithmetic (forecasting.computations) ----------------------------------------


@pytest.mark.parametrize(
    ("submitted", "actual", "error", "accuracy"),
    [
        (D("90"), D("100"), D("-10"), D("0.9")),  # under-forecast
        (D("120"), D("100"), D("20"), D("0.8")),  # over-forecast
        (D("100"), D("100"), D("0"), D("1")),  # exact
        (D("300"), D("100"), D("200"), D("-1")),  # off by twice the actual: below 0, kept
        (D("0"), D("100"), D("-100"), D("0")),  # called nothing
        (D("50"), D("0"), D("50"), None),  # nothing won: no accuracy
        (None, D("100"), None, None),  # no call
    ],
)
def test_error_and_accuracy(submitted, actual, error, accuracy):
    assert computations.forecast_error(submitted, actual) == error
    assert computations.forecast_accuracy(submitted, actual) == accuracy


def test_accuracy_summary_per_group():
    frame = pd.DataFrame(
        [
            (0, D("90"), D("100")),  # −10, 0.9
            (0, D("130"), D("100")),  # +30, 0.7
            (0, None, D("80")),  # no call: counted as a period, not a call
            (1, None, D("10")),
            (2, D("5"), D("0")),  # a call, no accuracy; Σ actual 0: no ratio
            (3, D("2"), D("3")),  # 1 − 1/3 = 0.6667, bias −1, ratio −1/3
        ],
        columns=computations.ACCURACY_COLUMNS,
    )
    summary = computations.accuracy_summary(frame)
    assert list(summary.columns) == computations.ACCURACY_SUMMARY_COLUMNS
    got = {
        r.group: (r.periods, r.calls, r.accuracy, r.accuracy_periods, r.bias, r.bias_ratio)
        for r in summary.itertuples(index=False)
    }
    assert got[0] == (3, 2, 0.8, 2, D("10.00"), 0.1)  # 20 / 200
    assert got[1][:2] == (1, 0) and got[1][4] is None
    assert pd.isna(got[1][2]) and pd.isna(got[1][5])
    assert got[2][:2] == (1, 1) and got[2][4] == D("5.00")
    assert pd.isna(got[2][2]) and pd.isna(got[2][5])
    assert got[3] == (1, 1, 0.6667, 1, D("-1.00"), -0.3333)
