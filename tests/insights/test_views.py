"""The insights page: results with sorting and CSV, the top performers, the ranked gaps
with their charts, suggestions with accept/dismiss, experiments; a rep's own results."""

from __future__ import annotations

import csv
import io

import pytest

from insights import services
from insights.models import Suggestion, SuggestionStatus
from pipeline import services as pipeline_services
from pipeline.models import Milestone, StageRuleChange
from tests.insights.data import build_team, one_worked_deal

URL = "/insights/"


@pytest.fixture
def team8(pipeline, team_a, manager):
    return build_team(pipeline, team_a)


def test_the_leader_sees_the_top_group_the_first_gap_and_the_suggestion(client, team8, leader):
    services.suggestions_refresh()
    client.force_login(leader)
    page = client.get(URL).content.decode()
    for top in team8.top:
        assert str(top) in page
    assert f"&#x27;{team8.optional.title}&#x27; done before leaving Proposal" in page
    assert "2 vs 6 reps, 30 deals" in page
    assert 'data-testid="gap-chart"' in page
    assert "<title>Top performer: 100 % (2 reps)</title>" in page
    assert f"Require &#x27;{team8.optional.title}&#x27;" in page  # the open suggestion
    assert 'data-testid="accept"' in page  # a leader decides, as they edit the stages


def test_results_sort_and_csv(client, team8, leader):
    client.force_login(leader)
    page = client.get(URL, {"sort": "-label"}).content.decode()
    names = sorted((str(u) for u in team8.reps), key=str.lower)
    assert page.index(names[0]) < page.index(names[-1])
    response = client.get(URL, {"format": "csv", "group_by": "team"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Team", "Created", "Closed", "Won", "Lost"]
    assert rows[1][2:5] == ["64", "30", "34"] and rows[-1][0] == "All"


def test_a_rep_sees_only_their_results(client, team8):
    rep = team8.rest[0]
    client.force_login(rep)
    page = client.get(URL, {"group_by": "team", "rank_by": "win_rate"}).content.decode()
    assert "Your results" in page and str(rep) in page
    assert 'data-testid="my-figures"' in page and "3 / 8" in page  # won / closed
    assert str(team8.top[0]) not in page
    assert "What the top performers do differently" not in page


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ({"start": "07/12/2026"}, "Enter a date as YYYY-MM-DD."),
        ({"start": "2026-06-01", "end": "2026-01-01"}, "The end comes before the start."),
        ({"rank_by": "height"}, "rank_by"),
        ({"sort": "height"}, "sort"),
        ({"min_closed": "-3"}, "min_closed"),
    ],
)
def test_bad_input_is_a_422_saying_what(client, leader, query, text):
    client.force_login(leader)
    response = client.get(URL, query)
    assert response.status_code == 422
    assert text in response.content.decode()


def test_an_admin_accepts_on_the_page_and_the_stage_requires_it(client, team8, admin_user):
    services.suggestions_refresh()
    suggestion = Suggestion.objects.get()
    client.force_login(admin_user)
    assert 'data-testid="accept"' in client.get(URL).content.decode()
    response = client.post(f"/insights/suggestions/{suggestion.pk}/accept/", follow=True)
    assert "The stage&#x27;s rules are now version 2" in response.content.decode()
    assert Milestone.objects.get(pk=team8.optional.pk).required is True
    assert "v2" in client.get(URL).content.decode()  # the experiment it opened


def test_dismiss_without_a_reason_changes_nothing(client, team8, admin_user):
    services.suggestions_refresh()
    suggestion = Suggestion.objects.get()
    client.force_login(admin_user)
    response = client.post(
        f"/insights/suggestions/{suggestion.pk}/dismiss/", {"reason": " "}, follow=True
    )
    assert "Not dismissed" in response.content.decode()
    assert Suggestion.objects.get().status == SuggestionStatus.OPEN
    assert not StageRuleChange.objects.exists()
    client.post(f"/insights/suggestions/{suggestion.pk}/dismiss/", {"reason": "Done by legal."})
    assert Suggestion.objects.get().dismiss_reason == "Done by legal."
    assert Suggestion.objects.get().decided_at is not None


def test_page_queries_do_not_grow_with_reps(
    client, leader, admin_user, rep, pipeline, team_a, manager, django_assert_num_queries
):
    """One rep with one deal, one rule change and one suggestion; then eight more reps
    with 64 deals and their history: the same queries."""
    one_worked_deal(pipeline, rep, closer=leader)
    optional = Milestone.objects.get(stage__pipeline=pipeline, required=False)
    Suggestion.objects.create(
        stage=optional.stage, kind="require_milestone", behaviour="x", title="Require it",
        created_at=optional.stage.pipeline.opportunities.get().created_at,
    )  # fmt: skip
    pipeline_services.milestone_update(milestone_id=optional.pk, actor=admin_user, required=True)
    pipeline_services.milestone_update(milestone_id=optional.pk, actor=admin_user, required=False)
    client.force_login(leader)
    client.get(URL)
    with django_assert_num_queries(PAGE_QUERIES) as few:
        assert client.get(URL).status_code == 200
    build_team(pipeline, team_a)
    services.suggestions_refresh()
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(URL).status_code == 200


# The session and its user, the scope's people, the results table and stage flow with
# their labels, the study's summed facts with their labels, open suggestions, the
# experiments (each read refreshing the queued facts first: 4 queries when none are
# queued), the teams filter, the navbar's counts.
PAGE_QUERIES = 33


def test_a_manager_reads_the_suggestions_but_does_not_decide(client, team8, manager):
    services.suggestions_refresh()
    client.force_login(manager)
    page = client.get(URL).content.decode()
    assert f"Require &#x27;{team8.optional.title}&#x27;" in page
    assert 'data-testid="accept"' not in page
