"""/api/v1/skills/ and /api/v1/skill-assessments/: the contract, scope and refusals in
the one error shape."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coaching.models import Skill, SkillAssessment
from tests.coaching.conftest import assess

SKILLS = "/api/v1/skills/"
ASSESSMENTS = "/api/v1/skill-assessments/"
LEVELS = {f"level_{n}": f"Level {n} looks like this." for n in range(1, 6)}


def test_everyone_reads_the_framework_in_order(key_for, rep, skills):
    body = key_for(rep, scopes=("read",)).get(SKILLS).json()
    assert [s["name"] for s in body["results"]][:2] == ["Prospecting", "Discovery"]
    first = body["results"][0]
    assert [lvl["level"] for lvl in first["levels"]] == [1, 2, 3, 4, 5]
    assert first["questions"] and first["common_mistakes"]


def test_admin_writes_the_framework(key_for, admin_user, manager, skills):
    created = key_for(admin_user).post(SKILLS, {"name": "Account planning", **LEVELS})
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    patched = key_for(admin_user).patch(f"{SKILLS}{pk}/", {"is_active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    refused = key_for(manager).post(SKILLS, {"name": "Other", **LEVELS})
    assert refused.status_code == 403
    assert not Skill.objects.filter(name="Other").exists()


def test_unknown_fields_are_refused(key_for, admin_user, manager, rep, skills):
    response = key_for(admin_user).post(SKILLS, {"name": "X", "colour": "red", **LEVELS})
    assert response.status_code == 400 and "colour" in response.json()["details"]
    response = key_for(manager).post(
        ASSESSMENTS,
        {"rep": rep.pk, "skill": skills[0].pk, "level": 2, "assessor": manager.pk},
        format="json",
    )
    assert response.status_code == 400 and set(response.json()) == {"code", "message", "details"}
    assert SkillAssessment.objects.count() == 0


def test_manager_creates_an_assessment(key_for, manager, rep, skills):
    response = key_for(manager).post(
        ASSESSMENTS,
        {"rep": rep.pk, "skill": skills[0].pk, "level": 4, "evidence": "Acme call, 3 March"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["rep"], body["skill"], body["level"], body["assessor"]) == (
        rep.pk, skills[0].pk, 4, manager.pk,
    )  # fmt: skip
    assert body["assessed_on"] == timezone.localdate().isoformat()


def test_idempotency_key_replays(key_for, manager, rep, skills):
    api = key_for(manager)
    data = {"rep": rep.pk, "skill": skills[0].pk, "level": 2}
    first = api.post(ASSESSMENTS, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(ASSESSMENTS, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert SkillAssessment.objects.count() == 1


def test_refusals(key_for, rep, teammate, manager, other_rep, skills):
    api = key_for(manager)

    def post(**data):
        return api.post(ASSESSMENTS, {"rep": rep.pk, "skill": skills[0].pk, **data}, format="json")

    assert post(level=6).status_code == 400
    assert post(level=0).status_code == 400
    unknown = api.post(ASSESSMENTS, {"rep": rep.pk, "skill": 10**9, "level": 2}, format="json")
    assert unknown.status_code == 400 and "skill" in unknown.json()["details"]
    future = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert post(level=2, assessed_on=future).json()["details"]["assessed_on"]
    assert post(level=5).json()["details"]["evidence"]
    outside = api.post(
        ASSESSMENTS, {"rep": other_rep.pk, "skill": skills[0].pk, "level": 2}, format="json"
    )
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"
    as_rep = key_for(rep).post(
        ASSESSMENTS, {"rep": teammate.pk, "skill": skills[0].pk, "level": 2}, format="json"
    )
    assert as_rep.status_code == 403 and as_rep.json()["code"] == "permission_denied"
    assert SkillAssessment.objects.count() == 0


def test_list_scope_and_filters(
    key_for, rep, teammate, manager, other_rep, other_manager, leader, skills
):
    mine = assess(rep, skills[0], 2, by=manager, days_ago=3)
    newer = assess(rep, skills[1], 3, by=manager, days_ago=1)
    assess(teammate, skills[0], 3, by=manager)
    other = assess(other_rep, skills[0], 1, by=other_manager)
    ids = lambda r: [a["id"] for a in r.json()["results"]]  # noqa: E731
    assert ids(key_for(rep).get(ASSESSMENTS)) == [newer.pk, mine.pk]
    assert len(ids(key_for(manager).get(ASSESSMENTS))) == 3
    assert ids(key_for(manager).get(ASSESSMENTS, {"skill": skills[1].pk})) == [newer.pk]
    assert ids(key_for(manager).get(ASSESSMENTS, {"rep": rep.pk})) == [newer.pk, mine.pk]
    assert ids(key_for(leader).get(ASSESSMENTS, {"team": other_rep.team_id})) == [other.pk]
    assert key_for(manager).get(f"{ASSESSMENTS}{other.pk}/").status_code == 404
    assert key_for(manager).get(ASSESSMENTS, {"rep": "abc"}).status_code == 400


def test_list_query_count_is_fixed(key_for, rep, manager, skills):
    api = key_for(manager)
    api.get(ASSESSMENTS)  # the key's first use records it (one more query, once)
    assess(rep, skills[0], 2, by=manager)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(ASSESSMENTS).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for i in range(20):
        assess(rep, skills[i % 8], 1 + i % 5, by=manager)
    assert count() == one
