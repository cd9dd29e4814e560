"""Products (the catalogue), the product of a deal and an account's country: the services,
with the database checked after every success and every refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline import services
from pipeline.models import Account, Opportunity, Product
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent
from tests.factories import AccountFactory, OpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db


def rows(model) -> list[dict]:
    """Every row of `model`, every column: what a refusal must leave as it was."""
    return list(model.objects.order_by("pk").values())


# --- product_create ----------------------------------------------------------------------


def test_admin_creates_a_product(admin_user):
    product = services.product_create(
        actor=admin_user,
        name="  Analytics Suite ",
        family="Platform",
        list_price="12500.5",
        currency="eur",
        source="hubspot",
        external_id="P-1",
    )
    stored = Product.objects.get()
    assert stored.pk == product.pk
    assert (stored.name, stored.family, stored.list_price, stored.currency) == (
        "Analytics Suite",
        "Platform",
        Decimal("12500.50"),
        "EUR",
    )
    assert (stored.source, stored.external_id, stored.is_active) == ("hubspot", "P-1", True)
    assert AuditEvent.objects.filter(action="product.created", target_id=product.pk).exists()


def test_a_product_needs_no_price_nor_currency(admin_user):
    product = services.product_create(actor=admin_user, name="Workshop")
    assert (product.list_price, product.currency, product.family) == (None, "", "")


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_only_an_admin_creates_a_product(request, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.product_create(actor=actor, name="Analytics Suite")
    assert Product.objects.count() == 0
    assert not AuditEvent.objects.filter(action="product.created").exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Suite", "list_price": "-1"}, "list_price"),
        ({"name": "Suite", "list_price": "ten"}, "list_price"),
        ({"name": "Suite", "list_price": "1e13"}, "list_price"),
        ({"name": "Suite", "currency": "EURO"}, "currency"),
        ({"name": "Suite", "family": "f" * 101}, "family"),
        ({"name": "Suite", "external_id": "e" * 101}, "external_id"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_saved(admin_user, data, field):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=admin_user, **data)
    assert field in exc.value.details
    assert Product.objects.count() == 0


def test_a_name_is_unique_whatever_the_case(admin_user):
    ProductFactory(name="Analytics Suite")
    before = rows(Product)
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=admin_user, name="analytics suite")
    assert "name" in exc.value.details
    assert rows(Product) == before


def test_an_external_id_is_unique_per_source(admin_user):
    ProductFactory(name="A", source="crm", external_id="P-1")
    before = rows(Product)
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=admin_user, name="B", source="crm", external_id="P-1")
    assert "external_id" in exc.value.details
    assert rows(Product) == before
    # Another source may use the same id.
    services.product_create(actor=admin_user, name="B", source="other", external_id="P-1")
    assert Product.objects.count() == 2


def test_unknown_fields_are_refused(admin_user):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=admin_user, name="Suite", price="10")
    assert "price" in exc.value.details
    assert Product.objects.count() == 0


# --- product_update / product_delete ---------------------------------------------------


def test_admin_changes_and_deactivates_a_product(admin_user):
    product = ProductFactory(name="Suite", list_price=Decimal("100.00"))
    services.product_update(
        product_id=product.pk, actor=admin_user, list_price="150", is_active=False
    )
    product.refresh_from_db()
    assert (product.list_price, product.is_active) == (Decimal("150.00"), False)
    event = AuditEvent.objects.get(action="product.updated", target_id=product.pk)
    assert event.data == {"fields": ["is_active", "list_price"]}


def test_an_unchanged_update_records_nothing(admin_user):
    product = ProductFactory(name="Suite")
    services.product_update(product_id=product.pk, actor=admin_user, name="Suite")
    assert not AuditEvent.objects.filter(action="product.updated").exists()


def test_update_refusals_change_nothing(admin_user, rep):
    product = ProductFactory(name="Suite")
    ProductFactory(name="Other")
    before = rows(Product)
    with pytest.raises(PermissionDenied):
        services.product_update(product_id=product.pk, actor=rep, name="Mine")
    with pytest.raises(ValidationFailed):
        services.product_update(product_id=product.pk, actor=admin_user, name="OTHER")
    with pytest.raises(ValidationFailed):
        services.product_update(product_id=product.pk, actor=admin_user, created_at=None)
    with pytest.raises(NotFound):
        services.product_update(product_id=product.pk + 100, actor=admin_user, name="X")
    assert rows(Product) == before


def test_a_product_nobody_sold_is_deleted(admin_user):
    product = ProductFactory()
    services.product_delete(product_id=product.pk, actor=admin_user)
    assert not Product.objects.exists()
    assert AuditEvent.objects.filter(action="product.deleted", target_id=product.pk).exists()


def test_a_product_deals_use_is_not_deleted_but_may_be_deactivated(admin_user, rep, pipeline):
    product = ProductFactory(name="Suite")
    OpportunityFactory.create_batch(2, owner=rep, stage=pipeline.discover, product=product)
    before = rows(Product)
    with pytest.raises(Conflict) as exc:
        services.product_delete(product_id=product.pk, actor=admin_user)
    assert exc.value.code == "product_in_use"
    assert exc.value.details == {"opportunities": 2}
    assert "deactivate" in exc.value.message
    assert rows(Product) == before
    services.product_update(product_id=product.pk, actor=admin_user, is_active=False)
    assert Opportunity.objects.filter(product=product).count() == 2


def test_delete_refusals(admin_user, manager):
    product = ProductFactory()
    with pytest.raises(PermissionDenied):
        services.product_delete(product_id=product.pk, actor=manager)
    with pytest.raises(NotFound):
        services.product_delete(product_id=product.pk + 1, actor=admin_user)
    assert Product.objects.filter(pk=product.pk).exists()


# --- a deal's product --------------------------------------------------------------------


def test_a_deal_is_created_with_an_active_product(rep, pipeline):
    product = ProductFactory()
    opp = services.opportunity_create(
        actor=rep,
        name="Suite for Acme",
        account=AccountFactory(),
        close_date="2031-01-31",
        product=product,
    )
    assert Opportunity.objects.get(pk=opp.pk).product_id == product.pk


def test_an_inactive_product_is_refused_and_nothing_is_saved(rep, pipeline):
    product = ProductFactory(is_active=False, name="Legacy")
    with pytest.raises(ValidationFailed) as exc:
        services.opportunity_create(
            actor=rep,
            name="Suite for Acme",
            account=None,
            new_account_name="Acme",
            close_date="2031-01-31",
            product=product,
        )
    assert "no longer offered" in exc.value.details["product"][0]
    assert Opportunity.objects.count() == 0
    assert not Account.objects.filter(name="Acme").exists()


def test_a_deal_changes_its_product_and_keeps_a_deactivated_one(rep, pipeline):
    old, new = ProductFactory(name="Old"), ProductFactory(name="New")
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, product=old)
    old.is_active = False
    old.save(update_fields=["is_active"])
    # Saving the deal with its own (now inactive) product is fine and changes nothing.
    services.opportunity_update(opportunity_id=opp.pk, actor=rep, product=old)
    assert Opportunity.objects.get(pk=opp.pk).version == 1
    services.opportunity_update(opportunity_id=opp.pk, actor=rep, product=new)
    stored = Opportunity.objects.get(pk=opp.pk)
    assert (stored.product_id, stored.version) == (new.pk, 2)
    # Back to the inactive one: refused, nothing changes.
    with pytest.raises(ValidationFailed):
        services.opportunity_update(opportunity_id=opp.pk, actor=rep, product=old)
    assert Opportunity.objects.get(pk=opp.pk).product_id == new.pk
    services.opportunity_update(opportunity_id=opp.pk, actor=rep, product=None)
    assert Opportunity.objects.get(pk=opp.pk).product_id is None


# --- an account's country ----------------------------------------------------------------


def test_an_account_has_a_country(rep):
    account = services.account_create(actor=rep, name="Acme", country=" Germany ")
    assert Account.objects.get(pk=account.pk).country == "Germany"
    services.account_update(account_id=account.pk, actor=rep, country="Austria")
    assert Account.objects.get(pk=account.pk).country == "Austria"
    before = rows(Account)
    with pytest.raises(ValidationFailed) as exc:
        services.account_update(account_id=account.pk, actor=rep, country="c" * 101)
    assert "country" in exc.value.details
    assert rows(Account) == before
