"""Regressions found by fuzzing the API against its own OpenAPI schema (schemathesis; how to
rerun it: bench/fuzz_api.md). Each test sends the request that failed and asserts a 4xx in
the API's error shape with the database unchanged, or that the schema now documents what
the API does."""

from __future__ import annotations

import pytest
from django.http import Http404
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from pipeline import selectors
from pipeline.models import Account, Milestone, Opportunity
from salesops.services import api_key_create
from tests.factories import AccountFactory
from tests.pipeline.test_api import LIST, assert_error, snapshot, url

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"


def account_row(account: Account) -> dict:
    fresh = Account.objects.get(pk=account.pk)
    return {f.attname: getattr(fresh, f.attname) for f in Account._meta.concrete_fields}


# --- 500s ------------------------------------------------------------------------------


def test_options_on_the_upsert_route_is_not_a_500(rep, opportunity, key_for):
    # DRF's metadata called the generic get_object(), which asserted a `pk` URL kwarg.
    opportunity.source, opportunity.external_id = "crm", "0"
    opportunity.save(update_fields=["source", "external_id"])
    before = snapshot(opportunity)
    response = key_for(rep).options("/api/v1/opportunities/by-external-id/crm/0/")
    assert response.status_code == 200, response.content
    assert snapshot(opportunity) == before


@pytest.mark.parametrize("employees", [99_999_999_999, 2**31, 10**30])
def test_account_employees_beyond_the_column_is_a_400_not_a_500(rep, key_for, employees):
    # PositiveIntegerField: 10**11 overflowed PostgreSQL's integer (DataError, a 500).
    client = key_for(rep)
    count = Account.objects.count()
    response = client.post(ACCOUNTS, {"name": "Globex", "employees": employees}, format="json")
    body = assert_error(response, 400, "invalid")
    assert list(body["details"]) == ["employees"]
    assert Account.objects.count() == count

    account = AccountFactory(employees=10)
    before = account_row(account)
    response = client.patch(f"{ACCOUNTS}{account.pk}/", {"employees": employees}, format="json")
    assert_error(response, 400, "invalid")
    assert account_row(account) == before


