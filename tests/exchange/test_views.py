"""The import pages through the Django test client: upload, map, preview, import, undo."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from exchange.models import BatchStatus, ImportBatch
from pipeline.models import Opportunity
from tests.clock import default_clock
from tests.exchange import corpus

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, *, source="Salesforce", kind="opportunities"):
    return client.post(
        reverse("exchange:batch_list"),
        {"kind": kind, "source": source, "file": SimpleUploadedFile("deals.csv", content)},
    )


def configure_data(batch: ImportBatch, **extra) -> dict:
    """What the mapping form posts when the user accepts every proposal."""
    data = {f"map_{i}": batch.mapping.get(column, "") for i, column in enumerate(batch.header)}
    data.update({"decimal_comma": "auto", "pipeline_id": ""})
    data.update({"blank_close_date": "quarter_end", "blank_account": "unknown"})
    data.update({"blank_amount": "zero", "blank_owner": "importer"})
    data.update(extra)
    return data


def test_upload_map_preview_import_and_undo(client, leader, import_pipeline, sellers):
    client.force_login(leader)
    deals = corpus.true_deals(default_clock().date(), count=40)
    response = upload(client, corpus.salesforce(deals))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exchange:batch_detail", args=[batch.pk])
    page = client.get(response["Location"]).content.decode()
    # The mapping proposed from the header, the values found, the preview already made.
    assert 'data-testid="columns"' in page and "Opportunity Owner" in page
    assert 'data-testid="count-created">40<' in page
    assert Opportunity.objects.count() == 0  # nothing written by the preview

    response = client.post(
        reverse("exchange:batch_configure", args=[batch.pk]),
        configure_data(batch, **{"import": "1"}),
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and batch.counts["created"] == 40
    assert Opportunity.objects.count() == 40
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert 'data-testid="undo"' in page
    # The imported deals, closed ones included (the list opens on the open deals only).
    link = page[: page.index('data-testid="imported-deals"')]
    link = link[link.rindex("<a ") :]
    assert f"?source={batch.source}&amp;status=all" in link

    client.post(reverse("exchange:batch_undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UNDONE
    assert Opportunity.objects.count() == 0


def test_problems_are_listed_with_line_and_column_and_downloadable(
    client, leader, import_pipeline, sellers
):
    client.force_login(leader)
    content = (
        b"Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Stage,Amount,Close Date\n"
        b"A-1,Good deal,Initech,Ana Souza,Discover,100,3/14/2027\n"
        b"A-2,Bad date,Initech,Ana Souza,Discover,100,2/31/2027\n"
        b"A-3,Who owns this,Initech,Zed Nobody,Discover,100,3/14/2027\n"
    )
    upload(client, content)
    batch = ImportBatch.objects.get()
    page = client.get(reverse("exchange:batch_detail", args=[batch.pk])).content.decode()
    assert "line 3" not in page  # lines show in the problems table as numbers, column apart
    problems = page.split('data-testid="problems"')[1]
    assert "Close Date" in problems and "&#x27;2/31/2027&#x27; is not a date." in problems
    assert "Zed Nobody" in problems
    rejected = client.get(reverse("exchange:batch_rejected_csv", args=[batch.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(rejected.streaming_content).decode("utf-8-sig"))))
    assert rows[0][-1] == "problem"
    assert [row[0] for row in rows[1:]] == ["A-2", "A-3"]
    assert "is not a date" in rows[1][-1]


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_people_who_may_not_import_get_403(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("exchange:batch_list")).status_code == 403


def test_an_empty_file_is_a_field_error_not_a_500(client, leader, import_pipeline):
    client.force_login(leader)
    response = upload(client, b"")
    assert response.status_code == 422
    assert "empty" in response.content.decode()
    assert not ImportBatch.objects.exists()
