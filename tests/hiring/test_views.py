"""The hiring pages: the scorecard form (errors keep what was entered, nothing half-saved),
independence on the pages, the decision grid, and fixed query counts."""

from __future__ import annotations

import pytest

from hiring import services
from hiring.models import (
    AttributeRating,
    Candidate,
    Interview,
    Position,
    Scorecard,
    ScorecardTemplate,
)
from tests.hiring.conftest import fill, schedule


def test_the_scorecard_form_keeps_what_was_entered_and_saves_nothing_when_refused(
    client, candidate, recruiter, interviewer_a
):
    interview = schedule(recruiter, candidate, interviewer_a, "Discovery", "Coachability")
    discovery, coachability = (
        interview.focus.get(name="Discovery"),
        interview.focus.get(name="Coachability"),
    )
    client.force_login(interviewer_a)
    url = f"/hiring/interviews/{interview.pk}/scorecard/"
    page = client.get(url)
    assert page.status_code == 200 and b"Suggested questions" in page.content
    refused = client.post(
        url,
        {
            f"rating_{discovery.pk}": "9",
            f"evidence_{discovery.pk}": "Asked why twice",
            "recommendation": "4",
            "summary": "Promising",
            "save": "1",
        },
    )
    assert refused.status_code == 400
    assert "Rate from 1 (Definitely not) to 5 (Strong yes)." in refused.content.decode()
    assert b"Asked why twice" in refused.content and b"Promising" in refused.content
    assert not AttributeRating.objects.exists()
    assert Scorecard.objects.get(interview=interview).recommendation is None

    incomplete = client.post(
        url,
        {f"rating_{discovery.pk}": "4", f"evidence_{discovery.pk}": "Asked why twice",
         "recommendation": "4", "submit": "1"},
    )  # fmt: skip
    assert incomplete.status_code == 400  # Coachability is missing: saved as a draft only
    assert f"Rate {coachability.name}." in incomplete.content.decode()
    stored = Scorecard.objects.get(interview=interview)
    assert stored.submitted_at is None and stored.ratings.get().rating == 4

    done = client.post(
        url,
        {f"rating_{discovery.pk}": "4", f"evidence_{discovery.pk}": "Asked why twice",
         f"rating_{coachability.pk}": "5", f"evidence_{coachability.pk}": "Took the feedback",
         "recommendation": "5", "submit": "1"},
    )  # fmt: skip
    assert done.status_code == 302 and done.url == f"/hiring/candidates/{candidate.pk}/"
    assert Scorecard.objects.get(interview=interview).submitted_at is not None
    assert client.post(url, {"recommendation": "1", "save": "1"}).status_code == 409
    assert Scorecard.objects.get(interview=interview).recommendation == 5


def test_pages_keep_interviewers_independent(
    client, candidate, recruiter, interviewer_a, interviewer_b
):
    first = schedule(recruiter, candidate, interviewer_a, "Discovery")
    second = schedule(recruiter, candidate, interviewer_b, "Discovery")
    fill(interviewer_a, first, 5)
    services.scorecard_submit(actor=interviewer_a, interview_id=first.pk)
    client.force_login(interviewer_b)
    assert client.get(f"/hiring/interviews/{first.pk}/scorecard/").status_code == 404
    page = client.get(f"/hiring/candidates/{candidate.pk}/")
    assert page.status_code == 200 and b"Asked three layers deep" not in page.content
    fill(interviewer_b, second, 4)
    services.scorecard_submit(actor=interviewer_b, interview_id=second.pk)
    assert client.get(f"/hiring/interviews/{first.pk}/scorecard/").status_code == 200
    assert b"Asked three layers deep" in client.get(f"/hiring/candidates/{candidate.pk}/").content


