"""Who may change an account: accounts are one catalogue every deal shares, so a rep
changes only an account no one else's deal uses; managers, sales leaders and
administrators change any. The service is checked with the database after every success
and every refusal."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline import services
from pipeline.models import Account, OpportunityStatus
from salesops.exceptions import PermissionDenied
from salesops.models import AuditEvent
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

SHARED = "This account is used by other people's deals; ask your manager to change it."


def rows(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


@pytest.fixture
def shared(rep, teammate, pipeline) -> Account:
    """An account on a deal of `rep` and on a deal of `teammate`."""
    account = AccountFactory(name="Acme", country="Germany")
    OpportunityFactory(owner=rep, stage=pipeline.discover, account=account)
    OpportunityFactory(owner=teammate, stage=pipeline.discover, account=account)
    return account


def test_a_rep_changes_an_account_only_their_own_deals_use(rep, pipeline):
    account = AccountFactory(name="Acme")
    OpportunityFactory(owner=rep, stage=pipeline.discover, account=account)
    services.account_update(account_id=account.pk, actor=rep, name="Acme GmbH")
    assert Account.objects.get(pk=account.pk).name == "Acme GmbH"
    unused = AccountFactory(name="Initech")
    services.account_update(account_id=unused.pk, actor=rep, country="Austria")
    assert Account.objects.get(pk=unused.pk).country == "Austria"
    assert AuditEvent.objects.filter(action="account.updated").count() == 2


def test_a_rep_may_not_change_an_account_another_persons_deal_uses(rep, shared):
    before, audits = rows(Account), AuditEvent.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        services.account_update(account_id=shared.pk, actor=rep, name="Renamed")
    assert (refused.value.code, refused.value.message, refused.value.status) == (
        "account_shared",
        SHARED,
        403,
    )
    # Refused before the values are looked at: a bad value does not change the answer.
    with pytest.raises(PermissionDenied):
        services.account_update(account_id=shared.pk, actor=rep, name="")
    assert rows(Account) == before
    assert AuditEvent.objects.count() == audits


@pytest.mark.parametrize("status", [OpportunityStatus.WON, OpportunityStatus.LOST])
def test_a_closed_deal_of_someone_else_shares_the_account_too(rep, teammate, pipeline, status):
    account = AccountFactory(name="Acme")
    stage = pipeline.won if status == OpportunityStatus.WON else pipeline.lost
    OpportunityFactory(
        owner=teammate, stage=stage, account=account, status=status, closed_at=timezone.now(),
        loss_reason="Price" if status == OpportunityStatus.LOST else "",
    )  # fmt: skip
    before = rows(Account)
    with pytest.raises(PermissionDenied):
        services.account_update(account_id=account.pk, actor=rep, country="Austria")
    assert rows(Account) == before


@pytest.mark.parametrize("who", ["manager", "other_manager", "leader", "admin_user"])
def test_managers_leaders_and_admins_change_any_account(request, shared, who):
    actor = request.getfixturevalue(who)
    services.account_update(account_id=shared.pk, actor=actor, name=f"Acme by {who}")
    assert Account.objects.get(pk=shared.pk).name == f"Acme by {who}"


def test_the_accounts_a_user_may_not_change_in_one_query(rep, manager, teammate, shared, pipeline):
    own = AccountFactory()
    OpportunityFactory(owner=rep, stage=pipeline.discover, account=own)
    unused = AccountFactory()
    ids = [shared.pk, own.pk, unused.pk]
    with CaptureQueriesContext(connection) as ctx:
        assert services.accounts_locked_for(rep, ids) == {shared.pk}
    assert len(ctx.captured_queries) == 1
    assert services.accounts_locked_for(teammate, ids) == {shared.pk, own.pk}
    with CaptureQueriesContext(connection) as ctx:
        assert services.accounts_locked_for(manager, ids) == set()
    assert len(ctx.captured_queries) == 0
    assert services.can_edit_account(rep, own.pk)
    assert not services.can_edit_account(rep, shared.pk)
