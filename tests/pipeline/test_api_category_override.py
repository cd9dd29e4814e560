"""POST /api/v1/opportunities/{id}/advance/ asks (409 `category_override_decision`) before
overwriting a forecast category set by hand; `forecast_category_on_move` answers."""

from __future__ import annotations

import pytest

from pipeline.models import OpportunityChange
from tests.factories import OpportunityFactory
from tests.pipeline.test_api import assert_error, snapshot, url
from tests.pipeline.test_services import tick_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    tick_all(opp, pipeline.qualify, rep)
    return opp


def test_409_asks_with_the_details_and_changes_nothing(rep, pipeline, committed, key_for):
    before = snapshot(committed)
    response = key_for(rep).post(
        url(committed, "advance/"), {"stage": pipeline.proposal.pk}, format="json"
    )
    body = assert_error(response, 409, "category_override_decision")
    assert body["message"] == (
        "This deal's forecast category was set by hand to Commit (reason: Signed LOI). "
        "Stage 'Proposal' defaults to Best case. Keep Commit or use Best case?"
    )
    assert body["details"] == {
        "current_category": "commit",
        "override_reason": "Signed LOI",
        "stage_default": "best_case",
        "target_stage": pipeline.proposal.pk,
        "target_stage_name": "Proposal",
        "choices": [
            {"value": "keep", "category": "commit", "label": "Keep Commit"},
            {"value": "follow", "category": "best_case", "label": "Use Best case"},
        ],
    }
    assert snapshot(committed) == before


def test_keep_then_200_with_the_override(rep, pipeline, committed, key_for):
    response = key_for(rep).post(
        url(committed, "advance/"),
        {"stage": pipeline.proposal.pk, "forecast_category_on_move": "keep"},
        format="json",
        HTTP_IF_MATCH=f'"{committed.version}"',
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stage"]["id"] == pipeline.proposal.pk
    assert (body["forecast_category"], body["forecast_category_override_reason"]) == (
        "commit",
        "Signed LOI",
    )
    assert response["ETag"] == f'"{committed.version + 1}"'


def test_follow_then_200_with_the_stage_default_and_history(rep, pipeline, committed, key_for):
    response = key_for(rep).post(
        url(committed, "advance/"),
        {"stage": pipeline.proposal.pk, "forecast_category_on_move": "follow"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["forecast_category"], body["forecast_category_override_reason"]) == (
        "best_case",
        "",
    )
    change = OpportunityChange.objects.get(
        opportunity=committed, field="forecast_category", changed_by=rep
    )
    assert (change.old_value, change.new_value) == ("commit", "best_case")
    assert change.note.startswith("Manual override replaced by the default of stage 'Proposal'")


def test_the_same_idempotency_key_may_answer_the_question(rep, pipeline, committed, key_for):
    # A 409 is not recorded, so the retry with the answer needs no new key.
    client = key_for(rep)
    first = client.post(
        url(committed, "advance/"),
        {"stage": pipeline.proposal.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="move-1",
    )
    assert_error(first, 409, "category_override_decision")
    second = client.post(
        url(committed, "advance/"),
        {"stage": pipeline.proposal.pk, "forecast_category_on_move": "keep"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="move-1",
    )
    assert second.status_code == 200, second.content


@pytest.mark.parametrize("bad", ["maybe", "", None, 1, ["keep"], {"a": 1}, "keep\x00"])
def test_a_bad_decision_is_400_with_a_field_error(rep, pipeline, committed, key_for, bad):
    before = snapshot(committed)
    response = key_for(rep).post(
        url(committed, "advance/"),
        {"stage": pipeline.proposal.pk, "forecast_category_on_move": bad},
        format="json",
    )
    body = assert_error(response, 400)
    assert "forecast_category_on_move" in body["details"]
    assert snapshot(committed) == before


def test_the_gate_answers_first(rep, pipeline, key_for):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    before = snapshot(opp)
    response = key_for(rep).post(
        url(opp, "advance/"), {"stage": pipeline.proposal.pk}, format="json"
    )
    assert_error(response, 409, "gate_not_met")
    assert snapshot(opp) == before


def test_close_won_never_asks(rep, pipeline, key_for):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.proposal,
        forecast_category="commit",
        forecast_category_override_reason="Signed LOI",
    )
    response = key_for(rep).post(url(opp, "close-won/"), {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["forecast_category"] == "closed"


def test_the_schema_documents_the_question(rep, key_for):
    schema = key_for(rep).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/opportunities/{id}/advance/"]["post"]
    assert "category_override_decision" in operation["description"]
    example = operation["responses"]["409"]["content"]["application/json"]["examples"]
    assert example["CategoryOverrideDecision"]["value"]["code"] == "category_override_decision"
    body = schema.json()["components"]["schemas"]["AdvanceInputRequest"]
    assert "forecast_category_on_move" in body["properties"]
