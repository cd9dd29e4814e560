"""pipeline.bulk's services for accounts and products files: set-based updates with the
checks of account_update / product_update, and the undo of an import that created them —
the database after success and after refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline import bulk
from pipeline.models import Account, Product
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def account_update(account: Account, **values) -> bulk.AccountUpdate:
    data = {
        "id": account.pk, "name": account.name, "domain": account.domain,
        "industry": account.industry, "employees": account.employees,
        "country": account.country, "source": account.source,
        "external_id": account.external_id, "fields": tuple(values),
    }  # fmt: skip
    return bulk.AccountUpdate(**(data | values))


def accounts() -> list[tuple]:
    return list(Account.objects.order_by("id").values_list(
        "name", "domain", "employees", "source", "external_id"))  # fmt: skip


def test_accounts_update_in_bulk(leader):
    acme, globex = AccountFactory(name="Acme"), AccountFactory(name="Globex")
    updated = bulk.accounts_import_update(
        actor=leader,
        accounts=[
            account_update(acme, domain="acme.com", employees=1200, source="sf",
                           external_id="001"),
            account_update(globex, name="Globex Corp"),
        ],
    )  # fmt: skip
    assert updated == 2
    acme.refresh_from_db()
    assert (acme.domain, acme.employees, acme.source, acme.external_id) == (
        "acme.com", 1200, "sf", "001",
    )  # fmt: skip
    assert Account.objects.get(pk=globex.pk).name == "Globex Corp"
    events = AuditEvent.objects.filter(action="account.updated").order_by("target_id")
    assert [e.data["fields"] for e in events] == [
        ["domain", "employees", "external_id", "source"], ["name"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    "values",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"employees": -1},
        {"employees": 2**31},
        {"domain": "d" * 201},
        {"source": "sf", "external_id": "TAKEN"},
    ],
)
def test_accounts_update_refuses_and_changes_nothing(leader, values):
    AccountFactory(name="Other", source="sf", external_id="TAKEN")
    acme = AccountFactory(name="Acme")
    fine = AccountFactory(name="Fine")
    before = accounts()
    with pytest.raises(ValidationFailed):
        bulk.accounts_import_update(
            actor=leader,
            accounts=[account_update(fine, country="DE"), account_update(acme, **values)],
        )
    assert accounts() == before
    assert not AuditEvent.objects.filter(action="account.updated").exists()


def test_accounts_update_refuses_a_rep_and_a_vanished_account(rep, leader):
    acme = AccountFactory(name="Acme")
    with pytest.raises(PermissionDenied):
        bulk.accounts_import_update(actor=rep, accounts=[account_update(acme, name="X")])
    gone = account_update(acme, name="X")
    acme.delete()
    with pytest.raises(ValidationFailed):
        bulk.accounts_import_update(actor=leader, accounts=[gone])


def product_update(product: Product, **values) -> bulk.ProductUpdate:
    data = {
        "id": product.pk, "name": product.name, "family": product.family,
        "list_price": product.list_price, "currency": product.currency,
        "source": product.source, "external_id": product.external_id, "fields": tuple(values),
    }  # fmt: skip
    return bulk.ProductUpdate(**(data | values))


def test_products_update_and_refuse(admin_user):
    core = Product.objects.create(name="Core")
    Product.objects.create(name="Analytics")
    assert bulk.products_import_update(
        actor=admin_user,
        products=[product_update(core, list_price=Decimal("12.50"), currency="USD")],
    ) == 1  # fmt: skip
    core.refresh_from_db()
    assert (core.list_price, core.currency) == (Decimal("12.50"), "USD")
    before = list(Product.objects.order_by("id").values())
    for values in ({"name": "ANALYTICS"}, {"list_price": Decimal("-1")}, {"currency": "EURO"}):
        with pytest.raises(ValidationFailed):
            bulk.products_import_update(actor=admin_user, products=[product_update(core, **values)])
        assert list(Product.objects.order_by("id").values()) == before


def test_undo_deletes_unused_records_or_nothing(leader, rep, pipeline):
    a, b = AccountFactory(name="A"), AccountFactory(name="B")
    OpportunityFactory(owner=rep, stage=pipeline.discover, account=b)
    with pytest.raises(ValidationFailed):
        bulk.accounts_import_delete(actor=leader, account_ids=[a.pk, b.pk])
    assert Account.objects.filter(pk__in=[a.pk, b.pk]).count() == 2
    assert bulk.accounts_import_delete(actor=leader, account_ids=[a.pk]) == {"accounts": 1}
    p = Product.objects.create(name="P")
    with pytest.raises(PermissionDenied):
        bulk.products_import_delete(actor=rep, product_ids=[p.pk])
    assert bulk.products_import_delete(actor=leader, product_ids=[p.pk]) == {"products": 1}
    assert not Product.objects.exists()
