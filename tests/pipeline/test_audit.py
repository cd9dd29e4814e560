"""The audit events of the pipeline's writes that had none: an activity logged, accounts and
products created by an import (one event per statement, with counts) — and nothing recorded
when the service refuses or its transaction rolls back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pipeline import bulk, services
from pipeline.models import Account, Activity
from salesops.exceptions import ValidationFailed
from salesops.models import AuditEvent
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_logging_an_activity_is_audited_on_the_deal(rep, opportunity):
    activity = services.activity_log(
        opportunity_id=opportunity.pk, actor=rep, kind="call", subject="Discovery call"
    )
    event = AuditEvent.objects.get(action="activity.logged")
    assert (event.actor, event.target_type, event.target_id) == (
        rep, "pipeline.opportunity", opportunity.pk,
    )  # fmt: skip
    assert event.data == {"activity": activity.pk, "kind": "call"}


def test_a_refused_activity_records_nothing(rep, opportunity):
    with pytest.raises(ValidationFailed):
        services.activity_log(
            opportunity_id=opportunity.pk, actor=rep, kind="call", subject="Later",
            occurred_at=timezone.now() + dt.timedelta(hours=1),
        )  # fmt: skip
    assert not Activity.objects.exists()
    assert not AuditEvent.objects.filter(action="activity.logged").exists()


def test_accounts_and_products_created_in_bulk_are_one_event_each(leader):
    ids = bulk.accounts_import_create(
        actor=leader, source="sf", accounts=[bulk.NewAccount(name=n) for n in ("A", "B", "C")]
    )
    bulk.products_import_create(actor=leader, source="sf", products=[bulk.NewProduct(name="P")])
    accounts = AuditEvent.objects.get(action="account.imported")
    assert (accounts.actor, accounts.data) == (leader, {"source": "sf", "count": 3})
    assert len(ids) == 3
    assert AuditEvent.objects.get(action="product.imported").data == {"source": "sf", "count": 1}
    # Nothing to create: no statement, no event.
    bulk.accounts_import_create(actor=leader, source="sf", accounts=[])
    assert AuditEvent.objects.filter(action="account.imported").count() == 1


def test_a_bulk_update_that_fails_after_its_statement_records_nothing(leader):
    account = AccountFactory(name="Acme")
    rows = [
        bulk.AccountUpdate(id=account.pk, name="Acme GmbH", domain="", industry="",
                           employees=None, country="", source="", external_id="",
                           fields=("name",)),
        # Gone meanwhile: the UPDATE ran, then the service refuses and rolls it back.
        bulk.AccountUpdate(id=account.pk + 1000, name="Ghost", domain="", industry="",
                           employees=None, country="", source="", external_id="",
                           fields=("name",)),
    ]  # fmt: skip
    with pytest.raises(ValidationFailed):
        bulk.accounts_import_update(actor=leader, accounts=rows)
    assert Account.objects.get(pk=account.pk).name == "Acme"
    assert not AuditEvent.objects.filter(action="account.updated").exists()
