"""API parity with the pages: products (the catalogue), a deal's product, an account's
country, a new account with its first deal, business issues written over the API, and the
opportunity list's filters by source, external id and team (sub-teams included) — each
through the same service or selector as the page, the database checked after refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.models import Account, BusinessIssue, Opportunity, Pipeline, Product, Stage
from salesops.models import Team
from tests.factories import (
    BusinessIssueFactory,
    OpportunityFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
)
from tests.pipeline.test_api import LIST, assert_error, snapshot, url

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def product_rows() -> list[dict]:
    return list(Product.objects.order_by("pk").values())


# --- products ----------------------------------------------------------------------------


def test_everyone_reads_the_catalogue(rep, key_for):
    ProductFactory(name="Suite", list_price=Decimal("12500.00"), external_id="P-1")
    ProductFactory(name="Legacy", is_active=False)
    client = key_for(rep, ("read",))
    body = client.get(PRODUCTS).json()
    assert [p["name"] for p in body["results"]] == ["Legacy", "Suite"]
    suite = body["results"][1]
    assert set(suite) == {
        "id", "name", "family", "list_price", "currency", "is_active", "source",
        "external_id", "created_at",
    }  # fmt: skip
    assert suite["list_price"] == "12500.00"
    assert [p["name"] for p in client.get(PRODUCTS, {"active": "true"}).json()["results"]] == [
        "Suite"
    ]
    assert [p["name"] for p in client.get(PRODUCTS, {"active": "false"}).json()["results"]] == [
        "Legacy"
    ]
    assert [p["name"] for p in client.get(PRODUCTS, {"search": "sui"}).json()["results"]] == [
        "Suite"
    ]
    assert_error(client.get(PRODUCTS, {"active": "maybe"}), 400, "invalid")
    assert client.get(f"{PRODUCTS}{suite['id']}/").json()["name"] == "Suite"
    assert_error(client.get(f"{PRODUCTS}999999/"), 404, "not_found")


def test_admin_writes_the_catalogue(admin_user, key_for):
    client = key_for(admin_user)
    created = client.post(
        PRODUCTS, {"name": "Suite", "list_price": "990", "currency": "usd"}, format="json"
    )
    assert created.status_code == 201, created.content
    product = Product.objects.get()
    assert (product.list_price, product.currency) == (Decimal("990.00"), "USD")
    patched = client.patch(f"{PRODUCTS}{product.pk}/", {"is_active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert client.delete(f"{PRODUCTS}{product.pk}/").status_code == 204
    assert not Product.objects.exists()


def test_catalogue_refusals_change_nothing(admin_user, rep, pipeline, key_for):
    product = ProductFactory(name="Suite")
    OpportunityFactory(owner=rep, stage=pipeline.discover, product=product)
    before = product_rows()
    admin = key_for(admin_user)
    assert_error(key_for(rep).post(PRODUCTS, {"name": "Mine"}, format="json"), 403)
    assert_error(key_for(rep).patch(f"{PRODUCTS}{product.pk}/", {"name": "X"}, format="json"), 403)
    body = assert_error(admin.post(PRODUCTS, {"name": "SUITE"}, format="json"), 400, "invalid")
    assert list(body["details"]) == ["name"]
    body = assert_error(
        admin.post(PRODUCTS, {"name": "New", "list_price": "-5"}, format="json"), 400, "invalid"
    )
    assert list(body["details"]) == ["list_price"]
    body = assert_error(admin.post(PRODUCTS, {"name": "New", "colour": "red"}), 400, "invalid")
    assert list(body["details"]) == ["colour"]
    assert_error(admin.patch(f"{PRODUCTS}{product.pk}/", {"id": 5}, format="json"), 400)
    body = assert_error(admin.delete(f"{PRODUCTS}{product.pk}/"), 409, "product_in_use")
    assert body["details"] == {"opportunities": 1}
    assert product_rows() == before


# --- a deal's product, a new account with its deal, an account's country -------------------


def test_a_deal_gets_a_product_over_the_api(rep, pipeline, key_for):
    product, legacy = ProductFactory(name="Suite"), ProductFactory(name="Legacy", is_active=False)
    client = key_for(rep)
    response = client.post(
        LIST,
        {
            "name": "Suite for Acme",
            "new_account_name": "Acme",
            "close_date": "2031-01-31",
            "product": product.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["product"] == {"id": product.pk, "name": "Suite"}
    assert body["account"]["name"] == "Acme"
    opp = Opportunity.objects.get(pk=body["id"])
    assert (opp.product_id, opp.account.name) == (product.pk, "Acme")
    # Read back, in the list and alone.
    assert client.get(url(opp)).json()["product"] == {"id": product.pk, "name": "Suite"}
    assert client.get(LIST).json()["results"][0]["product"]["name"] == "Suite"
    # An inactive product is refused and nothing changes.
    before = snapshot(opp)
    body = assert_error(client.patch(url(opp), {"product": legacy.pk}, format="json"), 400)
    assert list(body["details"]) == ["product"]
    assert snapshot(opp) == before
    response = client.patch(url(opp), {"product": None}, format="json")
    assert response.status_code == 200 and response.json()["product"] is None


def test_a_refused_deal_with_a_new_account_saves_neither(rep, pipeline, key_for):
    accounts = Account.objects.count()
    response = key_for(rep).post(
        LIST, {"name": "", "new_account_name": "Acme", "close_date": "2031-01-31"}, format="json"
    )
    assert_error(response, 400, "invalid")
    assert Account.objects.count() == accounts
    assert Opportunity.objects.count() == 0


def test_an_account_country_over_the_api(rep, key_for):
    client = key_for(rep)
    response = client.post("/api/v1/accounts/", {"name": "Acme", "country": "Germany"})
    assert response.status_code == 201 and response.json()["country"] == "Germany"
    account = Account.objects.get(name="Acme")
    response = client.patch(f"/api/v1/accounts/{account.pk}/", {"country": "Austria"})
    assert response.json()["country"] == "Austria"
    assert_error(
        client.patch(f"/api/v1/accounts/{account.pk}/", {"country": "c" * 101}), 400, "invalid"
    )
    assert Account.objects.get(pk=account.pk).country == "Austria"


# --- business issues: created, changed and deleted over the API, like on the page ----------


def test_business_issues_are_written_over_the_api(rep, opportunity, key_for):
    client = key_for(rep)
    created = client.post(
        url(opportunity, "business-issues/"),
        {"issue": "Manual matching costs 3 FTE", "quantified_value": "140000"},
        format="json",
    )
    assert created.status_code == 201, created.content
    issue = BusinessIssue.objects.get(pk=created.json()["id"])
    response = client.patch(
        f"/api/v1/business-issues/{issue.pk}/", {"our_value": "Frees 2 FTE"}, format="json"
    )
    assert response.status_code == 200
    issue.refresh_from_db()
    assert (issue.issue, issue.our_value) == ("Manual matching costs 3 FTE", "Frees 2 FTE")
    before = list(BusinessIssue.objects.values())
    assert_error(
        client.patch(f"/api/v1/business-issues/{issue.pk}/", {"issue": ""}, format="json"), 400
    )
    assert_error(
        client.patch(
            f"/api/v1/business-issues/{issue.pk}/", {"quantified_value": "-1"}, format="json"
        ),
        400,
    )
    assert list(BusinessIssue.objects.values()) == before
    assert client.delete(f"/api/v1/business-issues/{issue.pk}/").status_code == 204
    assert not BusinessIssue.objects.exists()


def test_business_issues_of_others_are_not_found(rep, other_rep, pipeline, key_for):
    issue = BusinessIssueFactory(
        opportunity=OpportunityFactory(owner=other_rep, stage=pipeline.discover)
    )
    client = key_for(rep)
    assert_error(client.patch(f"/api/v1/business-issues/{issue.pk}/", {"impact": "x"}), 404)
    assert_error(client.delete(f"/api/v1/business-issues/{issue.pk}/"), 404)
    assert BusinessIssue.objects.filter(pk=issue.pk, impact="").exists()


# --- the opportunity list's filters --------------------------------------------------------


@pytest.fixture
def sub_team(team_a) -> Team:
    return TeamFactory(name="Team A North", parent=team_a)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


def test_team_filter_includes_sub_teams(leader, rep, other_rep, sub_team, pipeline, key_for):
    north = UserFactory(username="north", team=sub_team)
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="A deal")
    OpportunityFactory(owner=north, stage=pipeline.discover, name="North deal")
    OpportunityFactory(owner=other_rep, stage=pipeline.discover, name="B deal")
    client = key_for(leader)
    assert names(client.get(LIST, {"team": rep.team_id})) == ["A deal", "North deal"]
    assert names(client.get(LIST, {"team": sub_team.pk})) == ["North deal"]
    assert names(client.get(LIST, {"team": other_rep.team_id})) == ["B deal"]
    assert names(client.get(LIST, {"team": 999_999})) == []
    assert_error(client.get(LIST, {"team": "A"}), 400, "invalid")


def test_team_filter_never_widens_the_scope(manager, other_rep, pipeline, key_for):
    OpportunityFactory(owner=other_rep, stage=pipeline.discover, name="B deal")
    assert names(key_for(manager).get(LIST, {"team": other_rep.team_id})) == []


def test_source_and_external_id_filters(rep, pipeline, key_for):
    OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="H1", source="hubspot", external_id="1"
    )
    OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="H2", source="hubspot", external_id="2"
    )
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="S1", source="sf", external_id="1")
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Own")
    client = key_for(rep)
    assert names(client.get(LIST, {"source": "hubspot"})) == ["H1", "H2"]
    assert names(client.get(LIST, {"external_id": "1"})) == ["H1", "S1"]
    assert names(client.get(LIST, {"source": "hubspot", "external_id": "2"})) == ["H2"]
    assert names(client.get(LIST, {"source": "HubSpot"})) == []  # exact
    assert len(names(client.get(LIST, {"source": ""}))) == 4  # empty: no filter


def test_filtered_list_query_count_is_fixed(leader, rep, sub_team, pipeline, key_for,
                                            django_assert_max_num_queries):  # fmt: skip
    client = key_for(leader)
    OpportunityFactory(owner=rep, stage=pipeline.discover, source="crm", product=ProductFactory())
    params = {"team": rep.team_id, "source": "crm"}
    # key, its last-use stamp, the team tree, count, page, flags
    with django_assert_max_num_queries(6):
        assert len(names(client.get(LIST, params))) == 1
    OpportunityFactory.create_batch(
        60, owner=rep, stage=pipeline.qualify, source="crm", product=ProductFactory()
    )
    with django_assert_max_num_queries(6):
        assert len(names(client.get(LIST, params))) == 50


def test_product_list_query_count_is_fixed(rep, key_for, django_assert_max_num_queries):
    client = key_for(rep)
    ProductFactory()
    with django_assert_max_num_queries(4):  # key, its last-use stamp, count, page
        assert client.get(PRODUCTS).status_code == 200
    ProductFactory.create_batch(80)
    with django_assert_max_num_queries(4):
        assert len(client.get(PRODUCTS).json()["results"]) == 50


# --- the setup pages' pipeline from a template and stage moves, over the API ----------------


def test_a_pipeline_from_a_template_over_the_api(admin_user, rep, key_for):
    pipelines = list(Pipeline.objects.values_list("name", flat=True))
    assert_error(
        key_for(rep).post(
            "/api/v1/pipelines/from-template/", {"template": "blank", "name": "Mine"}
        ),
        403,
    )
    admin = key_for(admin_user)
    body = assert_error(
        admin.post("/api/v1/pipelines/from-template/", {"template": "nope", "name": "X"}),
        400,
        "invalid",
    )
    assert list(body["details"]) == ["template"]
    assert_error(admin.post("/api/v1/pipelines/from-template/", {"template": "blank"}), 400)
    assert list(Pipeline.objects.values_list("name", flat=True)) == pipelines
    response = admin.post(
        "/api/v1/pipelines/from-template/", {"template": "blank", "name": "Renewals"}
    )
    assert response.status_code == 201, response.content
    created = Pipeline.objects.get(name="Renewals")
    assert [s["name"] for s in response.json()["stages"]] == list(
        Stage.objects.filter(pipeline=created).order_by("order").values_list("name", flat=True)
    )
    assert len(response.json()["stages"]) >= 3


def test_a_stage_moves_over_the_api(admin_user, rep, pipeline, key_for):
    def order() -> list[str]:
        return list(
            Stage.objects.filter(pipeline=pipeline).order_by("order").values_list("name", flat=True)
        )

    before = order()
    proposal = f"/api/v1/stages/{pipeline.proposal.pk}/move/"
    assert_error(key_for(rep).post(proposal, {"position": 1}), 403)
    admin = key_for(admin_user)
    assert_error(admin.post(proposal, {"position": 0}), 400, "invalid")
    assert_error(admin.post(proposal, {"position": 99}), 400, "invalid")
    assert_error(admin.post("/api/v1/stages/999999/move/", {"position": 1}), 404)
    assert order() == before
    response = admin.post(proposal, {"position": 1})
    assert response.status_code == 200, response.content
    assert response.json()["order"] == 1
    assert order() == ["Proposal", "Discover", "Qualify", "Closed won", "Closed lost"]
