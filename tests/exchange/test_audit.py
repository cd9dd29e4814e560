"""The import's audit events: the mapping set, and none of a run that failed (its whole
transaction rolled back, the events the rows' services recorded with it)."""

from __future__ import annotations

from unittest import mock

import pytest

from exchange import services
from exchange.models import BatchStatus, ImportBatch
from pipeline.models import Account
from salesops.audit_context import Channel
from salesops.models import AuditEvent

pytestmark = pytest.mark.django_db

ACCOUNTS = b"Account ID,Account Name,Industry\n001A,Acme,Logistics\n001B,Globex,Energy\n"


def upload(leader) -> ImportBatch:
    return services.batch_upload(
        actor=leader, kind="accounts", source="sf", file_name="a.csv", content=ACCOUNTS
    )


def test_configuring_an_import_is_audited_with_what_was_set(leader):
    batch = upload(leader)
    services.batch_configure(actor=leader, batch_id=batch.pk, mapping=dict(batch.mapping))
    event = AuditEvent.objects.get(action="import.configured")
    assert (event.actor, event.target_type, event.target_id) == (
        leader, "exchange.importbatch", batch.pk,
    )  # fmt: skip
    assert event.data == {"set": ["mapping"]}


def test_a_run_that_fails_keeps_no_event_of_its_rows(leader):
    batch = upload(leader)
    with (
        mock.patch("exchange.services._finish", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.batch_start(actor=leader, batch_id=batch.pk, background=False)
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.FAILED
    assert not Account.objects.exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"import.uploaded"}


def test_a_run_records_its_rows_as_import_events(leader):
    batch = services.batch_start(actor=leader, batch_id=upload(leader).pk, background=False)
    assert batch.status == BatchStatus.DONE
    done = AuditEvent.objects.get(action="import.done")
    imported = AuditEvent.objects.get(action="account.imported")
    for event in (done, imported):
        assert (event.channel, event.origin) == (Channel.IMPORT, f"import #{batch.pk}")
    assert imported.data == {"source": "sf", "count": 2}