def test_account_employees_at_the_column_limit_is_accepted(rep, key_for):
    response = key_for(rep).post(
        ACCOUNTS, {"name": "Globex", "employees": 2**31 - 1}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["employees"] == 2**31 - 1


# --- value rules -------------------------------------------------------------------------


def test_non_ascii_currency_is_refused(rep, opportunity, key_for):
    # "ÄÖÜ".isalpha() is true; an ISO 4217 code is three ASCII letters.
    before = snapshot(opportunity)
    response = key_for(rep).patch(url(opportunity), {"currency": "ÄÖÜ"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert list(body["details"]) == ["currency"]
    assert snapshot(opportunity) == before


def test_overlong_forecast_override_reason_is_refused(rep, opportunity, key_for):
    before = snapshot(opportunity)
    response = key_for(rep).patch(
        url(opportunity),
        {"forecast_category": "best_case", "forecast_category_override_reason": "x" * 10_001},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert list(body["details"]) == ["forecast_category_override_reason"]
    assert snapshot(opportunity) == before


# --- unknown routes: JSON 404, not Django's HTML CSRF 403 ------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("patch", "/api/v1/accounts/0.5/"),
        ("delete", "/api/v1/opportunities/0.5/"),
        ("post", "/api/v1/opportunities/-0.3333333333333333/close-lost/"),
    ],
)
def test_unsafe_method_on_an_unrouted_api_path_is_a_json_404(rep, opportunity, method, path):
    _, raw = api_key_create(user=rep, name="test", scopes=["read", "write"])
    client = APIClient(enforce_csrf_checks=True)  # as a real client: no CSRF token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = snapshot(opportunity)
    response = getattr(client, method)(path, {"name": ""}, format="json")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")
    assert snapshot(opportunity) == before


# --- pagination and query parameters ------------------------------------------------------


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=0", "page"),
        ("page=-7895", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        # `page=` is not here: an empty value is "not given", for every query parameter
        # (tests/test_openapi_conformance.py).
        ("page=%C2%B2", "page"),  # a unicode digit
        ("page_size=False", "page_size"),
        ("page_size=null", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=2.225073858507e-311", "page_size"),
        ("page_size=99999999999999999999", "page_size"),
        ("page=1&page=2", "page"),
        ("owner=5&owner=6", "owner"),
        ("search=%00x", "search"),
    ],
)
def test_malformed_list_query_is_a_400(rep, opportunity, key_for, query, field):
    # A bad page_size used to be ignored silently and a bad page was an undocumented 404.
    for path in (LIST, ACCOUNTS, url(opportunity, "history/")):
        body = assert_error(key_for(rep).get(f"{path}?{query}"), 400, "invalid")
        assert list(body["details"]) == [field], path


def test_page_past_the_last_is_a_404_and_page_size_is_capped(rep, opportunity, key_for):
    client = key_for(rep)
    body = assert_error(client.get(LIST, {"page": 2}), 404, "not_found")
    assert body["message"] == "Page 2 does not exist; there is 1 page."
    response = client.get(LIST, {"page": 1, "page_size": 10**6})
    assert response.status_code == 200
    assert response.json()["count"] == Opportunity.objects.count()


def test_empty_list_has_one_page(rep, key_for):
    assert key_for(rep).get(LIST, {"page": 1}).json()["count"] == 0


# --- the schema documents what the API does -------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_400_and_401(schema):
    # Any endpoint refuses a NUL in the query, a bad page, Idempotency-Key or If-Match (400).
    for path, operations in schema["paths"].items():
        if path == "/api/v1/schema/":
            continue
        for method, operation in operations.items():
            assert {"400", "401"} <= set(operation["responses"]), (method, path)


def test_lists_document_404_for_a_page_past_the_last(schema):
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get and any(p["name"] == "page" for p in get.get("parameters", [])):
            assert "404" in get["responses"], path
            page = next(p for p in get["parameters"] if p["name"] == "page")
            assert page["schema"]["minimum"] == 1, path


def test_id_filters_are_positive_integers(schema):
    parameters = {p["name"]: p for p in schema["paths"][LIST]["get"]["parameters"]}
    for name in ("owner", "stage", "pipeline", "team"):
        assert parameters[name]["schema"]["type"] == "integer"
        assert parameters[name]["schema"]["minimum"] == 1


def test_strict_input_bodies_refuse_additional_properties(schema):
    components = schema["components"]["schemas"]
    for name in ("OpportunityCreateInputRequest", "AccountInputRequest", "AdvanceInputRequest"):
        assert components[name]["additionalProperties"] is False, name


def test_header_parameters_state_what_is_accepted(schema):
    parameters = {
        p["name"]: p for p in schema["paths"][f"{LIST}{{id}}/advance/"]["post"]["parameters"]
    }
    assert parameters["Idempotency-Key"]["schema"]["maxLength"] == 255
    assert parameters["Idempotency-Key"]["schema"]["pattern"] == "^[!-~]+$"
    assert "pattern" in parameters["If-Match"]["schema"]


def test_repeated_filter_parameter_leaves_nothing_changed(rep, opportunity, key_for):
    # Reads only, but keep the pattern: a refused request changes nothing.
    before = snapshot(opportunity)
    assert_error(key_for(rep).get(LIST, {"stage": [1, 2]}), 400, "invalid")
    assert snapshot(opportunity) == before


def test_integer_bounds_are_in_the_schema_and_enforced(admin_user, pipeline, key_for, schema):
    # PATCH /stages/3/ {"probability": -9534} was a documented-valid body refused with 400.
    stage_schema = schema["components"]["schemas"]["PatchedStageUpdateInputRequest"]
    assert stage_schema["properties"]["probability"]["minimum"] == 0
    assert stage_schema["properties"]["probability"]["maximum"] == 100
    assert stage_schema["properties"]["order"]["maximum"] == 32_767
    account_schema = schema["components"]["schemas"]["AccountInputRequest"]
    assert account_schema["properties"]["employees"]["maximum"] == 2**31 - 1

    stage = pipeline.discover
    before = {f.attname: getattr(stage, f.attname) for f in stage._meta.concrete_fields}
    response = key_for(admin_user).patch(
        f"/api/v1/stages/{stage.pk}/",
        {"probability": -9534, "expected_days": -9322, "rot_days": -1522234042289},
        format="json",
    )
    body = assert_error(response, 400, "invalid")
    assert set(body["details"]) == {"probability", "expected_days", "rot_days"}
    stage.refresh_from_db()
    assert {f.attname: getattr(stage, f.attname) for f in stage._meta.concrete_fields} == before


def test_unicode_digit_ids_are_a_404_not_a_500(admin_user, pipeline, opportunity, key_for):
    # "¹".isdigit() is true but int("¹") raises: DELETE /api/v1/milestones/¹/ was a 500.
    client = key_for(admin_user)
    milestones = Milestone.objects.count()
    before = snapshot(opportunity)
    assert_error(client.delete("/api/v1/milestones/¹/"), 404, "not_found")
    assert_error(client.get(f"{LIST}¹/"), 404, "not_found")
    assert_error(client.patch(f"{ACCOUNTS}²/", {"name": "x"}, format="json"), 404, "not_found")
    assert_error(client.get("/api/v1/business-issues/³/"), 404, "not_found")
    assert Milestone.objects.count() == milestones
    assert snapshot(opportunity) == before
    with pytest.raises(Http404):  # the selector's own guard (pages call it directly)
        selectors.account_get("¹")


def test_unicode_digit_if_match_is_a_400(rep, opportunity, key_for):
    before = snapshot(opportunity)
    response = key_for(rep).patch(
        url(opportunity), {"name": "Renamed"}, format="json", HTTP_IF_MATCH='"¹"'
    )
    assert_error(response, 400, "invalid_if_match")
    assert snapshot(opportunity) == before
