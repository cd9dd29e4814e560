"""/api/v1/hiring/: the same rules as the pages — independence, a scorecard submitted in
one all-or-nothing call, clear errors — and list query counts that do not grow."""

from __future__ import annotations

import pytest

from hiring import services
from hiring.models import AttributeRating, Candidate, Scorecard
from salesops.models import AuditEvent
from tests.hiring.conftest import fill, schedule


def _submit(client, interview, rating, *, evidence="Dug into the budget owner."):
    return client.post(
        f"/api/v1/hiring/scorecards/{interview.pk}/submit/",
        {
            "ratings": [
                {"attribute": a.pk, "rating": rating, "evidence": evidence}
                for a in interview.focus.all()
            ],
            "recommendation": 4,
        },
        format="json",
    )


def test_a_scorecard_is_submitted_all_or_nothing_and_only_once(
    key_for, candidate, recruiter, interviewer_a
):
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery", "Coachability")
    client = key_for(interviewer_a)
    bad = _submit(client, interview, 7)
    assert bad.status_code == 400
    assert set(bad.json()) == {"code", "message", "details"}
    assert not AttributeRating.objects.exists()
    no_evidence = _submit(client, interview, 4, evidence=" ")
    assert no_evidence.status_code == 400
    assert Scorecard.objects.get(interview=interview).submitted_at is None
    assert not AttributeRating.objects.exists()  # the draft part was rolled back too
    done = _submit(client, interview, 4)
    assert done.status_code == 200 and done.json()["submitted_at"]
    assert sorted(r["rating"] for r in done.json()["ratings"]) == [4, 4]
    again = _submit(client, interview, 1)
    assert again.status_code == 409 and again.json()["code"] == "scorecard_submitted"
    assert set(
        Scorecard.objects.get(interview=interview).ratings.values_list("rating", flat=True)
    ) == {4}


def test_independence_holds_on_the_api(key_for, candidate, recruiter, interviewer_a, interviewer_b):
    first = schedule(recruiter, candidate, interviewer_a, "Discovery")
    second = schedule(recruiter, candidate, interviewer_b, "Discovery")
    fill(interviewer_a, first, 5)
    services.scorecard_submit(actor=interviewer_a, interview_id=first.pk)
    b = key_for(interviewer_b)
    assert b.get(f"/api/v1/hiring/scorecards/{first.pk}/").status_code == 404
    assert _submit(b, second, 3).status_code == 200
    seen = b.get(f"/api/v1/hiring/scorecards/{first.pk}/")
    assert seen.status_code == 200 and seen.json()["ratings"][0]["rating"] == 5


def test_moves_and_the_decision_grid(key_for, candidate, recruiter, manager, interviewer_a, rep):
    hm = key_for(manager)
    refused = hm.post(
        f"/api/v1/hiring/candidates/{candidate.pk}/move/", {"stage": "rejected"}, format="json"
    )
    assert refused.status_code == 400 and "reason" in refused.json()["details"]
    assert Candidate.objects.get(pk=candidate.pk).stage == "applied"
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery")
    fill(interviewer_a, interview, 4)
    services.scorecard_submit(actor=interviewer_a, interview_id=interview.pk)
    grid = hm.get(f"/api/v1/hiring/candidates/{candidate.pk}/decision/").json()
    assert [c["recommendation"] for c in grid["columns"]] == ["Yes"]
    lines = {line["name"]: line for line in grid["lines"]}
    assert lines["Discovery"]["ratings"] == [4] and not lines["Learning agility"]["assessed"]
    assert key_for(rep).get(f"/api/v1/hiring/candidates/{candidate.pk}/").status_code == 404


@pytest.mark.parametrize("url", ["/api/v1/hiring/candidates/", "/api/v1/hiring/positions/"])
def test_list_queries_do_not_grow(
    key_for, url, position, recruiter, interviewer_a, django_assert_num_queries
):
    client = key_for(recruiter)
    services.candidate_create(actor=recruiter, position_id=position.pk, name="One")
    client.get(url)
    with django_assert_num_queries(LIST_QUERIES[url]):
        assert client.get(url).status_code == 200
    for n in range(4):
        services.candidate_create(actor=recruiter, position_id=position.pk, name=f"C{n}")
    services.position_create(
        actor=recruiter, title="SDR", team=position.team_id,
        hiring_manager=position.hiring_manager_id, template=position.template_id,
    )  # fmt: skip
    with django_assert_num_queries(LIST_QUERIES[url]):
        assert client.get(url).status_code == 200
    if "candidates" in url:  # each listed candidate counts as viewed
        assert AuditEvent.objects.filter(action="hiring.candidate_viewed").count() == 1 + 1 + 5


# The key, then the count and the page, and for candidates one insert auditing every
# candidate listed (4); positions prefetch their templates' attributes (4).
LIST_QUERIES = {"/api/v1/hiring/candidates/": 4, "/api/v1/hiring/positions/": 4}


def test_hire_on_the_api(key_for, candidate, manager):
    hm = key_for(manager)
    url = f"/api/v1/hiring/candidates/{candidate.pk}/hire/"
    early = hm.post(url, {"started_on": "2027-01-04", "reason": "Yes"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "candidate_not_at_offer"
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    done = hm.post(url, {"started_on": "2027-01-04", "reason": "Yes"}, format="json")
    assert done.status_code == 200 and done.json()["stage"] == "hired"
    assert Candidate.objects.get(pk=candidate.pk).hired_user_id == done.json()["hired_user"]
