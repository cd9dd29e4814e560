"""The pipeline setup over the API, through the same services as the setup pages: a
pipeline from a template, a stage placed without an order, a stage moved, the stage's
own validity and no-activity days."""

from __future__ import annotations

import pytest

from pipeline.models import Pipeline, Stage
from tests.pipeline.test_api import assert_error

pytestmark = pytest.mark.django_db


def names(pipeline_id: int) -> list[str]:
    return list(
        Stage.objects.filter(pipeline_id=pipeline_id)
        .order_by("order")
        .values_list("name", flat=True)
    )


def test_a_pipeline_from_a_template(admin_user, rep, key_for):
    assert_error(
        key_for(rep).post(
            "/api/v1/pipelines/from-template/", {"template": "blank", "name": "Mine"}
        ),
        403,
    )
    client = key_for(admin_user)
    response = client.post(
        "/api/v1/pipelines/from-template/", {"template": "new_business", "name": "Acme"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Acme" and len(body["stages"]) == 7
    body = assert_error(
        client.post("/api/v1/pipelines/from-template/", {"template": "blank", "name": "acme"}),
        400,
    )
    assert "name" in body["details"]
    assert Pipeline.objects.filter(name__iexact="acme").count() == 1


def test_a_stage_without_an_order_goes_before_the_closed_ones(admin_user, pipeline, key_for):
    response = key_for(admin_user).post(
        "/api/v1/stages/",
        {"pipeline": pipeline.pk, "name": "Negotiate", "probability": 80, "no_activity_days": 7},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["order"] == 4 and response.json()["no_activity_days"] == 7
    assert names(pipeline.pk)[3:] == ["Negotiate", "Closed won", "Closed lost"]


def test_move_a_stage(admin_user, manager, pipeline, key_for):
    path = f"/api/v1/stages/{pipeline.proposal.pk}/move/"
    assert_error(key_for(manager).post(path, {"position": 1}), 403)
    response = key_for(admin_user).post(path, {"position": 1})
    assert response.status_code == 200, response.content
    assert response.json()["order"] == 1
    assert names(pipeline.pk)[:2] == ["Proposal", "Discover"]
    body = assert_error(key_for(admin_user).post(path, {"position": 6}), 400)
    assert "position" in body["details"]
    assert names(pipeline.pk)[:2] == ["Proposal", "Discover"]


def test_a_stage_validity_and_no_activity_days(admin_user, pipeline, key_for):
    client = key_for(admin_user)
    path = f"/api/v1/stages/{pipeline.qualify.pk}/"
    response = client.patch(
        path, {"qualification_validity_days": 45, "no_activity_days": 10}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (
        response.json()["qualification_validity_days"],
        response.json()["no_activity_days"],
    ) == (
        45,
        10,
    )
    assert_error(client.patch(path, {"qualification_validity_days": 0}, format="json"), 400)
    response = client.patch(path, {"no_activity_days": None}, format="json")
    assert response.status_code == 200 and response.json()["no_activity_days"] is None
    stage = Stage.objects.get(pk=pipeline.qualify.pk)
    assert (stage.qualification_validity_days, stage.no_activity_days) == (45, None)
