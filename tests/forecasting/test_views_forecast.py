"""The forecast page (/forecast/) and the call form (POST /forecast/calls/) through the
Django test client: a rep's numbers, call form and calls; a manager's and a leader's team
roll-up with the team call and its adjustment note; the database after each submit and
each refusal; the CSV downloads; fixed query counts.

Dates are today's (the page's default period is the current fiscal quarter): deals close
today and were won an hour ago, so they are in the current quarter whatever day it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forecasting import selectors
from forecasting.models import ForecastSubmission, Quota
from forecasting.services import forecast_submit, local_today
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

HOME = "/forecast/"
SUBMIT = "/forecast/calls/"


def current():
    return selectors.period_or_current(None)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def deals(rep, teammate, pipeline):
    """rep: won 2,500 (an hour ago), Proposal 10,000 (best case, 60 %), Qualify 4,000
    overridden to commit (25 %); teammate: Proposal 6,000 overridden to commit; a quota of
    20,000 for rep. All closing today, in the current quarter.

    rep: closed won 2,500, commit 4,000, best case 10,000, commit incl. won 6,500, best
    case incl. won 16,500, weighted 6,000 + 1,000 = 7,000, attainment 12.5 %.
    Team A: closed won 2,500, commit 10,000, best case 10,000, weighted 10,600."""
    today = local_today()
    won_at = timezone.now() - dt.timedelta(hours=1)
    p = pipeline
    OpportunityFactory(
        owner=rep, stage=p.won, amount=Decimal("2500"), close_date=today, status="won",
        closed_at=won_at,
    )  # fmt: skip
    OpportunityFactory(owner=rep, stage=p.proposal, amount=Decimal("10000"), close_date=today)
    OpportunityFactory(
        owner=rep, stage=p.qualify, amount=Decimal("4000"), close_date=today,
        forecast_category="commit",
    )  # fmt: skip
    OpportunityFactory(
        owner=teammate, stage=p.proposal, amount=Decimal("6000"), close_date=today,
        forecast_category="commit",
    )  # fmt: skip
    period = current()
    Quota.objects.create(
        period_kind=period.kind.value, period_start=period.start, rep=rep,
        amount=Decimal("20000"), currency="EUR",
    )  # fmt: skip


def call(user, commit, best, **extra):
    return forecast_submit(
        actor=user, period=current().label, commit=commit, best_case=best, **extra
    )


# --- a rep's page -------------------------------------------------------------------------


def test_rep_sees_their_numbers_and_a_form_prefilled_with_them(logged_in, rep, deals):
    response = logged_in(rep).get(HOME)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Forecast · {current().label}" in body
    assert 'data-figure="closed_won">2,500.00<' in body
    assert 'data-figure="commit_cumulative">6,500.00<' in body
    assert 'data-figure="best_case_cumulative">16,500.00<' in body
    assert 'data-figure="weighted_pipeline">7,000.00<' in body
    assert 'data-figure="attainment_percent">12.5 %<' in body
    assert 'data-figure="history_expected">' in body
    form = response.context["form"]
    assert (form["commit"].value(), form["best_case"].value()) == (
        Decimal("6500.00"),
        Decimal("16500.00"),
    )
    assert "adjustment_note" not in form.fields
    assert 'data-testid="team-picker"' not in body
    assert "Not submitted this week" in body
    assert "No call for" in body


def test_rep_sees_latest_call_and_history_with_superseded_marked(logged_in, rep, deals):
    call(rep, "5000", "12000", notes="first")
    call(rep, "6000", "15000", notes="Acme moves up")
    response = logged_in(rep).get(HOME)
    body = response.content.decode()
    assert 'data-testid="latest-commit">6,000.00<' in body
    assert 'data-testid="latest-best-case">15,000.00<' in body
    assert "Submitted this week" in body and "Not submitted this week" not in body
    assert body.count('data-testid="call-row"') == 2
    assert body.count('data-testid="superseded"') == 1
    assert body.count('data-testid="latest"') == 1
    assert "Acme moves up" in body
    # Immutable: nothing to edit or delete on the page.
    assert "Edit" not in body and "Delete" not in body
    form = response.context["form"]  # prefilled with the latest call
    assert (form["commit"].value(), form["notes"].value()) == (Decimal("6000.00"), "Acme moves up")


def test_rep_sees_only_their_own_calls(logged_in, rep, teammate, deals):
    call(teammate, "1", "2", notes="teammate's")
    body = logged_in(rep).get(HOME).content.decode()
    assert "teammate&#x27;s" not in body and "teammate's" not in body
    assert 'data-testid="call-row"' not in body


def test_rep_picking_a_team_is_404(logged_in, rep):
    assert logged_in(rep).get(HOME, {"team": rep.team_id}).status_code == 404


def test_a_month_can_be_picked(logged_in, rep, deals):
    month = selectors.period_or_current(local_today().strftime("%Y-%m"))
    response = logged_in(rep).get(HOME, {"period": month.label})
    assert response.status_code == 200
    assert response.context["page"].period == month
    assert f'<option value="{month.label}" selected>' in response.content.decode()


@pytest.mark.parametrize(
    "period", ["2026-Q9", "nonsense", "x" * 5000, "2026-13", "\x00", "FY0000-Q1", "0000-01"]
)
def test_a_bad_period_shows_the_current_quarter_with_the_error(logged_in, manager, period):
    response = logged_in(manager).get(HOME, {"period": period})
    assert response.status_code == 422
    assert response.context["page"].period == current()
    assert 'data-testid="period-error"' in response.content.decode()


@pytest.mark.parametrize("team", ["abc", "-1", "0", "99999999999999999999", "1e3", " "])
def test_junk_team_is_404_never_500(logged_in, manager, team):
    assert logged_in(manager).get(HOME, {"team": team}).status_code == 404


# --- a manager's and a leader's page -------------------------------------------------------


def test_manager_sees_the_rollup_with_calls_badges_totals_and_sum(
    logged_in, manager, rep, teammate, team_a, deals
):
    call(rep, "6000", "16000")
    response = logged_in(manager).get(HOME)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.team == team_a
    by_name = {r.name: r for r in page.rows}
    assert set(by_name) == {str(rep), str(teammate)}
    assert by_name[str(rep)].call_commit == Decimal("6000.00")
    assert by_name[str(rep)].submitted_this_week is True
    assert by_name[str(teammate)].call_commit is None
    assert by_name[str(teammate)].submitted_this_week is False
    assert by_name[str(rep)].figures.closed_won == Decimal("2500")
    assert (page.calls_sum_commit, page.calls_sum_best_case) == (Decimal("6000"), Decimal("16000"))
    assert page.totals.commit == Decimal("10000")
    body = response.content.decode()
    assert body.count('data-testid="rollup-row"') == 2
    assert body.count('data-testid="submitted-badge"') == 1
    assert body.count('data-testid="not-submitted-badge"') == 1
    assert 'data-testid="sum-commit">6,000<' in body
    assert "1 of 2 reps called" in body
    assert 'data-testid="team-picker"' in body
    # No team call yet: the form opens with the reps' sum, which needs no adjustment note.
    form = response.context["form"]
    assert (form["commit"].value(), form["best_case"].value()) == (
        Decimal("6000"),
        Decimal("16000"),
    )
    assert "adjustment_note" in form.fields
    assert "Not submitted this week" in body  # the manager's own team call


def test_rollup_lists_an_owner_who_owes_no_call(logged_in, manager, rep, pipeline):
    OpportunityFactory(owner=manager, stage=pipeline.proposal, close_date=local_today())
    page = logged_in(manager).get(HOME).context["page"]
    manager_row = next(r for r in page.rows if r.person_id == manager.pk)
    assert manager_row.owes_call is False and manager_row.submitted_this_week is None
    assert {r.person_id for r in page.rows if r.owes_call} == {rep.pk}


def test_manager_cannot_open_another_team(logged_in, manager, team_b):
    assert logged_in(manager).get(HOME, {"team": team_b.pk}).status_code == 404


def test_manager_of_no_team_is_404(logged_in, db):
    from salesops.models import Role

    lonely = UserFactory(username="lonely", role=Role.MANAGER)
    assert logged_in(lonely).get(HOME).status_code == 404


def test_leader_picks_any_team(logged_in, leader, team_a, team_b, other_rep, other_manager):
    response = logged_in(leader).get(HOME, {"team": team_b.pk})
    assert response.status_code == 200
    page = response.context["page"]
    assert page.team == team_b
    assert [r.person_id for r in page.rows] == [other_rep.pk]
    assert [t.pk for t in page.teams] == [team_a.pk, team_b.pk]
    body = response.content.decode()
    try:
        reverse("forecasting:dashboard")
    except Exception:
        assert 'data-testid="dashboard-link"' not in body
    else:
        assert 'data-testid="dashboard-link"' in body


def test_team_calls_history_shows_only_this_teams_calls(
    logged_in, manager, leader, team_a, team_b, rep
):
    call(manager, "0", "0", team_id=team_a.pk)
    call(manager, "10", "20", team_id=team_a.pk, adjustment_note="Pipeline review")
    call(leader, "0", "0", team_id=team_b.pk)
    response = logged_in(manager).get(HOME)
    page = response.context["page"]
    assert [(c.commit, c.next_id is None) for c in page.calls] == [
        (Decimal("10.00"), True),
        (Decimal("0.00"), False),
    ]
    assert page.latest_call.commit == Decimal("10.00")
    assert page.manager_submitted_this_week is True
    body = response.content.decode()
    assert "Pipeline review" in body and "Submitted this week" in body
    form = response.context["form"]  # opens with the manager's latest call
    assert form["commit"].value() == Decimal("10.00")


# --- submitting ---------------------------------------------------------------------------


def test_rep_submits_a_call(logged_in, rep, deals):
    client = logged_in(rep)
    label = current().label
    response = client.post(
        SUBMIT, {"period": label, "commit": "6500", "best_case": "16500", "notes": "On track"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{HOME}?period={label}"
    saved = ForecastSubmission.objects.get()
    assert (saved.submitter, saved.level, saved.team_id) == (rep, "rep", None)
    assert (saved.commit, saved.best_case, saved.notes) == (
        Decimal("6500.00"),
        Decimal("16500.00"),
        "On track",
    )
    assert saved.figures["closed_won"] == "2500.00"
    body = client.get(response["Location"]).content.decode()
    assert f"Your call for {label} is saved: commit 6,500.00, best case 16,500.00 EUR." in body
    assert "Submitted this week" in body


def test_submitting_twice_supersedes(logged_in, rep):
    client = logged_in(rep)
    data = {"period": current().label, "commit": "100", "best_case": "200"}
    assert client.post(SUBMIT, data).status_code == 302
    assert client.post(SUBMIT, data).status_code == 302
    first, second = ForecastSubmission.objects.order_by("id")
    assert second.supersedes_id == first.pk
    assert selectors.submissions_for(rep, latest=True).get() == second


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"commit": "200", "best_case": "100"}, "best_case"),
        ({"commit": "-1", "best_case": "100"}, "commit"),
        ({"commit": "abc", "best_case": "100"}, "commit"),
        ({"commit": "1e30", "best_case": "1e30"}, "commit"),
        ({"commit": "NaN", "best_case": "Infinity"}, "commit"),
        ({"commit": "1.001", "best_case": "2"}, "commit"),
        ({"commit": "", "best_case": ""}, "commit"),
        ({"commit": "1", "best_case": "2", "notes": "x" * 4001}, "notes"),
    ],
)
def test_rep_refusals_re_render_with_the_input_kept(logged_in, rep, data, field):
    response = logged_in(rep).post(SUBMIT, {"period": current().label} | data)
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors
    assert form["commit"].value() == data["commit"]  # what was typed, not the prefill
    assert f'value="{data["commit"]}"' in response.content.decode() or not data["commit"]
    assert ForecastSubmission.objects.count() == 0


def test_a_bad_period_is_refused(logged_in, rep):
    response = logged_in(rep).post(SUBMIT, {"period": "2026-Q7", "commit": "1", "best_case": "2"})
    assert response.status_code == 422
    assert any("quarter must be Q1-Q4" in e for e in response.context["form"].non_field_errors())
    assert response.context["page"].period == current()
    assert ForecastSubmission.objects.count() == 0


def test_a_period_that_is_over_is_409(logged_in, rep):
    past = current().previous()
    response = logged_in(rep).post(SUBMIT, {"period": past.label, "commit": "1", "best_case": "2"})
    assert response.status_code == 409
    body = response.content.decode()
    assert f"{past.label} is over" in body
    assert 'data-testid="period-over"' in body and 'data-testid="call-form"' not in body
    assert ForecastSubmission.objects.count() == 0


def test_a_rep_cannot_submit_for_a_team(logged_in, rep):
    response = logged_in(rep).post(
        SUBMIT, {"period": current().label, "commit": "1", "best_case": "2", "team": rep.team_id}
    )
    assert response.status_code == 403
    assert "not a team" in response.content.decode()
    assert ForecastSubmission.objects.count() == 0


def test_manager_must_give_a_team(logged_in, manager):
    response = logged_in(manager).post(
        SUBMIT, {"period": current().label, "commit": "0", "best_case": "0"}
    )
    assert response.status_code == 422
    assert any("Give the team" in e for e in response.context["form"].non_field_errors())
    assert ForecastSubmission.objects.count() == 0


@pytest.mark.parametrize("team", ["team_b", "abc", "0", "99999999999999999999"])
def test_manager_submitting_for_a_team_not_theirs_is_404(request, logged_in, manager, team):
    team_id = request.getfixturevalue(team).pk if team == "team_b" else team
    response = logged_in(manager).post(
        SUBMIT, {"period": current().label, "commit": "0", "best_case": "0", "team": team_id}
    )
    assert response.status_code == 404
    assert ForecastSubmission.objects.count() == 0


def test_team_call_that_differs_needs_the_adjustment_note(
    logged_in, manager, rep, teammate, team_a, deals
):
    call(rep, "6000", "16000")
    client = logged_in(manager)
    data = {"period": current().label, "team": team_a.pk, "commit": "7000", "best_case": "16000"}
    response = client.post(SUBMIT, data)
    assert response.status_code == 422
    errors = response.context["form"].errors["adjustment_note"]
    assert errors == [
        "The reps' calls add up to 6000.00 commit and 16000.00 best case (EUR): say why the "
        "team's call differs."
    ]
    assert 'value="7000"' in response.content.decode()  # the input is kept
    assert ForecastSubmission.objects.filter(level="team").count() == 0

    response = client.post(SUBMIT, data | {"adjustment_note": "Acme signs early"})
    assert response.status_code == 302
    assert response["Location"] == f"{HOME}?period={current().label}&team={team_a.pk}"
    saved = ForecastSubmission.objects.get(level="team")
    assert (saved.submitter, saved.team, saved.commit, saved.adjustment_note) == (
        manager,
        team_a,
        Decimal("7000.00"),
        "Acme signs early",
    )
    assert {c["rep"]: c["commit"] for c in saved.reps_calls} == {
        rep.pk: "6000.00",
        teammate.pk: None,
    }


def test_team_call_equal_to_the_reps_sum_needs_no_note(logged_in, manager, rep, team_a):
    call(rep, "100", "300")
    response = logged_in(manager).post(
        SUBMIT,
        {"period": current().label, "team": team_a.pk, "commit": "100", "best_case": "300"},
    )
    assert response.status_code == 302
    assert ForecastSubmission.objects.filter(level="team", adjustment_note="").count() == 1


def test_leader_submits_for_any_team(logged_in, leader, team_b):
    response = logged_in(leader).post(
        SUBMIT, {"period": current().label, "team": team_b.pk, "commit": "0", "best_case": "0"}
    )
    assert response.status_code == 302
    assert ForecastSubmission.objects.get().team == team_b


def test_get_on_the_submit_url_is_405(logged_in, rep):
    assert logged_in(rep).get(SUBMIT).status_code == 405


# --- CSV ----------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_rollup_csv(logged_in, manager, rep, teammate, team_a, deals):
    call(rep, "6000", "16000")
    response = logged_in(manager).get(HOME, {"format": "csv", "table": "rollup"})
    assert (
        f"forecast_{current().label}_team-{team_a.pk}_rollup.csv" in response["Content-Disposition"]
    )
    rows = _csv(response)
    assert rows[0][:4] == ["person", "closed_won", "commit", "best_case"]
    by_name = {r[0]: r for r in rows[1:]}
    rep_row = by_name[str(rep)]
    assert rep_row[1:4] == ["2500.00", "4000.00", "10000.00"]
    assert rep_row[7] == "12.5"  # attainment
    assert rep_row[10:13] == ["6000.00", "16000.00", "EUR"]
    assert rep_row[14] == "yes"
    assert by_name[str(teammate)][10] == "" and by_name[str(teammate)][14] == "no"
    total = by_name[f"Total {team_a.name}"]
    assert total[1:4] == ["2500.00", "10000.00", "10000.00"]
    assert by_name["Sum of the reps' calls"][10:12] == ["6000.00", "16000.00"]
    assert len(rows) == 1 + 2 + 2


def test_calls_csv_has_every_call_with_its_status_and_escapes_formulas(logged_in, rep):
    call(rep, "1", "2", notes="=HYPERLINK(1)")
    for _ in range(selectors.FORECAST_PAGE_CALLS):
        call(rep, "3", "4")
    rows = _csv(logged_in(rep).get(HOME, {"format": "csv", "table": "calls"}))
    assert rows[0] == [
        "submitted_at", "submitter", "level", "team", "period", "commit", "best_case",
        "currency", "notes", "adjustment_note", "status",
    ]  # fmt: skip
    assert len(rows) == 1 + selectors.FORECAST_PAGE_CALLS + 1  # all, not only the page's 50
    assert [r[10] for r in rows[1:]].count("latest") == 1
    assert rows[-1][8] == "'=HYPERLINK(1)" and rows[-1][10] == "superseded"


@pytest.mark.parametrize(("who", "table"), [("rep", "rollup"), ("rep", "nope"), ("manager", "x")])
def test_unknown_csv_table_is_404(request, logged_in, who, table):
    client = logged_in(request.getfixturevalue(who))
    assert client.get(HOME, {"format": "csv", "table": table}).status_code == 404


def test_csv_with_a_bad_period_is_the_page_with_the_error(logged_in, rep):
    response = logged_in(rep).get(HOME, {"format": "csv", "table": "calls", "period": "junk"})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")


# --- query counts -------------------------------------------------------------------------


def _count(client, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(HOME, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_rep_page_query_count_is_fixed(logged_in, rep, pipeline, django_assert_num_queries):
    client = logged_in(rep)
    OpportunityFactory(owner=rep, stage=pipeline.proposal, close_date=local_today())
    call(rep, "1", "2")
    one = _count(client)
    for i in range(30):
        OpportunityFactory(owner=rep, stage=pipeline.qualify, close_date=local_today())
        call(rep, str(i), str(i + 1))
    assert _count(client) == one
    # session, user, the navbar's counts (2); the summary (4), the history (4), the calls
    # (1), who has not called this week (1).
    assert one == 14  # + the count of deals imported without stage history
    with django_assert_num_queries(one - 2):  # the CSV has no navbar
        client.get(HOME, {"format": "csv", "table": "calls"})


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_team_page_query_count_is_fixed(
    request, logged_in, team_a, rep, pipeline, django_assert_num_queries, who
):
    user = request.getfixturevalue(who)
    client = logged_in(user)
    OpportunityFactory(owner=rep, stage=pipeline.proposal, close_date=local_today())
    call(rep, "1", "2")
    call(user, "1", "2", team_id=team_a.pk)
    one = _count(client, {"team": team_a.pk})
    for i in range(20):
        member = UserFactory(username=f"member{i}", team=team_a)
        OpportunityFactory(owner=member, stage=pipeline.qualify, close_date=local_today())
        call(member, str(i), str(i + 1))
        call(user, "0", "0", team_id=team_a.pk, adjustment_note="review")
    assert _count(client, {"team": team_a.pk}) == one
    # session, user, the navbar's counts (a manager 2, a leader 1); the teams (1), the
    # summary (3), the reps and their calls (3), who has not called this week (1), the
    # team's calls (1), the history (a manager 5: their teams and the team's subtree; a
    # leader 4).
    navbar = {"manager": 2, "leader": 1}[who]
    assert one == {"manager": 19, "leader": 17}[who]  # incl. the imported-without-stages count
    with django_assert_num_queries(one - navbar):  # the CSV has no navbar
        client.get(HOME, {"team": team_a.pk, "format": "csv", "table": "rollup"})


@pytest.mark.parametrize("period", ["0001-Q1", "0001-01", "9998-Q4", "9998-12", "9999-12"])
@pytest.mark.parametrize("who", ["rep", "manager"])
def test_periods_at_the_ends_of_the_calendar_never_500(request, logged_in, who, period):
    client = logged_in(request.getfixturevalue(who))
    assert client.get(HOME, {"period": period}).status_code in (200, 422)
    response = client.post(SUBMIT, {"period": period, "commit": "1", "best_case": "2"})
    assert response.status_code in (409, 422, 302)
