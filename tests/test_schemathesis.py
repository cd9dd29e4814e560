"""Schemathesis against the API's own schema, for every operation, as a rep and as an admin.

The schema is loaded from the app in-process (/api/v1/schema/ through WSGI, no server) and
every operation is called with cases generated from it: valid ones (positive) and ones
that break the schema (negative, which is what reaches the validation paths). Checks: no
5xx, every status code documented, every body and content type as documented.

Ids in paths cannot be guessed: each operation's path parameters are those of its probe
in the access matrix (tests/test_access_matrix.py), whose world has a deal with its
milestones, proposals in every state (a draft the rep may submit, one in review the
manager may approve, …), reviews, coaching, forecasts, imports and hiring. Every example
runs in a savepoint rolled back after it, so each starts from the same world (a DELETE or
a submit does not take the next example's id away). Derandomized: the same cases every run.

bench/fuzz_api.md is the longer run against a server (more examples, every check).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

import pytest
import schemathesis
import time_machine
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from salesops.services import api_key_create
from salesops.wsgi import application
from tests.clock import default_clock
from tests.conftest import make_cast
from tests.test_access_matrix import API, build_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
# Per operation, role and generation mode. Enough for the negative cases to hit each
# field's validation and the positive ones to get past it; the whole file takes ~2 minutes
# (the CI budget is 3).
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 6}
ROLES = ("rep", "admin")
OPERATIONS = sorted(API)


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """The access matrix's world, built once for the module and rolled back after it.

    The requests go through the WSGI handler, whose signals would close the connection the
    world's transaction is on (Django's test client unhooks them the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with (
        time_machine.travel(default_clock(), tick=False),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        world = build_world(**make_cast())
        _, raw = api_key_create(user=world.users["admin"], name="schema", scopes=["read"])
        world.schema = schemathesis.openapi.from_wsgi(
            "/api/v1/schema/?format=json", application, headers={"Authorization": f"Bearer {raw}"}
        )
        yield world
        transaction.set_rollback(True)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, _module_world):
    return _module_world


def path_parameters(template: str, concrete: str) -> dict[str, str]:
    """The values of `template`'s {parameters} in the matrix's concrete path."""
    pattern = re.escape(template)
    for name in re.findall(r"\{(\w+)\}", template):
        pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>[^/]+)")
    match = re.fullmatch(pattern, concrete)
    assert match, f"the matrix's path {concrete} is not {template}"
    return match.groupdict()


def test_every_operation_of_the_schema_is_fuzzed(world):
    # The matrix keeps API equal to the schema's operations; this keeps it here too.
    fuzzed = {(path, method) for path, method in OPERATIONS}
    in_schema = {(op.ok().path, op.ok().method.upper()) for op in world.schema.get_all_operations()}
    assert fuzzed == in_schema


def test_every_operation_with_a_body_documents_415():
    # DRF answers 415 to a body none of the view's parsers reads, on any such operation
    # (schemathesis found it undocumented on POST /opportunities/{id}/advance/ and /imports/).
    schema = SchemaGenerator().get_schema(request=None, public=True)
    silent = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation and "415" not in operation["responses"]
    ]
    assert not silent, f"operations with a body that do not document 415: {silent}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation_conforms_to_the_schema(world, key, role):
    path, method = key
    operation = world.schema.find_operation_by_path(method.lower(), path)
    assert operation is not None, key
    probe = API[key]
    fixed = path_parameters(path, probe.path(world).split("?")[0])
    # A key of its own per test: the throttle counts per key.
    _, raw = api_key_create(user=world.users[role], name="fuzz", scopes=["read", "write"])
    headers = {"Authorization": f"Bearer {raw}"}

    # First the matrix's own request, which the generated ones seldom hit: it reaches the
    # success path (the rep submits the draft proposal, the admin approves the one in
    # review and works the opportunity review), and must answer what the matrix expects.
    concrete, _, query = probe.path(world).partition("?")
    body = probe.data(world)
    explicit = operation.Case(
        path_parameters=fixed,
        query=dict(parse_qsl(query)) or None,
        **({"body": body, "media_type": "application/json"} if body else {}),
    )
    sid = transaction.savepoint()
    try:
        response = explicit.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == probe.expect[role], (
            f"{method} {concrete} as {role}: {response.status_code}, "
            f"the matrix expects {probe.expect[role]}: {response.text[:300]}"
        )
    finally:
        transaction.savepoint_rollback(sid)

    for mode, examples in EXAMPLES.items():

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            sid = transaction.savepoint()
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            finally:
                transaction.savepoint_rollback(sid)

        run()
