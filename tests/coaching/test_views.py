"""The coaching pages through the Django test client: the framework, the skills matrix
(scope, trends, accessibility, query counts) and the assessment form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coaching.models import SkillAssessment
from tests.coaching.conftest import assess
from tests.factories import UserFactory


def url(name):
    return reverse(f"coaching:{name}")


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def _count_queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_framework_page_shows_levels_and_guides(logged_in, rep, skills):
    body = logged_in(rep).get(url("skills")).content.decode()
    assert body.count('data-testid="skill"') == 8
    assert "Questions to ask" in body and "Common mistakes" in body
    assert skills[0].level_5 in body
    assert "Assess a skill" not in body  # reps assess nobody


def test_navbar_has_coaching_for_everyone(logged_in, rep):
    body = logged_in(rep).get(reverse("pipeline:board")).content.decode()
    assert 'data-testid="nav-coaching"' in body


def test_matrix_shows_levels_trends_with_text(logged_in, rep, teammate, manager, skills):
    assess(rep, skills[0], 2, by=manager, days_ago=20)
    assess(rep, skills[0], 4, by=manager, days_ago=1)
    assess(rep, skills[1], 3, by=manager, days_ago=20)
    assess(rep, skills[1], 1, by=manager, days_ago=1)
    body = logged_in(manager).get(url("matrix")).content.decode()
    assert body.count('data-testid="matrix-row"') == 2
    assert "so-heat-4" in body and "▲" in body and "up from 2" in body
    assert "▼" in body and "down from 3" in body
    assert "not assessed" in body  # not colour alone
    assert f"?rep={rep.pk}&amp;skill={skills[0].pk}" in body


def test_rep_sees_their_own_row_only(logged_in, rep, teammate, manager, skills):
    assess(teammate, skills[0], 3, by=manager)
    response = logged_in(rep).get(url("matrix"))
    rows = response.context["matrix"].rows
    assert [r.rep for r in rows] == [rep]
    assert 'data-testid="team-picker"' not in response.content.decode()


def test_team_of_another_manager_is_404(logged_in, manager, team_b, skills):
    assert logged_in(manager).get(url("matrix"), {"team": team_b.pk}).status_code == 404


def test_leader_picks_a_team(logged_in, leader, team_a, team_b, rep, other_rep, skills):
    response = logged_in(leader).get(url("matrix"), {"team": team_b.pk})
    assert [r.rep for r in response.context["matrix"].rows] == [other_rep]
    assert 'data-testid="team-picker"' in response.content.decode()


def test_matrix_query_count_is_fixed(
    logged_in, team_a, manager, rep, skills, django_assert_max_num_queries
):
    client = logged_in(manager)
    assess(rep, skills[0], 2, by=manager)
    one = _count_queries(client, url("matrix"))
    for i in range(20):
        member = UserFactory(username=f"member{i}", team=team_a)
        for skill in skills:
            assess(member, skill, 1 + i % 5, by=manager, days_ago=30)
            assess(member, skill, 1 + (i + 2) % 5, by=manager)
    many = _count_queries(client, url("matrix"))
    assert one == many
    # session, user, their team (navbar), the navbar's counts, the teams they manage,
    # the team picker, the skills, the reps, the latest levels.
    with django_assert_max_num_queries(9):
        client.get(url("matrix"), {"team": team_a.pk})


def test_matrix_query_count_for_a_leader(logged_in, leader, manager, rep, skills):
    client = logged_in(leader)
    one = _count_queries(client, url("matrix"))
    for i in range(10):
        assess(UserFactory(username=f"r{i}"), skills[i % 8], 3, by=manager)
    assert _count_queries(client, url("matrix")) == one


# --- the assessment form ----------------------------------------------------------------


def test_rep_is_sent_to_their_matrix(logged_in, rep, skills):
    response = logged_in(rep).get(url("assess"))
    assert response.status_code == 302 and response["Location"] == url("matrix")


def test_form_shows_the_chosen_skills_guide(logged_in, manager, rep, skills):
    response = logged_in(manager).get(url("assess"), {"rep": rep.pk, "skill": skills[2].pk})
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="skill-guide"' in body
    assert skills[2].level_1 in body and skills[2].question_list[0] in body


def test_manager_assesses(logged_in, manager, rep, skills):
    response = logged_in(manager).post(
        url("assess"),
        {"rep": rep.pk, "skill": skills[0].pk, "level": 4, "evidence": "Ran the Acme call"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url('matrix')}?team={rep.team_id}"
    a = SkillAssessment.objects.get()
    assert (a.rep, a.level, a.assessor, a.assessed_on) == (rep, 4, manager, timezone.localdate())


def _post(client, **data):
    return client.post(url("assess"), data)


def test_bad_input_is_shown_and_nothing_saved(logged_in, manager, rep, other_rep, skills):
    client = logged_in(manager)
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = _post(client, rep=rep.pk, skill=skills[0].pk, level=5, assessed_on=future)
    body = response.content.decode()
    assert response.status_code == 422
    assert "cannot be in the future" in body and "Level 5 needs evidence" in body
    response = _post(client, rep=rep.pk, skill=10**6, level=3)
    assert response.status_code == 422 and "Choose a skill of the skills framework" in (
        response.content.decode()
    )
    assert _post(client, rep=rep.pk, skill=skills[0].pk, level=7).status_code == 422
    assert _post(client, rep=other_rep.pk, skill=skills[0].pk, level=3).status_code == 404
    assert SkillAssessment.objects.count() == 0


def test_rep_posting_is_refused(logged_in, rep, teammate, skills):
    response = _post(logged_in(rep), rep=teammate.pk, skill=skills[0].pk, level=3)
    assert response.status_code == 403
    assert SkillAssessment.objects.count() == 0
