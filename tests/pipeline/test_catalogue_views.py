"""The account and product pages, and a deal's product on the opportunity pages: what is
saved, what is refused (shown at the field, nothing saved), who may, and fixed query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipeline.models import Account, Opportunity, Product
from tests.factories import AccountFactory, OpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"pipeline:{name}", args=args)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def rows(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


# --- accounts -----------------------------------------------------------------------------


def test_anyone_adds_and_edits_an_account(logged_in, rep):
    client = logged_in(rep)
    response = client.post(
        url("account_create"),
        {"name": "Acme", "domain": "acme.example", "employees": "120", "country": "Germany"},
    )
    assert response.status_code == 302
    account = Account.objects.get()
    assert (account.domain, account.employees, account.country) == ("acme.example", 120, "Germany")
    page = client.get(url("account_edit", account.pk))
    assert page.status_code == 200 and 'value="Germany"' in page.content.decode()
    assert 'data-testid="account-save"' in page.content.decode()
    response = client.post(url("account_edit", account.pk), {"name": "Acme", "country": "Austria"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.country, account.employees, account.domain) == ("Austria", None, "")


def test_a_refused_account_keeps_what_was_typed(logged_in, rep):
    AccountFactory(name="Taken", source="", external_id="ACC-1")
    before = rows(Account)
    response = logged_in(rep).post(
        url("account_create"), {"name": "Globex", "country": "Spain", "external_id": "ACC-1"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "An account with this external id exists." in html
    assert 'value="Globex"' in html and 'value="Spain"' in html
    assert rows(Account) == before


def test_account_list_search(logged_in, rep):
    AccountFactory(name="Acme", country="Germany")
    AccountFactory(name="Globex")
    page = logged_in(rep).get(url("account_list"), {"search": "acm"})
    assert [a.name for a in page.context["page"].object_list] == ["Acme"]
    assert "Germany" in page.content.decode()


def test_an_unknown_account_is_a_404(logged_in, rep):
    assert logged_in(rep).get(url("account_edit", 999_999)).status_code == 404


# --- products -----------------------------------------------------------------------------


def test_admin_adds_edits_and_deletes_a_product(logged_in, admin_user):
    client = logged_in(admin_user)
    response = client.post(
        url("product_create"),
        {"name": "Suite", "family": "Platform", "list_price": "990", "currency": "eur",
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.list_price, product.currency, product.is_active) == (
        Decimal("990.00"),
        "EUR",
        True,
    )
    response = client.post(url("product_edit", product.pk), {"name": "Suite"})  # unticked
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.is_active, product.list_price, product.family) == (False, None, "")
    assert client.post(url("product_delete", product.pk)).status_code == 302
    assert not Product.objects.exists()


def test_a_product_in_use_is_not_deleted(logged_in, admin_user, rep, pipeline):
    product = ProductFactory(name="Suite")
    OpportunityFactory(owner=rep, stage=pipeline.discover, product=product)
    client = logged_in(admin_user)
    page = client.get(url("product_edit", product.pk))
    assert 'data-testid="product-in-use"' in page.content.decode()
    before = rows(Product)
    response = client.post(url("product_delete", product.pk), follow=True)
    assert "deactivate it instead" in response.content.decode()
    assert rows(Product) == before


def test_a_refused_product_keeps_what_was_typed(logged_in, admin_user):
    ProductFactory(name="Suite")
    before = rows(Product)
    response = logged_in(admin_user).post(
        url("product_create"), {"name": "SUITE", "family": "Add-ons", "currency": "EURO"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Add-ons"' in html
    assert rows(Product) == before
    response = logged_in(admin_user).post(
        url("product_create"), {"name": "suite", "family": "Add-ons"}
    )
    assert response.status_code == 422
    assert "A product with this name exists." in response.content.decode()
    assert rows(Product) == before


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_only_admins_change_products(logged_in, request, who):
    product = ProductFactory(name="Suite")
    client = logged_in(request.getfixturevalue(who))
    before = rows(Product)
    assert client.get(url("product_list")).status_code == 200
    assert "+ New product" not in client.get(url("product_list")).content.decode()
    assert client.get(url("product_create")).status_code == 403
    assert client.post(url("product_create"), {"name": "Mine"}).status_code == 403
    assert client.post(url("product_edit", product.pk), {"name": "Mine"}).status_code == 403
    assert client.post(url("product_delete", product.pk)).status_code == 403
    assert rows(Product) == before


def test_product_list_filters_and_counts_deals(logged_in, rep, pipeline):
    suite = ProductFactory(name="Suite")
    ProductFactory(name="Legacy", is_active=False)
    OpportunityFactory.create_batch(3, owner=rep, stage=pipeline.discover, product=suite)
    client = logged_in(rep)
    page = client.get(url("product_list"))
    assert {p.name: p.deal_count for p in page.context["page"].object_list} == {
        "Legacy": 0,
        "Suite": 3,
    }
    page = client.get(url("product_list"), {"active": "false"})
    assert [p.name for p in page.context["page"].object_list] == ["Legacy"]


def _count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["account_list", "product_list"])
def test_list_query_count_is_fixed(logged_in, rep, pipeline, page, django_assert_max_num_queries):
    client = logged_in(rep)
    AccountFactory()
    OpportunityFactory(owner=rep, stage=pipeline.discover, product=ProductFactory())
    one = _count_queries(client, url(page))
    for _ in range(60):
        OpportunityFactory(owner=rep, stage=pipeline.discover, product=ProductFactory())
    assert _count_queries(client, url(page)) == one
    with django_assert_max_num_queries(8):
        client.get(url(page), {"page": 2})


# --- a deal's product on the opportunity pages ------------------------------------------------


def test_a_deal_is_created_with_a_product_on_the_page(logged_in, rep, pipeline):
    suite = ProductFactory(name="Suite")
    legacy = ProductFactory(name="Legacy", is_active=False)
    client = logged_in(rep)
    form = client.get(url("opportunity_create")).context["form"]
    assert list(form.fields["product"].queryset) == [suite]  # only active products offered
    response = client.post(
        url("opportunity_create"),
        {"name": "Suite for Acme", "new_account_name": "Acme", "amount": "100",
         "currency": "EUR", "close_date": "2031-01-31", "product": suite.pk},
    )  # fmt: skip
    assert response.status_code == 302
    opp = Opportunity.objects.get()
    assert opp.product_id == suite.pk
    page = client.get(url("opportunity_detail", opp.pk))
    assert '<span data-testid="product">Suite</span>' in page.content.decode()
    # A product off the offer cannot be chosen (the form refuses it; nothing is saved).
    response = client.post(
        url("opportunity_create"),
        {"name": "Legacy deal", "account": opp.account_id, "amount": "1", "currency": "EUR",
         "close_date": "2031-01-31", "product": legacy.pk},
    )  # fmt: skip
    assert response.status_code == 422
    assert Opportunity.objects.count() == 1


def test_the_edit_form_keeps_a_deactivated_product(logged_in, rep, pipeline):
    legacy = ProductFactory(name="Legacy", is_active=False)
    suite = ProductFactory(name="Suite")
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, product=legacy)
    client = logged_in(rep)
    form = client.get(url("opportunity_detail", opp.pk)).context["edit_form"]
    assert set(form.fields["product"].queryset) == {legacy, suite}
    assert form.initial["product"] == legacy.pk
    data = {
        "version": 1,
        "amount": "10000.00",
        "close_date": opp.close_date.isoformat(),
        "forecast_category": opp.forecast_category,
        "product": legacy.pk,
    }
    assert client.post(url("opportunity_edit", opp.pk), data).status_code == 302
    assert Opportunity.objects.get(pk=opp.pk).product_id == legacy.pk
    data = {**data, "version": 1, "product": suite.pk}
    assert client.post(url("opportunity_edit", opp.pk), data).status_code == 302
    assert Opportunity.objects.get(pk=opp.pk).product_id == suite.pk


# --- an account other people's deals use --------------------------------------------------

SHARED = "This account is used by other people&#x27;s deals; ask your manager to change it."


@pytest.fixture
def shared(rep, teammate, pipeline) -> Account:
    """An account on a deal of `teammate` (someone else's, for `rep`)."""
    account = AccountFactory(name="Acme", country="Germany")
    OpportunityFactory(owner=teammate, stage=pipeline.discover, account=account)
    return account


def test_a_rep_saving_a_shared_account_sees_why_and_keeps_what_they_typed(logged_in, rep, shared):
    before = rows(Account)
    response = logged_in(rep).post(
        url("account_edit", shared.pk), {"name": "Acme Renamed", "country": "Austria"}
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert SHARED in html
    assert 'value="Acme Renamed"' in html and 'value="Austria"' in html
    assert rows(Account) == before


def test_a_rep_opening_a_shared_account_is_told_before_typing(logged_in, rep, shared):
    page = logged_in(rep).get(url("account_edit", shared.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert SHARED in html and 'value="Germany"' in html
    assert 'data-testid="account-save"' not in html  # nothing to save


def test_the_edit_button_shows_only_where_the_user_may_edit(
    logged_in, rep, teammate, manager, shared, pipeline
):
    own = AccountFactory(name="Own")
    OpportunityFactory(owner=rep, stage=pipeline.discover, account=own)
    edit = url("account_edit", shared.pk)
    for user, shown in ((rep, False), (teammate, True), (manager, True)):
        html = logged_in(user).get(url("account_list")).content.decode()
        assert (f'href="{edit}"' in html) is shown, user.username
    html = logged_in(rep).get(url("account_list")).content.decode()
    assert f'href="{url("account_edit", own.pk)}"' in html
