"""The qualification API: frameworks (everyone reads, admins write), a pipeline's
framework and its automatic qualification milestones, and POST/GET
/opportunities/{id}/qualifications/ — shapes, refusals with nothing saved, visibility."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline import services
from pipeline.models import (
    AutoCheck,
    Milestone,
    MilestoneElementLevel,
    Opportunity,
    Pipeline,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
)
from salesops.models import IdempotencyRecord
from tests.factories import (
    MilestoneFactory,
    OpportunityFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)
from tests.pipeline.test_api import LIST, assert_error, url

pytestmark = pytest.mark.django_db

FRAMEWORKS = "/api/v1/frameworks/"
ELEMENTS = "/api/v1/framework-elements/"


@pytest.fixture
def framework(pipeline):
    """MEDDICC-ish: Metrics (weight 3), Economic buyer (2), Champion (1); on the pipeline."""
    fw = QualificationFrameworkFactory(name="Acme MEDDICC", description="Enterprise deals")
    # Created out of order: the API lists them by `order`.
    fw.champion = QualificationElementFactory(framework=fw, name="Champion", weight=1, order=3)
    fw.metrics = QualificationElementFactory(framework=fw, name="Metrics", weight=3, order=1)
    fw.buyer = QualificationElementFactory(framework=fw, name="Economic buyer", weight=2, order=2)
    pipeline.framework = fw
    pipeline.save(update_fields=["framework"])
    return fw


@pytest.fixture
def other_framework(db):
    fw = QualificationFrameworkFactory(name="Acme BANT")
    fw.budget = QualificationElementFactory(framework=fw, name="Budget", order=1)
    return fw


def good_scores(fw, **overrides) -> list[dict]:
    scores = {
        fw.metrics.pk: {"score": 3, "evidence": "Saves 2 FTE, CFO agreed", "source": "meeting"},
        fw.buyer.pk: {"score": 2, "evidence": "CFO on the call", "source": "call"},
        fw.champion.pk: {"score": 0},
    }
    for key, value in overrides.items():
        scores[getattr(fw, key).pk] = value
    return [{"element": element_id, **value} for element_id, value in scores.items()]


def nothing_saved() -> None:
    assert Qualification.objects.count() == 0
    assert QualificationScore.objects.count() == 0


# --- frameworks -------------------------------------------------------------------------


def test_everyone_reads_frameworks_with_their_ordered_elements(rep, framework, key_for):
    client = key_for(rep, scopes=("read",))
    body = client.get(FRAMEWORKS, {"page_size": 200}).json()
    # The seeded ones (migration 0005) and ours, by name.
    names = [f["name"] for f in body["results"]]
    assert names == sorted(names) and {"Acme MEDDICC", "MEDDICC", "BANT"} <= set(names)
    listed = next(f for f in body["results"] if f["id"] == framework.pk)
    assert listed == client.get(f"{FRAMEWORKS}{framework.pk}/").json()
    assert {k: listed[k] for k in ("id", "name", "description", "is_active")} == {
        "id": framework.pk,
        "name": "Acme MEDDICC",
        "description": "Enterprise deals",
        "is_active": True,
    }
    assert [e["name"] for e in listed["elements"]] == ["Metrics", "Economic buyer", "Champion"]
    assert listed["elements"][0] == {
        "id": framework.metrics.pk,
        "name": "Metrics",
        "guidance": "Confirmed by the customer in writing.",
        "weight": 3,
        "order": 1,
    }
    elements = client.get(ELEMENTS, {"framework": framework.pk}).json()
    assert [e["name"] for e in elements["results"]] == ["Metrics", "Economic buyer", "Champion"]
    assert elements["results"][0]["framework"] == framework.pk
    assert client.get(f"{ELEMENTS}{framework.buyer.pk}/").json()["weight"] == 2
    assert_error(client.get(ELEMENTS, {"framework": "x"}), 400, "invalid")
    assert_error(client.get(f"{FRAMEWORKS}999999/"), 404, "not_found")
    assert_error(client.get(f"{ELEMENTS}abc/"), 404, "not_found")


def test_reps_and_managers_do_not_write_frameworks(rep, manager, framework, key_for):
    frameworks = QualificationFramework.objects.count()
    elements = QualificationElement.objects.count()
    for user in (rep, manager):
        client = key_for(user)
        body = assert_error(client.post(FRAMEWORKS, {"name": "Acme"}), 403, "permission_denied")
        assert body["message"] == "Only an administrator or a sales leader can change this."
        assert_error(client.patch(f"{FRAMEWORKS}{framework.pk}/", {"name": "X"}), 403)
        body = {"framework": framework.pk, "name": "Pain", "weight": 2}
        assert_error(client.post(ELEMENTS, body), 403)
        assert_error(client.patch(f"{ELEMENTS}{framework.metrics.pk}/", {"weight": 9}), 403)
        assert_error(client.delete(f"{ELEMENTS}{framework.champion.pk}/"), 403)
    assert QualificationFramework.objects.count() == frameworks
    assert QualificationFramework.objects.get(pk=framework.pk).name == "Acme MEDDICC"
    assert QualificationElement.objects.count() == elements
    assert QualificationElement.objects.get(pk=framework.metrics.pk).weight == 3


def test_a_sales_leader_writes_frameworks(leader, framework, key_for):
    client = key_for(leader)
    created = client.post(FRAMEWORKS, {"name": "Leader SPICED"})
    assert created.status_code == 201, created.content
    element = client.post(ELEMENTS, {"framework": created.json()["id"], "name": "Pain"})
    assert element.status_code == 201, element.content
    assert client.patch(f"{ELEMENTS}{framework.metrics.pk}/", {"weight": 9}).status_code == 200
    assert client.delete(f"{ELEMENTS}{framework.champion.pk}/").status_code == 204
    assert QualificationElement.objects.get(pk=framework.metrics.pk).weight == 9
    assert not QualificationElement.objects.filter(pk=framework.champion.pk).exists()
    assert list(
        QualificationElement.objects.filter(framework_id=created.json()["id"]).values_list(
            "name", flat=True
        )
    ) == ["Pain"]


def test_admin_builds_a_framework(admin_user, key_for):
    client = key_for(admin_user)
    created = client.post(FRAMEWORKS, {"name": "Acme SPICED", "description": "Winning by Design"})
    assert created.status_code == 201, created.content
    fid = created.json()["id"]
    assert created.json()["elements"] == [] and created.json()["is_active"] is True
    assert_error(client.post(FRAMEWORKS, {"name": "acme spiced"}), 400)  # taken, any case
    assert_error(client.post(FRAMEWORKS, {"name": ""}), 400)
    assert_error(client.post(FRAMEWORKS, {"name": "X", "elements": []}), 400)  # read-only
    first = client.post(ELEMENTS, {"framework": fid, "name": "Situation", "weight": 2})
    assert first.status_code == 201, first.content
    second = client.post(ELEMENTS, {"framework": fid, "name": "Pain", "guidance": "Quantified"})
    assert second.status_code == 201, second.content
    assert (first.json()["order"], second.json()["order"]) == (0, 1)  # appended last
    assert second.json()["weight"] == 1
    for bad in (
        {"weight": 0},
        {"weight": 101},
        {"weight": "x"},
        {"weight": True},
        {"name": ""},
        {"name": "situation"},  # taken in this framework
        {"order": -1},
        {"framework": fid + 1000},
    ):
        body = {"framework": fid, "name": "Impact", **bad}
        assert_error(client.post(ELEMENTS, body), 400, "invalid")
    assert QualificationElement.objects.filter(framework_id=fid).count() == 2
    eid = first.json()["id"]
    patched = client.patch(f"{ELEMENTS}{eid}/", {"weight": 100, "guidance": "Their words"})
    assert patched.status_code == 200 and patched.json()["weight"] == 100
    assert_error(client.patch(f"{ELEMENTS}{eid}/", {"weight": 101}), 400)
    assert_error(client.patch(f"{ELEMENTS}{eid}/", {"framework": fid}), 400)
    assert QualificationElement.objects.get(pk=eid).weight == 100
    renamed = client.patch(f"{FRAMEWORKS}{fid}/", {"name": "Acme SPICED v2", "is_active": False})
    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "Acme SPICED v2" and renamed.json()["is_active"] is False
    assert [e["name"] for e in renamed.json()["elements"]] == ["Situation", "Pain"]
    assert client.delete(f"{ELEMENTS}{second.json()['id']}/").status_code == 204
    assert not QualificationElement.objects.filter(pk=second.json()["id"]).exists()
    assert_error(client.delete(f"{ELEMENTS}{second.json()['id']}/"), 404)


def test_a_scored_element_cannot_be_deleted(admin_user, rep, framework, opportunity, key_for):
    services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=good_scores(framework)
    )
    response = key_for(admin_user).delete(f"{ELEMENTS}{framework.metrics.pk}/")
    body = assert_error(response, 409, "element_in_use")
    assert body["details"]["scores"] == 1
    assert QualificationElement.objects.filter(pk=framework.metrics.pk).exists()


def test_an_element_a_milestone_requires_cannot_be_deleted(
    admin_user, pipeline, framework, key_for
):
    milestone = MilestoneFactory(stage=pipeline.qualify, auto_check=AutoCheck.QUALIFICATION)
    MilestoneElementLevel.objects.create(milestone=milestone, element=framework.buyer, min_level=2)
    response = key_for(admin_user).delete(f"{ELEMENTS}{framework.buyer.pk}/")
    body = assert_error(response, 409, "element_in_use")
    assert body["details"]["milestones"] == [milestone.pk]
    assert MilestoneElementLevel.objects.filter(milestone=milestone).count() == 1


# --- a pipeline's framework and its qualification milestones ----------------------------


def test_admin_sets_the_framework_of_a_pipeline(
    admin_user, rep, pipeline, framework, other_framework, key_for
):
    client = key_for(admin_user)
    path = f"/api/v1/pipelines/{pipeline.pk}/"
    assert client.get(path).json()["framework"] == framework.pk
    response = client.patch(path, {"framework": other_framework.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["framework"] == other_framework.pk
    assert Pipeline.objects.get(pk=pipeline.pk).framework_id == other_framework.pk
    assert_error(client.patch(path, {"framework": 999999}, format="json"), 400)
    assert_error(client.patch(path, {"framework": "MEDDICC"}, format="json"), 400)
    framework.is_active = False
    framework.save(update_fields=["is_active"])
    body = assert_error(client.patch(path, {"framework": framework.pk}, format="json"), 400)
    assert list(body["details"]) == ["framework"]
    assert Pipeline.objects.get(pk=pipeline.pk).framework_id == other_framework.pk
    assert_error(key_for(rep).patch(path, {"framework": None}, format="json"), 403)
    cleared = client.patch(path, {"framework": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["framework"] is None
    created = client.post(
        "/api/v1/pipelines/", {"name": "Renewals", "framework": other_framework.pk}, format="json"
    )
    assert created.status_code == 201 and created.json()["framework"] == other_framework.pk


def test_a_framework_in_use_by_milestones_cannot_be_swapped(
    admin_user, pipeline, framework, other_framework, key_for
):
    milestone = MilestoneFactory(stage=pipeline.qualify, auto_check=AutoCheck.QUALIFICATION)
    MilestoneElementLevel.objects.create(milestone=milestone, element=framework.buyer, min_level=2)
    client = key_for(admin_user)
    path = f"/api/v1/pipelines/{pipeline.pk}/"
    for value in (other_framework.pk, None):
        body = assert_error(client.patch(path, {"framework": value}, format="json"), 400)
        assert list(body["details"]) == ["framework"], body
    assert Pipeline.objects.get(pk=pipeline.pk).framework_id == framework.pk


def test_admin_configures_an_automatic_qualification_milestone(
    admin_user, pipeline, framework, other_framework, key_for
):
    client = key_for(admin_user)
    body = {
        "stage": pipeline.proposal.pk,
        "title": "Qualified for a proposal",
        "kind": "seller_action",
        "auto_check": "qualification",
        "min_qualification_score": 60,
        "element_levels": [{"element": framework.buyer.pk, "min_level": 2}],
    }
    response = client.post("/api/v1/milestones/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["auto_check"] == "qualification"
    assert created["min_qualification_score"] == 60
    assert created["element_levels"] == [{"element": framework.buyer.pk, "min_level": 2}]
    mid = created["id"]
    assert client.get(f"/api/v1/milestones/{mid}/").json() == created
    levels = [
        {"element": framework.metrics.pk, "min_level": 3},
        {"element": framework.champion.pk, "min_level": 1},
    ]
    patched = client.patch(f"/api/v1/milestones/{mid}/", {"element_levels": levels}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["element_levels"] == levels
    assert MilestoneElementLevel.objects.filter(milestone_id=mid).count() == 2
    off = client.patch(f"/api/v1/milestones/{mid}/", {"auto_check": ""}, format="json")
    assert off.status_code == 200, off.content
    assert off.json()["min_qualification_score"] is None and off.json()["element_levels"] == []
    assert not MilestoneElementLevel.objects.filter(milestone_id=mid).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"element_levels": [{"element": "OTHER", "min_level": 2}]}, "element_levels"),
        ({"element_levels": [{"element": "BUYER", "min_level": 4}]}, "element_levels"),
        ({"element_levels": [{"element": "BUYER", "min_level": 0}]}, "element_levels"),
        ({"element_levels": [{"element": "BUYER"}]}, "element_levels"),
        ({"element_levels": [{"element": 999999, "min_level": 2}]}, "element_levels"),
        ({"element_levels": "BUYER"}, "element_levels"),
        (
            {
                "element_levels": [
                    {"element": "BUYER", "min_level": 2},
                    {"element": "BUYER", "min_level": 3},
                ]
            },
            "element_levels",
        ),
        ({"min_qualification_score": 101}, "min_qualification_score"),
        ({"min_qualification_score": -1}, "min_qualification_score"),
        ({"auto_check": "", "min_qualification_score": 50}, "min_qualification_score"),
        (
            {"auto_check": "", "element_levels": [{"element": "BUYER", "min_level": 2}]},
            "element_levels",
        ),
    ],
)
def test_qualification_milestone_refusals(
    admin_user, pipeline, framework, other_framework, key_for, changes, field
):
    ids = {"BUYER": framework.buyer.pk, "OTHER": other_framework.budget.pk}

    def resolve(value):
        if isinstance(value, list):
            return [
                {k: ids.get(v, v) if k == "element" else v for k, v in item.items()}
                for item in value
            ]
        return ids.get(value, value) if isinstance(value, str) else value

    changes = {k: resolve(v) for k, v in changes.items()}
    client = key_for(admin_user)
    base = {
        "stage": pipeline.proposal.pk,
        "title": "Qualified",
        "kind": "seller_action",
        "auto_check": "qualification",
    }
    count = Milestone.objects.count()
    body = assert_error(client.post("/api/v1/milestones/", {**base, **changes}, format="json"), 400)
    assert field in body["details"], body
    assert Milestone.objects.count() == count
    milestone = MilestoneFactory(
        stage=pipeline.proposal, auto_check="qualification", min_qualification_score=40
    )
    MilestoneElementLevel.objects.create(
        milestone=milestone, element=framework.metrics, min_level=1
    )
    response = client.patch(f"/api/v1/milestones/{milestone.pk}/", changes, format="json")
    assert field in assert_error(response, 400)["details"]
    fresh = Milestone.objects.get(pk=milestone.pk)
    assert (fresh.auto_check, fresh.min_qualification_score) == ("qualification", 40)
    assert list(fresh.element_levels.values_list("element_id", "min_level")) == [
        (framework.metrics.pk, 1)
    ]


def test_element_level_errors_are_keyed_by_element(admin_user, pipeline, framework, key_for):
    body = {
        "stage": pipeline.proposal.pk,
        "title": "Qualified",
        "kind": "seller_action",
        "auto_check": "qualification",
        "element_levels": [
            {"element": framework.buyer.pk, "min_level": 5},
            {"min_level": 2},
        ],
    }
    response = key_for(admin_user).post("/api/v1/milestones/", body, format="json")
    details = assert_error(response, 400)["details"]
    assert set(details["element_levels"]) == {str(framework.buyer.pk), "#1"}
    assert list(details["element_levels"][str(framework.buyer.pk)]) == ["min_level"]
    assert list(details["element_levels"]["#1"]) == ["element"]


def test_qualification_milestone_needs_a_framework(admin_user, pipeline, key_for):
    body = {
        "stage": pipeline.proposal.pk,
        "title": "Qualified",
        "kind": "seller_action",
        "auto_check": "qualification",
        "min_qualification_score": 50,
    }
    response = key_for(admin_user).post("/api/v1/milestones/", body, format="json")
    assert list(assert_error(response, 400)["details"]) == ["auto_check"]
    assert not Milestone.objects.filter(title="Qualified").exists()


def test_the_gate_asks_for_a_qualification_then_lets_the_deal_through(
    admin_user, rep, pipeline, framework, key_for
):
    """Configure the milestone through the API, hit the gate, qualify, pass."""
    admin = key_for(admin_user)
    response = admin.post(
        "/api/v1/milestones/",
        {
            "stage": pipeline.discover.pk,
            "title": "Economic buyer partly validated",
            "kind": "buyer_commitment",
            "auto_check": "qualification",
            "min_qualification_score": 50,
            "element_levels": [{"element": framework.buyer.pk, "min_level": 2}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    client = key_for(rep)
    for m in pipeline.discover.milestones.exclude(auto_check=AutoCheck.QUALIFICATION):
        client.post(url(opp, f"milestones/{m.pk}/complete/"), {"evidence": "CFO said so"})
    refused = client.post(url(opp, "advance/"), {"stage": pipeline.qualify.pk})
    missing = assert_error(refused, 409, "gate_not_met")["details"]["missing"]
    assert [m["title"] for m in missing] == ["Economic buyer partly validated"]
    assert missing[0]["automatic"] and missing[0]["gaps"]
    low = good_scores(framework, buyer={"score": 1})
    assert (
        client.post(url(opp, "qualifications/"), {"scores": low}, format="json").status_code == 201
    )
    refused = client.post(url(opp, "advance/"), {"stage": pipeline.qualify.pk})
    gaps = assert_error(refused, 409, "gate_not_met")["details"]["missing"][0]["gaps"]
    assert any("Economic buyer" in gap for gap in gaps)
    ok = client.post(url(opp, "qualifications/"), {"scores": good_scores(framework)}, format="json")
    assert ok.status_code == 201
    moved = client.post(url(opp, "advance/"), {"stage": pipeline.qualify.pk})
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"]["name"] == "Qualify"
    assert moved.json()["qualification"]["valid"] is True


# --- POST / GET /opportunities/{id}/qualifications/ ----------------------------------------


def test_qualify_returns_the_qualification(rep, framework, opportunity, key_for):
    client = key_for(rep)
    response = client.post(
        url(opportunity, "qualifications/"),
        {"scores": good_scores(framework), "note": "After the workshop"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "opportunity",
        "score_pct",
        "framework",
        "assessed_by",
        "assessed_at",
        "valid",
        "valid_until",
        "invalidated_at",
        "invalidated_reason",
        "note",
        "scores",
    }
    # (3×3 + 2×2 + 1×0) / (3 × 6) = 13/18
    assert body["score_pct"] == "72.22"
    assert body["framework"] == {"id": framework.pk, "name": "Acme MEDDICC"}
    assert body["assessed_by"] == {"id": rep.pk, "username": "rep", "name": rep.get_full_name()}
    assert body["valid"] is True and body["invalidated_at"] is None
    assert body["note"] == "After the workshop"
    assessed = dt.datetime.fromisoformat(body["assessed_at"])
    valid_until = dt.datetime.fromisoformat(body["valid_until"])
    assert valid_until - assessed == dt.timedelta(days=30)
    assert body["scores"] == [
        {
            "element": {"id": framework.metrics.pk, "name": "Metrics"},
            "score": 3,
            "level": "Validated with evidence",
            "evidence": "Saves 2 FTE, CFO agreed",
            "source": "meeting",
        },
        {
            "element": {"id": framework.buyer.pk, "name": "Economic buyer"},
            "score": 2,
            "level": "Partly validated",
            "evidence": "CFO on the call",
            "source": "call",
        },
        {
            "element": {"id": framework.champion.pk, "name": "Champion"},
            "score": 0,
            "level": "Unknown",
            "evidence": "",
            "source": "",
        },
    ]
    stored = Qualification.objects.get()
    assert stored.score_pct == Decimal("72.22") and stored.scores.count() == 3
    detail = client.get(url(opportunity)).json()
    assert detail["qualification"] == {
        "score_pct": "72.22",
        "assessed_at": body["assessed_at"],
        "valid": True,
    }


def test_history_is_newest_first_and_only_the_latest_is_valid(rep, framework, opportunity, key_for):
    client = key_for(rep)
    first = client.post(
        url(opportunity, "qualifications/"),
        {"scores": good_scores(framework, buyer={"score": 1})},
        format="json",
    ).json()
    second = client.post(
        url(opportunity, "qualifications/"), {"scores": good_scores(framework)}, format="json"
    ).json()
    history = client.get(url(opportunity, "qualifications/")).json()
    assert history["count"] == 2
    assert [q["id"] for q in history["results"]] == [second["id"], first["id"]]
    assert [q["valid"] for q in history["results"]] == [True, False]
    page2 = client.get(url(opportunity, "qualifications/"), {"page_size": 1, "page": 2}).json()
    assert [(q["id"], q["valid"]) for q in page2["results"]] == [(first["id"], False)]
    # Pushing the amount by more than 20 % voids the standing qualification.
    patched = client.patch(url(opportunity), {"amount": "50000"})
    assert patched.status_code == 200
    assert patched.json()["qualification"]["valid"] is False
    latest = client.get(url(opportunity, "qualifications/")).json()["results"][0]
    assert latest["valid"] is False and latest["invalidated_at"] is not None
    assert latest["invalidated_reason"]


def test_an_expired_qualification_is_not_valid(rep, framework, opportunity, key_for):
    client = key_for(rep)
    client.post(
        url(opportunity, "qualifications/"), {"scores": good_scores(framework)}, format="json"
    )
    Qualification.objects.update(assessed_at=timezone.now() - dt.timedelta(days=31))
    assert client.get(url(opportunity)).json()["qualification"]["valid"] is False
    assert client.get(LIST).json()["results"][0]["qualification"]["valid"] is False
    assert client.get(url(opportunity, "qualifications/")).json()["results"][0]["valid"] is False


def _without(fw, key: str) -> list[dict]:
    return [s for s in good_scores(fw) if s["element"] != getattr(fw, key).pk]


BAD_SCORES = {
    "score 4": (lambda fw: good_scores(fw, champion={"score": 4}), "champion", "score"),
    "score -1": (lambda fw: good_scores(fw, champion={"score": -1}), "champion", "score"),
    "score x": (lambda fw: good_scores(fw, champion={"score": "x"}), "champion", "score"),
    "score true": (lambda fw: good_scores(fw, champion={"score": True}), "champion", "score"),
    "score 1.5": (lambda fw: good_scores(fw, champion={"score": 1.5}), "champion", "score"),
    "score null": (lambda fw: good_scores(fw, champion={"score": None}), "champion", "score"),
    "score missing": (lambda fw: good_scores(fw, champion={}), "champion", "score"),
    "element missing": (lambda fw: _without(fw, "buyer"), "buyer", "score"),
    "no evidence for 2": (
        lambda fw: good_scores(fw, buyer={"score": 2, "source": "call"}),
        "buyer",
        "evidence",
    ),
    "blank evidence for 3": (
        lambda fw: good_scores(fw, metrics={"score": 3, "evidence": "  ", "source": "call"}),
        "metrics",
        "evidence",
    ),
    "no source for 2": (
        lambda fw: good_scores(fw, buyer={"score": 2, "evidence": "CFO said so"}),
        "buyer",
        "source",
    ),
    "unknown source": (
        lambda fw: good_scores(fw, buyer={"score": 2, "evidence": "CFO said so", "source": "fax"}),
        "buyer",
        "source",
    ),
    "unknown attribute": (
        lambda fw: good_scores(fw, champion={"score": 0, "weight": 3}),
        "champion",
        "weight",
    ),
}


@pytest.mark.parametrize("case", list(BAD_SCORES))
def test_bad_scores_are_400_by_element_and_save_nothing(rep, framework, opportunity, key_for, case):
    make, element, field = BAD_SCORES[case]
    response = key_for(rep).post(
        url(opportunity, "qualifications/"), {"scores": make(framework)}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    problems = body["details"]["scores"]
    key = str(getattr(framework, element).pk)
    assert key in problems and field in problems[key], body
    assert all(isinstance(m, str) for m in problems[key][field])
    nothing_saved()


def test_an_element_of_another_framework_is_refused(
    rep, framework, other_framework, opportunity, key_for
):
    scores = [*good_scores(framework), {"element": other_framework.budget.pk, "score": 1}]
    response = key_for(rep).post(
        url(opportunity, "qualifications/"), {"scores": scores}, format="json"
    )
    problems = assert_error(response, 400, "invalid")["details"]["scores"]
    assert list(problems) == [str(other_framework.budget.pk)]
    assert list(problems[str(other_framework.budget.pk)]) == ["element"]
    nothing_saved()


@pytest.mark.parametrize(
    "payload",
    [
        {"scores": "all good"},
        {"scores": None},
        {},
        {"scores": [42]},
        {"scores": [{"element": "abc", "score": 1}]},
        {"scores": [{"score": 1}]},
        {"scores": [{"element": True, "score": 1}]},
        {"scores": [{"element": 2**70, "score": 1}]},
        {"scores": "GOOD", "score_pct": "100"},
        {"scores": "GOOD", "note": "x" * 10_001},
        {"scores": "TWICE"},
    ],
)
def test_malformed_payloads_are_400_and_save_nothing(rep, framework, opportunity, key_for, payload):
    if payload.get("scores") == "GOOD":
        payload = {**payload, "scores": good_scores(framework)}
    elif payload.get("scores") == "TWICE":
        payload = {"scores": [*good_scores(framework), good_scores(framework)[0]]}
    response = key_for(rep).post(url(opportunity, "qualifications/"), payload, format="json")
    body = assert_error(response, 400, "invalid")
    assert body["details"], body
    if isinstance(body["details"].get("scores"), dict):  # keyed by element id or #index
        assert all(isinstance(v, dict) for v in body["details"]["scores"].values())
    nothing_saved()


def test_qualifying_without_a_framework_or_on_a_closed_deal_is_409(
    rep, pipeline, opportunity, key_for
):
    client = key_for(rep)
    response = client.post(url(opportunity, "qualifications/"), {"scores": []}, format="json")
    assert_error(response, 409, "no_framework")
    fw = QualificationFrameworkFactory()
    element = QualificationElementFactory(framework=fw)
    Pipeline.objects.filter(pk=pipeline.pk).update(framework=fw)
    client.post(url(opportunity, "close-lost/"), {"loss_reason": "No budget"})
    response = client.post(
        url(opportunity, "qualifications/"),
        {"scores": [{"element": element.pk, "score": 0}]},
        format="json",
    )
    assert_error(response, 409, "opportunity_closed")
    nothing_saved()


def test_qualifications_outside_scope_are_404(
    teammate, other_manager, rep, framework, opportunity, key_for
):
    services.qualification_create(
        opportunity_id=opportunity.pk, actor=rep, scores=good_scores(framework)
    )
    for user in (teammate, other_manager):
        client = key_for(user)
        assert_error(client.get(url(opportunity, "qualifications/")), 404, "not_found")
        response = client.post(
            url(opportunity, "qualifications/"), {"scores": good_scores(framework)}, format="json"
        )
        assert_error(response, 404, "not_found")
    assert Qualification.objects.count() == 1
    assert_error(key_for(rep).get("/api/v1/opportunities/999999/qualifications/"), 404)


def test_managers_qualify_team_deals_and_read_only_keys_cannot(
    rep, manager, framework, opportunity, key_for
):
    response = key_for(rep, scopes=("read",)).post(
        url(opportunity, "qualifications/"), {"scores": good_scores(framework)}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    nothing_saved()
    response = key_for(manager).post(
        url(opportunity, "qualifications/"), {"scores": good_scores(framework)}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["assessed_by"]["username"] == "manager"


def test_idempotency_key_replays_a_qualification(rep, framework, opportunity, key_for):
    client = key_for(rep)
    body = {"scores": good_scores(framework)}
    first = client.post(
        url(opportunity, "qualifications/"), body, format="json", HTTP_IDEMPOTENCY_KEY="q-1"
    )
    again = client.post(
        url(opportunity, "qualifications/"), body, format="json", HTTP_IDEMPOTENCY_KEY="q-1"
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Qualification.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_history_query_count_does_not_grow(rep, framework, opportunity, key_for):
    client = key_for(rep)
    counts = {}
    for n in (1, 12):
        Qualification.objects.all().delete()
        for _ in range(n):
            services.qualification_create(
                opportunity_id=opportunity.pk, actor=rep, scores=good_scores(framework)
            )
        client.get(url(opportunity, "qualifications/"))
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(opportunity, "qualifications/"))
        assert response.json()["count"] == n
        counts[n] = len(ctx)
    assert counts[1] == counts[12]


def test_frameworks_list_query_count_does_not_grow(rep, framework, key_for):
    client = key_for(rep)
    before = client.get(FRAMEWORKS).json()["count"]
    with CaptureQueriesContext(connection) as one:
        client.get(FRAMEWORKS)
    for _ in range(10):
        fw = QualificationFrameworkFactory()
        QualificationElementFactory.create_batch(4, framework=fw)
    with CaptureQueriesContext(connection) as many:
        assert client.get(FRAMEWORKS).json()["count"] == before + 10
    assert len(one) == len(many)


def test_every_action_response_carries_the_qualification(rep, framework, opportunity, key_for):
    client = key_for(rep)
    client.post(
        url(opportunity, "qualifications/"), {"scores": good_scores(framework)}, format="json"
    )
    patched = client.patch(url(opportunity), {"next_step": "Send the proposal"})
    assert patched.json()["qualification"]["score_pct"] == "72.22"
    lost = client.post(url(opportunity, "close-lost/"), {"loss_reason": "Budget cut"})
    assert lost.status_code == 200 and lost.json()["qualification"]["score_pct"] == "72.22"
    assert Opportunity.objects.get(pk=opportunity.pk).status == "lost"


@pytest.mark.parametrize("huge", [2**63, 2**70, 10**30])
def test_huge_ids_in_bodies_are_400_not_500(admin_user, pipeline, framework, key_for, huge):
    client = key_for(admin_user)
    path = f"/api/v1/pipelines/{pipeline.pk}/"
    assert_error(client.patch(path, {"framework": huge}, format="json"), 400, "invalid")
    body = {"framework": huge, "name": "Pain"}
    assert_error(client.post(ELEMENTS, body, format="json"), 400, "invalid")
    levels = {"element_levels": [{"element": huge, "min_level": 1}]}
    milestone = MilestoneFactory(stage=pipeline.proposal, auto_check="qualification")
    response = client.patch(f"/api/v1/milestones/{milestone.pk}/", levels, format="json")
    assert "#0" in assert_error(response, 400, "invalid")["details"]["element_levels"]
    assert_error(client.get(ELEMENTS, {"framework": str(huge)}), 400, "invalid")
    assert Pipeline.objects.get(pk=pipeline.pk).framework_id == framework.pk
