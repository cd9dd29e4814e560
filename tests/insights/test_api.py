"""/api/v1/insights/: the figures, the study, suggestions and experiments; errors in the
API's one shape; query counts that do not grow with reps or deals."""

from __future__ import annotations

import pytest
from django.utils import timezone

from insights import facts
from insights.models import Suggestion, SuggestionKind, SuggestionStatus
from pipeline import services
from pipeline.models import Milestone, StageRuleChange
from tests.insights.data import build_team, one_worked_deal

RESULTS = "/api/v1/insights/results/"
BEHAVIOURS = "/api/v1/insights/behaviours/"


@pytest.fixture
def team8(pipeline, team_a, manager):
    return build_team(pipeline, team_a)


def test_results_and_behaviours(key_for, team8, leader):
    client = key_for(leader)
    body = client.get(RESULTS, {"group_by": "rep"}).json()
    assert body["total"]["closed"] == 64 and body["total"]["won"] == 30
    top = next(r for r in body["rows"] if r["key"] == str(team8.top[0].pk))
    assert top["win_rate"] == 0.75 and top["won_amount"] == "300000.00"
    assert body["stage_flow"][0]["stage"] == "Discover"

    study = client.get(BEHAVIOURS, {"rank_by": "win_rate"}).json()
    assert {r["id"] for r in study["reps"] if r["group"] == "top"} == {u.pk for u in team8.top}
    first = study["gaps"][0]
    assert first["key"] == f"milestone:{team8.optional.pk}"
    assert first["distinguishable"] is True and first["effect"]["method"] == "Cliff's delta"
    assert "2 vs 6 reps, 30 deals" in first["sentence"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-06-01", "end": "2026-05-01"}, "end"),
        ({"group_by": "planet"}, "group_by"),
        ({"min_closed": "0"}, "min_closed"),
        ({"currency": "EURO"}, "currency"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "end"),
    ],
)
def test_bad_queries_are_400_naming_the_parameter(key_for, leader, query, field):
    response = key_for(leader).get(RESULTS, query)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details"} and field in body["details"]


def test_reps_get_their_own_results_and_no_study(key_for, team8):
    rep = team8.rest[1]
    client = key_for(rep)
    rows = client.get(RESULTS).json()["rows"]
    assert [r["key"] for r in rows] == [str(rep.pk)]
    assert client.get(RESULTS, {"group_by": "team"}).status_code == 403
    assert client.get(BEHAVIOURS).status_code == 403
    assert client.get(RESULTS, {"team": rep.team_id}).status_code == 404


@pytest.mark.parametrize("url", [RESULTS, BEHAVIOURS, "/api/v1/insights/experiments/"])
def test_query_counts_do_not_grow_with_reps_and_deals(
    key_for, leader, admin_user, rep, pipeline, team_a, manager, url, django_assert_num_queries
):
    """One rep with one worked deal and one rule change, then eight more reps with 64
    deals, their history, milestones and another rule change: the same queries."""
    client = key_for(leader)
    one_worked_deal(pipeline, rep, closer=leader)
    optional = Milestone.objects.get(stage__pipeline=pipeline, required=False)
    services.milestone_update(milestone_id=optional.pk, actor=admin_user, required=True)
    assert client.get(url).status_code == 200  # warm: the memoised organisation, the key
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(url).status_code == 200
    services.milestone_update(milestone_id=optional.pk, actor=admin_user, required=False)
    build_team(pipeline, team_a)
    facts.refresh()  # the beat's work: the 64 deals' facts (test_facts counts its queries)
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(url).status_code == 200


# The key, the scope's people, then — results: the table, names, quotas, the facts'
# refresh with nothing queued (a savepoint, its lock, the empty queue, its release), the
# stage flow and its stage names (11); behaviours: the table, names, quotas, the refresh,
# the summed facts, the milestones, stage and element labels, the 1:1s and reviews (14);
# experiments: the rule changes, the refresh, one query measuring them all (8).
QUERIES = {RESULTS: 11, BEHAVIOURS: 14, "/api/v1/insights/experiments/": 8}


def _suggestion(team8, pipeline) -> Suggestion:
    return Suggestion.objects.create(
        stage=pipeline.proposal,
        kind=SuggestionKind.REQUIRE_MILESTONE,
        behaviour=f"milestone:{team8.optional.pk}",
        title="Require it",
        proposal={"milestone": team8.optional.pk},
        created_at=timezone.now(),
    )


def test_accept_with_etags(key_for, team8, pipeline, admin_user):
    suggestion = _suggestion(team8, pipeline)
    client = key_for(admin_user)
    url = f"/api/v1/insights/suggestions/{suggestion.pk}/"
    etag = client.get(url)["ETag"]
    stale = client.post(f"{url}accept/", HTTP_IF_MATCH='"99"')
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    assert not StageRuleChange.objects.exists()
    done = client.post(f"{url}accept/", HTTP_IF_MATCH=etag)
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "accepted" and done.json()["rule_change"]
    again = client.post(f"{url}accept/")
    assert again.status_code == 409 and again.json()["code"] == "suggestion_decided"


def test_dismiss_needs_a_reason(key_for, team8, pipeline, admin_user):
    suggestion = _suggestion(team8, pipeline)
    client = key_for(admin_user)
    url = f"/api/v1/insights/suggestions/{suggestion.pk}/dismiss/"
    empty = client.post(url, {"reason": ""}, format="json")
    assert empty.status_code == 400 and "reason" in empty.json()["details"]
    unknown = client.post(url, {"reason": "x", "why": "y"}, format="json")
    assert unknown.status_code == 400 and "why" in unknown.json()["details"]
    assert Suggestion.objects.get().status == SuggestionStatus.OPEN
    ok = client.post(url, {"reason": "Covered by legal."}, format="json")
    assert ok.status_code == 200 and ok.json()["dismiss_reason"] == "Covered by legal."


def test_a_manager_may_read_suggestions_but_not_decide(key_for, team8, pipeline, manager):
    suggestion = _suggestion(team8, pipeline)
    client = key_for(manager)
    assert client.get("/api/v1/insights/suggestions/").json()[0]["id"] == suggestion.pk
    refused = client.post(f"/api/v1/insights/suggestions/{suggestion.pk}/accept/")
    assert refused.status_code == 403
    assert client.get("/api/v1/insights/suggestions/abc/").status_code == 404
    assert client.get("/api/v1/insights/experiments/999/").status_code == 404


def test_other_currencies_are_counted_not_summed(key_for, team8, leader):
    team8.deals[0].__class__.objects.filter(pk=team8.deals[0].pk).update(currency="USD")
    row = next(
        r
        for r in key_for(leader).get(RESULTS).json()["rows"]
        if r["key"] == str(team8.deals[0].owner_id)
    )
    assert row["won"] == 6 and row["won_in_other_currencies"] == 1
    assert row["won_amount"] == "250000.00"


def test_one_person_with_their_stage_flow(key_for, team8, leader, other_manager):
    rep = team8.rest[0]
    body = key_for(leader).get(RESULTS, {"owner": rep.pk}).json()
    assert [r["key"] for r in body["rows"]] == [str(rep.pk)]
    flow = {f["stage"]: f for f in body["stage_flow"]}
    assert (flow["Proposal"]["entered"], flow["Proposal"]["advanced"]) == (8, 3)
    assert key_for(other_manager).get(RESULTS, {"owner": rep.pk}).status_code == 404
    assert key_for(rep).get(RESULTS, {"owner": team8.top[0].pk}).status_code == 404
    assert key_for(leader).get(RESULTS, {"owner": "x1"}).status_code == 400
