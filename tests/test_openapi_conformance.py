"""The OpenAPI schema says what the API does.

Every GET operation of the access matrix is called in the matrix's world (as a leader,
else the first member of the cast it answers) and its JSON body is validated against
the response the schema declares for that status. The schema is what integrators
generate clients from and what schemathesis fuzzes against (bench/fuzz_api.md): an
object declared as an array, or a value outside a declared enum, breaks them.

Also: every operation that accepts `Idempotency-Key` documents its 422; the request
bodies mark as required what the services refuse without (and PATCH bodies nothing); an
empty query value is "not given" everywhere, and the schema says so.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import time_machine
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from pipeline import services as pipeline_services
from salesops.services import api_key_create
from tests.clock import default_clock
from tests.conftest import make_cast
from tests.test_access_matrix import API, build_world

# The role each GET is called as: a leader sees everything; where a leader is refused
# (hiring keeps candidates to the interviewers), the first of the others who may read.
ROLES_IN_ORDER = ("leader", "admin", "manager", "rep", "teammate", "other_manager")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """The access matrix's world, built once and rolled back when the module is done, and
    a qualification of its deal: one element scored 1 (no evidence, so no `source`: the
    empty value an enum must allow), the other 3."""
    with (
        time_machine.travel(default_clock(), tick=False),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        world = build_world(**make_cast())
        first, second = world.elements
        pipeline_services.qualification_create(
            opportunity_id=world.opp.pk,
            actor=world.users["rep"],
            scores=[
                {"element": first.pk, "score": 1},
                {"element": second.pk, "score": 3, "evidence": "Signed pilot", "source": "email"},
            ],
        )
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def world(db, _module_world):
    return _module_world


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable: true` becomes "or null". A JSON Schema
    validator does not know the keyword, and would refuse every null the API may send."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def response_validator(schema: dict[str, Any], path: str, method: str, status: int):
    operation = schema["paths"][path][method.lower()]
    declared = operation["responses"].get(str(status))
    assert declared is not None, f"{method} {path}: {status} is not documented"
    body_schema = declared["content"]["application/json"]["schema"]
    # `$ref`s point at #/components/…: the components sit beside the body's schema.
    root = {**json_schema(body_schema), "components": json_schema(schema["components"])}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def client_for(world, role: str) -> APIClient:
    _, raw = api_key_create(user=world.users[role], name="conformance", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# The CSV exports are files, not JSON (their errors are; tests/*/test_exports.py).
JSON_GETS = sorted(
    key
    for key, probe in API.items()
    if key[1] == "GET" and probe.accept == "application/json" and not key[0].endswith(".csv")
)


def test_the_json_gets_are_found():
    # A change to the matrix that lost them would make the test below vacuous.
    assert len(JSON_GETS) > 60
    assert ("/api/v1/forecast/summary/", "GET") in JSON_GETS


@pytest.mark.parametrize("key", JSON_GETS, ids=[path for path, _ in JSON_GETS])
def test_get_responses_match_the_schema(world, schema, key):
    probe = API[key]
    role = next((r for r in ROLES_IN_ORDER if probe.expect.get(r) == 200), None)
    assert role is not None, f"nobody of the cast reads {key}"
    response = client_for(world, role).get(probe.path(world), HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content[:300]
    validator = response_validator(schema, key[0], "GET", 200)
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.validator} "
        f"{str(e.validator_value)[:80]} failed on {str(e.instance)[:80]}"
        for e in validator.iter_errors(response.json())
    ]
    assert not problems, f"GET {key[0]} as {role}:\n" + "\n".join(problems[:10])


# --- Idempotency-Key ------------------------------------------------------------------------


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        p["in"] == "header" and p["name"] == "Idempotency-Key"
        for p in operation.get("parameters", [])
    )


def test_every_post_declares_the_idempotency_key(schema):
    # Every API view is an ApiViewSet, whose IdempotentPostMixin honours the header on
    # every POST (POST /imports/{id}/preview/ did without saying so).
    posts = [path for path, ops in schema["paths"].items() if "post" in ops]
    assert len(posts) > 50
    silent = [path for path in posts if not _takes_idempotency_key(schema["paths"][path]["post"])]
    assert not silent, f"POSTs that accept Idempotency-Key but do not declare it: {silent}"


def test_every_operation_with_an_idempotency_key_documents_422(schema):
    undocumented = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not _takes_idempotency_key(operation):
                continue
            declared = operation["responses"].get("422", {})
            body = declared.get("content", {}).get("application/json", {}).get("schema")
            if body != {"$ref": "#/components/schemas/ErrorOutput"}:
                undocumented.append(f"{method.upper()} {path}")
    assert not undocumented, f"422 idempotency_key_reused undocumented on: {undocumented}"


# --- required request fields ----------------------------------------------------------------

# What the services refuse without, per operation (from their validation; the fields the
# serializers already required are listed too). The PATCH of the same resources requires
# nothing (tests/test_access_matrix.py patches each with one other field).
REQUIRED = {
    ("/api/v1/accounts/", "POST"): {"name"},
    ("/api/v1/products/", "POST"): {"name"},
    ("/api/v1/pipelines/", "POST"): {"name"},
    ("/api/v1/pipelines/from-template/", "POST"): {"template", "name"},
    ("/api/v1/stages/", "POST"): {"pipeline", "name", "probability"},
    ("/api/v1/milestones/", "POST"): {"stage", "title", "kind"},
    ("/api/v1/frameworks/", "POST"): {"name"},
    ("/api/v1/framework-elements/", "POST"): {"framework", "name"},
    ("/api/v1/opportunities/", "POST"): {"name", "close_date"},
    ("/api/v1/opportunities/{id}/activities/", "POST"): {"kind", "subject"},
    ("/api/v1/opportunities/{id}/business-issues/", "POST"): {"issue"},
    ("/api/v1/opportunities/{id}/close-lost/", "POST"): {"loss_reason"},
    ("/api/v1/proposals/", "POST"): {"opportunity", "title", "valid_until"},
    ("/api/v1/proposals/{id}/request-changes/", "POST"): {"comment"},
    ("/api/v1/quotas/", "POST"): {"period", "amount"},
    ("/api/v1/skills/", "POST"): {"name", *(f"level_{n}" for n in range(1, 6))},
}
# One of these is needed (an account or a new one's name; a rep's quota or a team's).
REQUIRED_ANY_OF = {
    ("/api/v1/opportunities/", "POST"): {"account", "new_account_name"},
    ("/api/v1/quotas/", "POST"): {"rep", "team"},
}


def request_component(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = schema["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
    return schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]


@pytest.mark.parametrize("key", sorted(REQUIRED), ids=[f"{m} {p}" for p, m in sorted(REQUIRED)])
def test_required_request_fields_are_marked_required(schema, key):
    component = request_component(schema, *key)
    missing = REQUIRED[key] - set(component.get("required", []))
    assert not missing, f"{key[1]} {key[0]}: not marked required: {sorted(missing)}"
    if key in REQUIRED_ANY_OF:
        alternatives = [set(option["required"]) for option in component.get("anyOf", [])]
        assert alternatives == [{f} for f in sorted(REQUIRED_ANY_OF[key])], component


def test_patch_bodies_require_nothing(schema):
    patched = {
        path: request_component(schema, path, "PATCH")
        for path, ops in schema["paths"].items()
        if "patch" in ops and "requestBody" in ops["patch"]
    }
    assert "/api/v1/accounts/{id}/" in patched
    assert {p: c["required"] for p, c in patched.items() if c.get("required")} == {}
    assert {p: c["anyOf"] for p, c in patched.items() if c.get("anyOf")} == {}


@pytest.mark.parametrize("key", sorted(REQUIRED), ids=[f"{m} {p}" for p, m in sorted(REQUIRED)])
def test_what_the_schema_requires_is_refused_without(world, key):
    """The matrix's valid body of the operation, less one required field: 400 naming it."""
    probe = API[key]
    role = next(r for r in ROLES_IN_ORDER if probe.expect.get(r) in (200, 201))
    _, raw = api_key_create(user=world.users[role], name="conformance", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = probe.data(world)
    for field in sorted(REQUIRED[key] | REQUIRED_ANY_OF.get(key, set())):
        if field not in body:
            continue  # the other alternative
        sid = transaction.savepoint()
        without = {k: v for k, v in body.items() if k != field}
        if field in REQUIRED_ANY_OF.get(key, set()):
            without = {k: v for k, v in without.items() if k not in REQUIRED_ANY_OF[key]}
        response = client.post(probe.path(world), without, format="json")
        transaction.savepoint_rollback(sid)
        assert response.status_code == 400, (field, response.content[:300])
        assert field in response.json()["details"], (field, response.json())


# --- empty query values -----------------------------------------------------------------------


def test_every_query_parameter_allows_an_empty_value(schema):
    # One rule for every query parameter, stated where clients read it: `?status=` is the
    # same as leaving `status` out (salesops.api.viewsets.ApiViewSet drops empty values).
    strict = [
        f"{method.upper()} {path} {p['name']}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("allowEmptyValue") is not True
    ]
    assert not strict, f"query parameters without allowEmptyValue: {strict[:20]}"


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        # enums, ids, dates and the page of a django-filter list
        (
            "/api/v1/opportunities/",
            "status=&owner=&team=&stage=&close_date_from=&close_date_after=&page=&page_size=",
        ),
        ("/api/v1/notifications/", "unread=&page="),  # a boolean read by hand
        ("/api/v1/forecast/summary/", "period=&team=&owner=&currency="),  # a query serializer
        ("/api/v1/insights/results/", "group_by=&start=&team=&min_closed="),  # a scope parser
        ("/api/v1/opportunities/export.csv", "status=&team="),  # a CSV export
    ],
)
def test_an_empty_query_value_is_the_same_as_none(world, path, empty):
    client = client_for(world, "leader")
    accept = "text/csv" if path.endswith(".csv") else "application/json"
    without = client.get(path, HTTP_ACCEPT=accept)
    with_empty = client.get(f"{path}?{empty}", HTTP_ACCEPT=accept)
    assert without.status_code == 200
    assert with_empty.status_code == 200, with_empty.content[:300]
    if accept == "text/csv":
        assert b"".join(with_empty.streaming_content) == b"".join(without.streaming_content)
    else:
        assert with_empty.json() == without.json()


def test_a_bad_value_is_still_a_400_naming_the_parameter(world):
    client = client_for(world, "leader")
    for query, name in (("status=bogus", "status"), ("owner=x", "owner"), ("page=0", "page")):
        response = client.get(f"/api/v1/opportunities/?{query}")
        assert response.status_code == 400, (query, response.content[:200])
        assert set(response.json()) == {"code", "message", "details"}
        assert name in response.json()["details"], response.json()