def test_the_decision_page_highlights_disagreement(
    client, candidate, recruiter, manager, interviewer_a, interviewer_b
):
    for who, rating in ((interviewer_a, 5), (interviewer_b, 2)):
        interview = schedule(recruiter, candidate, who, "Discovery")
        fill(who, interview, rating, recommendation=4 if rating > 3 else 2)
        services.scorecard_submit(actor=who, interview_id=interview.pk)
    client.force_login(manager)
    page = client.get(f"/hiring/candidates/{candidate.pk}/decision/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="disagreement"') == 1 and "They disagree" in html
    assert "Not assessed by anyone:" in html and "Past attainment" in html


def test_a_rejection_without_reason_is_refused_on_the_page(client, candidate, manager):
    client.force_login(manager)
    response = client.post(
        f"/hiring/candidates/{candidate.pk}/move/", {"stage": "rejected"}, follow=True
    )
    assert "a reason is required" in response.content.decode()
    candidate.refresh_from_db()
    assert candidate.stage == "applied"


@pytest.mark.parametrize("url", ["/hiring/", "candidate"])
def test_query_counts_do_not_grow_with_candidates_and_interviews(
    client, url, candidate, recruiter, position, interviewer_a, interviewer_b,
    django_assert_num_queries,
):  # fmt: skip
    def page() -> str:
        return url if url.startswith("/") else f"/hiring/candidates/{candidate.pk}/"

    first = schedule(recruiter, candidate, interviewer_a, "Discovery")
    fill(interviewer_a, first, 4)
    services.scorecard_submit(actor=interviewer_a, interview_id=first.pk)
    client.force_login(recruiter)
    client.get(page())
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(page()).status_code == 200
    for n in range(3):
        other = services.candidate_create(actor=recruiter, position_id=position.pk, name=f"C{n}")
        schedule(recruiter, other, interviewer_b, "Discovery")
    more = schedule(recruiter, candidate, interviewer_b, "Discovery", "Coachability")
    fill(interviewer_b, more, 3)
    services.scorecard_submit(actor=interviewer_b, interview_id=more.pk)
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(page()).status_code == 200


# The session and its user, the navbar's counts, then — home: positions, candidates, one's
# interviews, one's own onboarding plan (7); candidate: the candidate, the view's audit
# row, whether one owes a scorecard, the scorecards with their ratings and focus, the
# interviews, and for whoever runs the process the schedule form's attributes and
# colleagues (13).
QUERIES = {"/hiring/": 7, "candidate": 13}


def test_a_recruiter_sets_up_a_position_from_the_pages(
    client, recruiter, team_a, manager, interviewer_a
):
    client.force_login(recruiter)
    created = client.post("/hiring/templates/", {"name": "Account executive"})
    template = ScorecardTemplate.objects.get(name="Account executive")
    assert created.url == f"/hiring/templates/{template.pk}/"
    refused = client.post(
        created.url, {"name": "Discovery", "guidance": "Digs for the real problem"}
    )
    assert refused.status_code == 400 and b"Digs for the real problem" in refused.content
    assert not template.attributes.exists()
    client.post(created.url, {"category": "selling_skill", "name": "Discovery"})
    assert template.attributes.get().name == "Discovery"

    opened = client.post(
        "/hiring/positions/new/",
        {"title": "AE", "team": team_a.pk, "hiring_manager": manager.pk, "template": template.pk},
    )
    position = Position.objects.get(title="AE")
    assert opened.url == f"/hiring/positions/{position.pk}/"
    bad = client.post(opened.url, {"name": "Kim Lee", "email": "kim@"})
    assert bad.status_code == 400 and b"Kim Lee" in bad.content
    assert not Candidate.objects.exists()
    added = client.post(opened.url, {"name": "Kim Lee", "email": "kim@example.com"})
    kim = Candidate.objects.get(name="Kim Lee")
    assert added.url == f"/hiring/candidates/{kim.pk}/"

    url = f"/hiring/candidates/{kim.pk}/interviews/"
    form = {
        "interviewer": interviewer_a.pk,
        "kind": "role_play",
        "scheduled_at": "2030-01-15T10:00",
    }
    no_focus = client.post(url, form, follow=True)
    assert "Choose at least one attribute to assess." in no_focus.content.decode()
    assert not Interview.objects.exists()
    client.post(url, form | {"focus": [template.attributes.get().pk]})
    interview = Interview.objects.get()
    assert (interview.interviewer, interview.scheduled_at.year) == (interviewer_a, 2030)


def test_only_recruiters_reach_the_setup_pages(client, manager, rep):
    for who in (manager, rep):
        client.force_login(who)
        assert client.get("/hiring/templates/").status_code == 403
        assert client.get("/hiring/positions/new/").status_code == 403


def test_the_hiring_manager_hires_from_the_decision_page(client, candidate, manager, team_a):
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    client.force_login(manager)
    page = client.get(f"/hiring/candidates/{candidate.pk}/decision/")
    assert b'data-testid="hire-form"' in page.content
    url = f"/hiring/candidates/{candidate.pk}/hire/"
    refused = client.post(url, {"started_on": "", "role": "rep", "team": team_a.pk,
                                "reason": "Best role play of the quarter"})  # fmt: skip
    assert refused.status_code == 400 and b"Best role play of the quarter" in refused.content
    assert Candidate.objects.get(pk=candidate.pk).hired_user is None
    done = client.post(url, {"started_on": "2027-01-04", "role": "rep", "team": team_a.pk,
                             "reason": "Best role play of the quarter"}, follow=True)  # fmt: skip
    assert "is hired" in done.content.decode() and "invitation" in done.content.decode()
    hired = Candidate.objects.get(pk=candidate.pk)
    assert hired.stage == "hired" and hired.hired_user.started_on.isoformat() == "2027-01-04"


def test_an_administrator_makes_someone_a_recruiter_in_admin(client, admin_user, rep):
    client.force_login(admin_user)
    page = client.get(f"/admin/salesops/user/{rep.pk}/change/")
    assert page.status_code == 200 and b'name="is_recruiter"' in page.content
