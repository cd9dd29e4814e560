"""GET /api/v1/flags/ and the attention an opportunity carries in every representation:
visibility, filters, order, refusals and fixed query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline.models import OpportunityFlag, Qualification
from tests.factories import (
    AccountFactory,
    OpportunityFactory,
    OpportunityFlagFactory,
    QualificationFrameworkFactory,
)
from tests.pipeline.test_api import LIST, assert_error, url

pytestmark = pytest.mark.django_db

FLAGS = "/api/v1/flags/"


def ago(**kwargs) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kwargs)


@pytest.fixture
def flags(rep, teammate, other_rep, pipeline):
    """rep: an open stuck flag, a critical no-activity flag, a cleared past-close flag;
    teammate: one open flag; other_rep (team B): one open flag."""
    mine = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")
    theirs = OpportunityFactory(owner=teammate, stage=pipeline.discover)
    far = OpportunityFactory(owner=other_rep, stage=pipeline.qualify)
    return {
        "stuck": OpportunityFlagFactory(opportunity=mine, raised_at=ago(days=3)),
        "silent": OpportunityFlagFactory(
            opportunity=mine,
            kind="no_activity",
            severity="critical",
            explanation="No customer activity for 30 days; this stage's limit is 21",
            raised_at=ago(days=1),
        ),
        "cleared": OpportunityFlagFactory(
            opportunity=mine, kind="past_close_date", raised_at=ago(days=10), cleared_at=ago(days=2)
        ),
        "teammate": OpportunityFlagFactory(opportunity=theirs, raised_at=ago(days=2)),
        "far": OpportunityFlagFactory(opportunity=far, raised_at=ago(hours=1)),
        "mine": mine,
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [f["id"] for f in response.json()["results"]]


def test_flag_shape(rep, flags, key_for):
    body = key_for(rep).get(FLAGS).json()
    assert body["count"] == 3
    flag = flags["silent"]
    assert body["results"][0] == {
        "id": flag.pk,
        "opportunity": {"id": flags["mine"].pk, "name": "Acme rollout"},
        "owner": {"id": rep.pk, "username": "rep"},
        "kind": "no_activity",
        "severity": "critical",
        "explanation": "No customer activity for 30 days; this stage's limit is 21",
        "raised_at": body["results"][0]["raised_at"],
        "cleared_at": None,
    }
    raised = dt.datetime.fromisoformat(body["results"][0]["raised_at"])
    assert abs(raised - flag.raised_at) < dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", ["silent", "stuck", "cleared"]),
        ("teammate", ["teammate"]),
        ("manager", ["silent", "teammate", "stuck", "cleared"]),
        ("other_manager", ["far"]),
        ("other_rep", ["far"]),
        ("leader", ["far", "silent", "teammate", "stuck", "cleared"]),
        ("admin_user", ["far", "silent", "teammate", "stuck", "cleared"]),
    ],
)
def test_flags_are_scoped_through_the_opportunity_owner(request, flags, key_for, who, expected):
    user = request.getfixturevalue(who)
    assert ids(key_for(user, scopes=("read",)).get(FLAGS)) == [flags[k].pk for k in expected]


def test_filters(rep, manager, teammate, flags, key_for):
    client = key_for(manager)
    mine = flags["mine"]

    def names(params: dict) -> list[str]:
        got = ids(client.get(FLAGS, params))
        by_id = {f.pk: k for k, f in flags.items() if isinstance(f, OpportunityFlag)}
        return [by_id[i] for i in got]

    assert names({"opportunity": mine.pk}) == ["silent", "stuck", "cleared"]
    assert names({"kind": "no_activity"}) == ["silent"]
    assert names({"owner": teammate.pk}) == ["teammate"]
    assert names({"open": "true"}) == ["silent", "teammate", "stuck"]
    assert names({"open": "false"}) == ["cleared"]
    assert names({"severity": "critical"}) == ["silent"]
    assert names({"opportunity": mine.pk, "open": "true", "severity": "warning"}) == ["stuck"]
    # Outside the manager's scope: filtered to nothing, never shown.
    assert names({"opportunity": flags["far"].opportunity_id}) == []


@pytest.mark.parametrize(
    "params",
    [
        {"open": "maybe"},
        {"open": "1"},
        {"kind": "bogus"},
        {"severity": "loud"},
        {"opportunity": "abc"},
        {"opportunity": "0"},
        {"owner": "-1"},
        {"owner": str(2**64)},
        {"page": "0"},
        {"page_size": "x"},
    ],
)
def test_bad_filters_are_400(rep, flags, key_for, params):
    assert_error(key_for(rep).get(FLAGS, params), 400, "invalid")


def test_order_is_newest_first_then_id(rep, pipeline, key_for):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    at = ago(days=1)
    same = [
        OpportunityFlagFactory(opportunity=opp, kind=kind, raised_at=at)
        for kind in ("stuck_in_stage", "no_activity", "next_step_overdue")
    ]
    newer = OpportunityFlagFactory(opportunity=opp, kind="past_close_date", raised_at=ago(hours=1))
    expected = [newer.pk, *sorted((f.pk for f in same), reverse=True)]
    client = key_for(rep)
    assert ids(client.get(FLAGS)) == expected
    assert ids(client.get(FLAGS, {"page_size": 2, "page": 2})) == expected[2:]


def test_flags_are_read_only(rep, admin_user, flags, key_for):
    for user in (rep, admin_user):
        client = key_for(user)
        assert_error(client.post(FLAGS, {"kind": "no_activity"}), 405, "method_not_allowed")
        assert_error(client.get(f"{FLAGS}{flags['stuck'].pk}/"), 404, "not_found")
        assert_error(client.delete(f"{FLAGS}{flags['stuck'].pk}/"), 404, "not_found")
    assert OpportunityFlag.objects.count() == 5


def test_anonymous_is_401(flags, api_client):
    assert_error(api_client.get(FLAGS), 401)


def test_flags_query_count_does_not_grow(rep, pipeline, key_for):
    client = key_for(rep)
    account = AccountFactory()
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, account=account)
    OpportunityFlagFactory(opportunity=opp)
    client.get(FLAGS)  # the key's first use records last_used_at
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(FLAGS, {"page_size": 200}).json()["results"]) == 1
    kinds = ["stuck_in_stage", "no_activity", "past_close_date", "next_step_overdue"]
    for i in range(50):
        deal = OpportunityFactory(owner=rep, stage=pipeline.qualify, account=account)
        OpportunityFlag.objects.bulk_create(
            OpportunityFlag(
                opportunity=deal,
                kind=kind,
                severity="warning",
                explanation="x",
                raised_at=ago(minutes=i),
                cleared_at=None if j % 2 else ago(seconds=1),
            )
            for j, kind in enumerate(kinds)
        )
    with CaptureQueriesContext(connection) as many:
        body = client.get(FLAGS, {"page_size": 200}).json()
    assert len(body["results"]) == 200
    assert len(one) == len(many)


# --- the opportunity representation ----------------------------------------------------


def _qualify(opp, user, pct: str, *, days_ago: float = 0) -> Qualification:
    """A qualification written directly (as history), kept as the deal's latest the way
    services.qualification_create keeps it."""
    framework = QualificationFrameworkFactory()
    q = Qualification.objects.create(
        opportunity=opp,
        framework=framework,
        score_pct=Decimal(pct),
        assessed_by=user,
        assessed_at=ago(days=days_ago),
    )
    latest = opp.qualifications.order_by("-assessed_at", "-id").first()
    type(opp).objects.filter(pk=opp.pk).update(latest_qualification=latest)
    return q


def test_opportunity_carries_its_open_flags_and_latest_qualification(rep, flags, key_for):
    mine = flags["mine"]
    _qualify(mine, rep, "40", days_ago=3)
    latest = _qualify(mine, rep, "72.5")
    client = key_for(rep)
    detail = client.get(url(mine)).json()
    assert [(f["kind"], f["severity"]) for f in detail["open_flags"]] == [
        ("no_activity", "critical"),
        ("stuck_in_stage", "warning"),
    ]
    assert set(detail["open_flags"][0]) == {"kind", "severity", "explanation", "raised_at"}
    assert detail["qualification"]["score_pct"] == "72.50"
    assert detail["qualification"]["valid"] is True
    assessed = dt.datetime.fromisoformat(detail["qualification"]["assessed_at"])
    assert abs(assessed - latest.assessed_at) < dt.timedelta(seconds=1)
    listed = next(o for o in client.get(LIST).json()["results"] if o["id"] == mine.pk)
    assert listed["open_flags"] == detail["open_flags"]
    assert listed["qualification"] == detail["qualification"]
    # The action responses (here PATCH and advance) carry the same.
    patched = client.patch(url(mine), {"next_step": "Call the CFO"})
    assert patched.json()["open_flags"] == detail["open_flags"]
    assert patched.json()["qualification"] == detail["qualification"]
    mine.source, mine.external_id = "crm", "A-1"
    mine.save(update_fields=["source", "external_id"])
    by_ext = client.get(f"{LIST}by-external-id/crm/A-1/").json()
    assert by_ext["open_flags"] == detail["open_flags"]
    assert by_ext["qualification"] == detail["qualification"]


def test_opportunity_list_query_count_is_fixed_with_flags_and_qualifications(
    rep, pipeline, key_for, django_assert_max_num_queries
):
    client = key_for(rep)
    first = OpportunityFactory(owner=rep, stage=pipeline.discover)
    OpportunityFlagFactory(opportunity=first)
    _qualify(first, rep, "50")
    client.get(LIST)  # the key's first use records last_used_at
    # auth is cached after the first use: COUNT, the page, its open flags.
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as one:
        response = client.get(LIST, {"page_size": 200})
    assert len(response.json()["results"]) == 1
    account = AccountFactory()
    framework = QualificationFrameworkFactory()
    deals = OpportunityFactory.create_batch(199, owner=rep, stage=pipeline.qualify, account=account)
    for deal in deals:
        OpportunityFlagFactory(opportunity=deal, kind="no_activity")
        OpportunityFlagFactory(opportunity=deal, kind="stuck_in_stage", cleared_at=timezone.now())
    Qualification.objects.bulk_create(
        Qualification(
            opportunity=deal,
            framework=framework,
            score_pct=Decimal(n),
            assessed_by=rep,
            assessed_at=ago(days=n % 40),
        )
        for deal in deals
        for n in (10, 60)
    )
    from demo.company.history import set_latest_qualifications

    set_latest_qualifications()
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as many:
        response = client.get(LIST, {"page_size": 200})
    results = response.json()["results"]
    assert len(results) == 200
    assert len(one) == len(many)
    assert all(len(r["open_flags"]) == 1 for r in results)
    assert all(r["qualification"] is not None for r in results)
    # The COUNT never reads the qualification: PostgreSQL removes the LEFT JOIN on a
    # unique key whose columns it does not use.
    count = next(q for q in many.captured_queries if "COUNT(" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + count["sql"], [])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "pipeline_qualification" not in plan
