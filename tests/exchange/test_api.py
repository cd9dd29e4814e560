"""/api/v1/imports/: upload, map, preview, run, undo — the services' answers over HTTP."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exchange.models import BatchStatus, ImportBatch
from pipeline.models import Opportunity
from tests.clock import default_clock
from tests.exchange import corpus

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"


def upload(client, content: bytes, **extra):
    data = {"kind": "opportunities", "source": "HubSpot", **extra}
    data["file"] = SimpleUploadedFile("deals.csv", content, content_type="text/csv")
    return client.post(URL, data, format="multipart")


def test_upload_preview_run_and_undo(leader, key_for, import_pipeline, sellers):
    client = key_for(leader)
    deals = corpus.true_deals(default_clock().date(), count=30)
    response = upload(client, corpus.hubspot(deals))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["mapping"]["Deal owner"] == "owner"
    assert body["report"]["counts"]["created"] == 30
    assert not Opportunity.objects.exists()

    batch_url = f"{URL}{body['id']}/"
    preview = client.post(f"{batch_url}preview/")
    assert preview.status_code == 200 and preview.json()["counts"]["rejected"] == 0

    run = client.post(f"{batch_url}run/")
    assert run.status_code == 200, run.content
    assert run.json()["status"] == "done" and run.json()["counts"]["created"] == 30
    assert Opportunity.objects.filter(source="HubSpot").count() == 30

    # It ran: the mapping cannot change any more.
    refused = client.patch(batch_url, {"mapping": {}}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "import_not_draft"

    undone = client.post(f"{batch_url}undo/")
    assert undone.status_code == 200 and undone.json()["status"] == "undone"
    assert not Opportunity.objects.exists()


def test_a_mapping_error_is_a_400_naming_the_problem(leader, key_for, import_pipeline):
    client = key_for(leader)
    body = upload(client, b"Deal,When\nX,3/4/2027\n").json()
    assert body["report"] == {"column_samples": {"Deal": "X", "When": "3/4/2027"}}
    response = client.patch(
        f"{URL}{body['id']}/", {"mapping": {"Deal": "name", "Nope": "owner"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["details"]["mapping"][0] == "The file has no column 'Nope'."
    assert ImportBatch.objects.get().mapping == body["mapping"]  # nothing half-saved


def test_bad_uploads_are_4xx_never_500(leader, key_for):
    client = key_for(leader)
    empty = upload(client, b"")
    assert empty.status_code == 400
    binary = upload(client, b"\x00\x01\x02PK\x03\x04")
    assert binary.status_code == 400
    assert "binary" in str(binary.json()["details"])
    unknown = client.post(URL, {"kind": "planets", "source": "x"}, format="multipart")
    assert unknown.status_code == 400 and {"kind", "file"} <= set(unknown.json()["details"])
    assert not ImportBatch.objects.exists()


def test_a_read_only_key_and_a_rep_cannot_import(rep, leader, key_for):
    assert upload(key_for(leader, scopes=("read",)), b"a,b\n1,2\n").status_code == 403
    assert upload(key_for(rep), b"a,b\n1,2\n").status_code == 403
    assert key_for(rep).get(URL).status_code == 403


def test_a_large_file_is_queued_for_the_worker(
    settings,
    leader,
    key_for,
    import_pipeline,
    sellers,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    from salesops import outbox

    settings.IMPORT_BACKGROUND_ROWS = 10
    sent = []
    monkeypatch.setattr(outbox, "publish", lambda name, args, kwargs: sent.append((name, args)))
    client = key_for(leader)
    body = upload(
        client, corpus.salesforce(corpus.true_deals(default_clock().date(), count=12))
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{body['id']}/run/")
    assert response.status_code == 202 and response.json()["status"] == BatchStatus.QUEUED
    assert sent == [("exchange.import_batch_run", [body["id"]])]
