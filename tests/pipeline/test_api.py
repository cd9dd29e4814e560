"""The pipeline API contract: shapes, refusals (with the database unchanged), ETags,
idempotency, upsert, gates, visibility, property-level access and query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline.models import (
    Account,
    Activity,
    BusinessIssue,
    MilestoneCompletion,
    MilestoneKind,
    Opportunity,
    OpportunityChange,
    Pipeline,
    Qualification,
    Stage,
)
from salesops.models import IdempotencyRecord
from tests.factories import (
    AccountFactory,
    BusinessIssueFactory,
    MilestoneFactory,
    OpportunityFactory,
    OpportunityFlagFactory,
    PipelineFactory,
    QualificationFrameworkFactory,
    StageFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/opportunities/"


def url(opp: Opportunity, suffix: str = "") -> str:
    return f"{LIST}{opp.pk}/{suffix}"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    if code is not None:
        assert body["code"] == code, body
    return body


def snapshot(opp: Opportunity) -> dict:
    """Everything a refused request must leave alone."""
    fresh = Opportunity.objects.get(pk=opp.pk)
    return {
        "row": {f.attname: getattr(fresh, f.attname) for f in Opportunity._meta.concrete_fields},
        "changes": OpportunityChange.objects.filter(opportunity=fresh).count(),
        "completions": MilestoneCompletion.objects.filter(opportunity=fresh).count(),
        "count": Opportunity.objects.count(),
    }


def complete_discover(client, opp: Opportunity, pipeline: Pipeline) -> None:
    for milestone in pipeline.discover.milestones.all():
        response = client.post(
            url(opp, f"milestones/{milestone.pk}/complete/"),
            {"evidence": "CFO said so on the call"},
        )
        assert response.status_code == 200, response.content


@pytest.fixture
def account(db):
    return AccountFactory(name="Initech")


def create_body(acct: Account, /, **extra) -> dict:
    return {
        "name": "Initech platform",
        "account": acct.pk,
        "amount": "25000.50",
        "close_date": "2031-03-31",
        **extra,
    }


# --- read ----------------------------------------------------------------------------


def test_retrieve_shape_and_etag(rep, opportunity, key_for):
    response = key_for(rep).get(url(opportunity))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert set(body) == {
        "product",
        "id",
        "name",
        "account",
        "owner",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "close_date",
        "forecast_category",
        "forecast_category_override_reason",
        "next_step",
        "next_step_date",
        "status",
        "loss_reason",
        "source",
        "external_id",
        "stage_entered_at",
        "last_activity_at",
        "closed_at",
        "version",
        "created_at",
        "updated_at",
        "url",
        "open_flags",
        "qualification",
    }
    assert body["open_flags"] == [] and body["qualification"] is None
    assert body["account"] == {"id": opportunity.account_id, "name": opportunity.account.name}
    assert body["owner"] == {"id": rep.pk, "username": "rep", "name": rep.get_full_name()}
    assert body["stage"] == {"id": opportunity.stage_id, "name": "Discover", "order": 1}
    assert body["pipeline"] == opportunity.pipeline_id
    assert body["amount"] == "10000.00"
    assert body["url"].endswith(url(opportunity))


def test_list_is_paginated_and_ordered_by_close_date_then_id(rep, pipeline, key_for):
    acct = AccountFactory()
    same_day = dt.date(2031, 1, 1)
    later = OpportunityFactory(
        owner=rep, stage=pipeline.discover, account=acct, close_date=dt.date(2031, 6, 1)
    )
    first = OpportunityFactory(
        owner=rep, stage=pipeline.discover, account=acct, close_date=same_day
    )
    second = OpportunityFactory(
        owner=rep, stage=pipeline.discover, account=acct, close_date=same_day
    )
    body = key_for(rep).get(LIST).json()
    assert body["count"] == 3
    assert [r["id"] for r in body["results"]] == [first.pk, second.pk, later.pk]


def test_page_size_is_capped(rep, pipeline, key_for):
    acct = AccountFactory()
    OpportunityFactory.create_batch(205, owner=rep, stage=pipeline.discover, account=acct)
    client = key_for(rep)
    body = client.get(LIST, {"page_size": 1000}).json()
    assert body["count"] == 205
    assert len(body["results"]) == 200
    assert len(client.get(LIST, {"page_size": 10}).json()["results"]) == 10
    assert len(client.get(LIST, {"page": 2, "page_size": 200}).json()["results"]) == 5
    assert_error(client.get(LIST, {"page": 99}), 404, "not_found")


def test_filters(rep, teammate, manager, pipeline, key_for, other_rep):
    acct = AccountFactory(name="Umbrella Corp")
    mine = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Alpha", close_date=dt.date(2031, 1, 10)
    )
    theirs = OpportunityFactory(
        owner=teammate,
        stage=pipeline.qualify,
        name="Beta",
        account=acct,
        close_date=dt.date(2031, 2, 10),
    )
    other_team = OpportunityFactory(owner=other_rep, stage=pipeline.discover)
    client = key_for(manager)

    def ids(**params) -> list[int]:
        response = client.get(LIST, params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [mine.pk, theirs.pk]  # the other team's deal is out of scope
    assert ids(owner=teammate.pk) == [theirs.pk]
    assert ids(stage=pipeline.qualify.pk) == [theirs.pk]
    assert ids(status="open") == [mine.pk, theirs.pk]
    assert ids(status="won") == []
    assert ids(team=rep.team_id) == [mine.pk, theirs.pk]
    assert ids(team=other_rep.team_id) == []
    assert ids(pipeline=pipeline.pk) == [mine.pk, theirs.pk]
    assert ids(close_date_after="2031-02-01") == [theirs.pk]
    assert ids(close_date_before="2031-02-01") == [mine.pk]
    assert ids(close_date_from="2031-01-01", close_date_to="2031-01-31") == [mine.pk]
    assert ids(search="umbrella") == [theirs.pk]
    assert ids(search="alph") == [mine.pk]
    assert other_team.pk not in ids(owner=other_rep.pk)


@pytest.mark.parametrize(
    "params",
    [
        {"close_date_after": "31/12/2031"},
        {"owner": "abc"},
        {"stage": "1.5"},
        {"status": "maybe"},
        {"team": "-1"},
    ],
)
def test_bad_filters_are_400(rep, opportunity, key_for, params):
    assert_error(key_for(rep).get(LIST, params), 400, "invalid")


def test_list_query_count_does_not_grow_with_rows(
    rep, pipeline, key_for, django_assert_max_num_queries
):
    client = key_for(rep)
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    client.get(LIST)  # the key's first use records last_used_at; measure afterwards
    # COUNT, the page (with the latest qualification as subqueries), its open flags.
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as one:
        response = client.get(LIST, {"page_size": 200})
    assert len(response.json()["results"]) == 1
    acct = AccountFactory()
    OpportunityFactory.create_batch(199, owner=rep, stage=pipeline.qualify, account=acct)
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as many:
        response = client.get(LIST, {"page_size": 200})
    assert len(response.json()["results"]) == 200
    assert len(one) == len(many)


def test_nested_list_query_counts_do_not_grow(rep, opportunity, key_for):
    client = key_for(rep)
    client.get(url(opportunity, "history/"))
    counts = {}
    for n in (1, 30):
        Activity.objects.all().delete()
        for i in range(n):
            Activity.objects.create(
                opportunity=opportunity,
                kind="call",
                subject=f"Call {i}",
                occurred_at=timezone.now(),
                logged_by=rep,
            )
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(opportunity, "activities/")).status_code == 200
        counts[n] = len(ctx)
    assert counts[1] == counts[30]


# --- create --------------------------------------------------------------------------


def test_create_starts_in_first_stage(rep, pipeline, account, key_for):
    response = key_for(rep).post(LIST, create_body(account))
    assert response.status_code == 201, response.content
    body = response.json()
    opp = Opportunity.objects.get()
    assert body["id"] == opp.pk
    assert body["stage"]["id"] == pipeline.discover.pk
    assert body["owner"]["id"] == rep.pk
    assert body["amount"] == "25000.50"
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(url(opp))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"stage": "STAGE"}, "stage"),
        ({"status": "won"}, "status"),
        ({"version": 7}, "version"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"close_date": "next tuesday"}, "close_date"),
        ({"account": 999_999}, "account"),
        ({"account": "abc"}, "account"),
        ({"owner": 999_999}, "owner"),
        ({"owner": "TEAMMATE"}, "owner"),
        ({"name": ""}, "name"),
        ({"forecast_category": "commit"}, "forecast_category_override_reason"),
        ({"nmae": "typo"}, "nmae"),
    ],
)
def test_create_refusals(rep, teammate, pipeline, account, key_for, extra, field):
    extra = {
        k: (pipeline.qualify.pk if v == "STAGE" else teammate.pk if v == "TEAMMATE" else v)
        for k, v in extra.items()
    }
    body = assert_error(key_for(rep).post(LIST, create_body(account, **extra)), 400, "invalid")
    assert field in body["details"]
    assert Opportunity.objects.count() == 0
    assert OpportunityChange.objects.count() == 0


def test_create_refuses_stage_with_a_pointer_to_the_action(rep, pipeline, account, key_for):
    body = key_for(rep).post(LIST, create_body(account, stage=pipeline.proposal.pk)).json()
    assert "cannot be written" in body["details"]["stage"][0]
    assert "/advance/" in body["details"]["stage"][0]


def test_manager_creates_for_team_member(manager, rep, pipeline, account, key_for):
    response = key_for(manager).post(LIST, create_body(account, owner=rep.pk))
    assert response.status_code == 201, response.content
    assert Opportunity.objects.get().owner == rep


# --- update, ETag, If-Match ---------------------------------------------------------


def test_patch_with_if_match_then_stale_412(rep, opportunity, key_for):
    client = key_for(rep)
    etag = client.get(url(opportunity))["ETag"]
    ok = client.patch(url(opportunity), {"amount": "20000"}, HTTP_IF_MATCH=etag)
    assert ok.status_code == 200, ok.content
    assert ok["ETag"] == '"2"'
    assert ok.json()["amount"] == "20000.00"
    before = snapshot(opportunity)
    stale = client.patch(url(opportunity), {"amount": "1"}, HTTP_IF_MATCH=etag)
    body = assert_error(stale, 412, "stale_version")
    assert body["details"]["current_version"] == 2
    assert snapshot(opportunity) == before


def test_patch_without_if_match_is_allowed(rep, opportunity, key_for):
    response = key_for(rep).patch(url(opportunity), {"next_step": "Send proposal"})
    assert response.status_code == 200
    assert response.json()["next_step"] == "Send proposal"


def test_malformed_if_match_is_400(rep, opportunity, key_for):
    response = key_for(rep).patch(url(opportunity), {"name": "x"}, HTTP_IF_MATCH="banana")
    assert_error(response, 400, "invalid_if_match")
    assert Opportunity.objects.get().name == "Acme rollout"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"stage": "STAGE"}, "stage"),
        ({"status": "won"}, "status"),
        ({"version": 9}, "version"),
        ({"closed_at": "2031-01-01T00:00:00Z"}, "closed_at"),
        ({"stage_entered_at": "2031-01-01T00:00:00Z"}, "stage_entered_at"),
        ({"history": []}, "history"),
        ({"pipeline": "PIPELINE"}, "pipeline"),
        ({"external_id": "X-1"}, "external_id"),
        ({"owner": "TEAMMATE"}, "owner"),
        ({"owner": 999_999}, "owner"),
        ({"owner": None}, "owner"),
        ({"account": 999_999}, "account"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "12,5"}, "amount"),
        ({"close_date": "2031-13-45"}, "close_date"),
        ({"currency": "EURO"}, "currency"),
        ({"forecast_category": "closed"}, "forecast_category"),
    ],
)
def test_property_level_refusals_leave_the_row_unchanged(
    rep, teammate, pipeline, opportunity, key_for, payload, field
):
    mapping = {"STAGE": pipeline.qualify.pk, "TEAMMATE": teammate.pk, "PIPELINE": pipeline.pk}
    payload = {k: mapping.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = snapshot(opportunity)
    body = assert_error(key_for(rep).patch(url(opportunity), payload), 400, "invalid")
    assert field in body["details"], body
    assert snapshot(opportunity) == before


def test_read_only_fields_are_refused_with_a_hint_even_alongside_valid_ones(
    rep, pipeline, opportunity, key_for
):
    before = snapshot(opportunity)
    body = (
        key_for(rep)
        .patch(url(opportunity), {"name": "New name", "status": "won", "stage": pipeline.won.pk})
        .json()
    )
    assert "close-won" in body["details"]["status"][0]
    assert "cannot be written" in body["details"]["stage"][0]
    assert snapshot(opportunity) == before


def test_manager_reassigns_within_team(manager, teammate, opportunity, key_for):
    response = key_for(manager).patch(url(opportunity), {"owner": teammate.pk})
    assert response.status_code == 200, response.content
    assert response.json()["owner"]["id"] == teammate.pk
    assert OpportunityChange.objects.filter(opportunity=opportunity, field="owner").exists()


# --- delete ------------------------------------------------------------------------


def test_delete_is_admin_only(rep, admin_user, opportunity, key_for):
    assert_error(key_for(rep).delete(url(opportunity)), 403, "permission_denied")
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert key_for(admin_user).delete(url(opportunity)).status_code == 204
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()


def test_delete_outside_scope_is_404(other_rep, opportunity, key_for):
    assert_error(key_for(other_rep).delete(url(opportunity)), 404)
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()


# --- gate, actions ---------------------------------------------------------------------


def test_advance_409_lists_missing_then_200_after_milestones(rep, pipeline, opportunity, key_for):
    client = key_for(rep)
    before = snapshot(opportunity)
    refused = client.post(url(opportunity, "advance/"), {"stage": pipeline.qualify.pk})
    body = assert_error(refused, 409, "gate_not_met")
    missing = body["details"]["missing"]
    assert [m["title"] for m in missing] == [
        "Pain identified",
        "Economic buyer confirmed the problem is worth solving",
    ]
    assert {"id", "title", "kind"} <= set(missing[0])
    assert missing[1]["kind"] == MilestoneKind.BUYER_COMMITMENT
    assert snapshot(opportunity) == before

    complete_discover(client, opportunity, pipeline)
    ok = client.post(
        url(opportunity, "advance/"), {"stage": pipeline.qualify.pk}, HTTP_IF_MATCH='"1"'
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["stage"]["id"] == pipeline.qualify.pk
    assert ok["ETag"] == '"2"'
    change = OpportunityChange.objects.filter(opportunity=opportunity, field="stage").first()
    assert change.new_value == str(pipeline.qualify.pk)


def test_manager_override_is_recorded(manager, pipeline, opportunity, key_for):
    response = key_for(manager).post(
        url(opportunity, "advance/"),
        {"stage": pipeline.qualify.pk, "override_reason": "Signed LOI in hand"},
    )
    assert response.status_code == 200, response.content
    change = OpportunityChange.objects.get(
        opportunity=opportunity, field="stage", changed_by=manager
    )
    assert change.override_reason == "Signed LOI in hand"


def test_rep_override_is_refused(rep, pipeline, opportunity, key_for):
    before = snapshot(opportunity)
    response = key_for(rep).post(
        url(opportunity, "advance/"), {"stage": pipeline.qualify.pk, "override_reason": "Trust me"}
    )
    body = assert_error(response, 403, "override_not_allowed")
    assert body["details"]["missing"]
    assert snapshot(opportunity) == before


@pytest.mark.parametrize("stage", ["OTHER_PIPELINE", 999_999, "abc", None, 10**30])
def test_advance_bad_stage_is_400(rep, opportunity, key_for, stage):
    if stage == "OTHER_PIPELINE":
        stage = StageFactory(pipeline=PipelineFactory(), order=1).pk
    before = snapshot(opportunity)
    body = assert_error(key_for(rep).post(url(opportunity, "advance/"), {"stage": stage}), 400)
    assert "stage" in body["details"]
    assert snapshot(opportunity) == before


def test_advance_with_stale_if_match_is_412(manager, pipeline, opportunity, key_for):
    before = snapshot(opportunity)
    response = key_for(manager).post(
        url(opportunity, "advance/"),
        {"stage": pipeline.qualify.pk, "override_reason": "ok"},
        HTTP_IF_MATCH='"7"',
    )
    assert_error(response, 412, "stale_version")
    assert snapshot(opportunity) == before


def test_close_lost_needs_a_reason(rep, opportunity, key_for):
    client = key_for(rep)
    before = snapshot(opportunity)
    body = assert_error(client.post(url(opportunity, "close-lost/"), {}), 400, "invalid")
    assert "loss_reason" in body["details"]
    assert snapshot(opportunity) == before
    ok = client.post(url(opportunity, "close-lost/"), {"loss_reason": "Went with a competitor"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "lost"
    assert ok.json()["loss_reason"] == "Went with a competitor"


def test_close_won_goes_through_the_gate(rep, manager, pipeline, opportunity, key_for):
    assert_error(key_for(rep).post(url(opportunity, "close-won/"), {}), 409, "gate_not_met")
    ok = key_for(manager).post(url(opportunity, "close-won/"), {"override_reason": "PO received"})
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "won"
    assert ok.json()["closed_at"] is not None
    # A closed opportunity no longer changes.
    assert_error(key_for(rep).patch(url(opportunity), {"name": "x"}), 409, "opportunity_closed")


# --- milestones ----------------------------------------------------------------------


def test_milestone_state_complete_and_uncomplete(rep, pipeline, opportunity, key_for):
    client = key_for(rep)
    pain = pipeline.discover.milestones.get(title="Pain identified")
    rows = client.get(url(opportunity, "milestones/")).json()
    assert len(rows) == 4
    assert rows[0]["id"] == pain.pk
    assert rows[0]["stage"] == {"id": pipeline.discover.pk, "name": "Discover", "order": 1}
    assert rows[0]["met"] is False and rows[0]["completion"] is None

    done = client.post(url(opportunity, f"milestones/{pain.pk}/complete/"), {"evidence": "Notes"})
    assert done.status_code == 200, done.content
    assert done.json()["milestone"] == pain.pk
    assert done.json()["evidence"] == "Notes"
    assert done.json()["completed_by"]["id"] == rep.pk
    assert done.json()["completed_at"]
    rows = client.get(url(opportunity, "milestones/")).json()
    assert rows[0]["met"] is True
    assert rows[0]["completion"]["evidence"] == "Notes"

    undone = client.post(url(opportunity, f"milestones/{pain.pk}/uncomplete/"))
    assert undone.status_code == 204
    assert not MilestoneCompletion.objects.exists()


def test_milestone_needing_evidence_refuses_without(rep, pipeline, opportunity, key_for):
    needs = pipeline.discover.milestones.get(requires_evidence=True)
    body = assert_error(
        key_for(rep).post(url(opportunity, f"milestones/{needs.pk}/complete/"), {}), 400
    )
    assert "evidence" in body["details"]
    assert not MilestoneCompletion.objects.exists()


@pytest.mark.parametrize("milestone_id", ["abc", "999999", "OTHER"])
def test_unknown_milestone_is_404(rep, opportunity, key_for, milestone_id):
    if milestone_id == "OTHER":
        milestone_id = MilestoneFactory(stage=StageFactory(pipeline=PipelineFactory())).pk
    path = url(opportunity, f"milestones/{milestone_id}/complete/")
    assert_error(key_for(rep).post(path, {"evidence": "x"}), 404)
    assert not MilestoneCompletion.objects.exists()


# --- nested resources ------------------------------------------------------------------


def test_history_lists_changes_newest_first(rep, opportunity, key_for):
    client = key_for(rep)
    client.patch(url(opportunity), {"amount": "1"})
    client.patch(url(opportunity), {"amount": "2"})
    body = client.get(url(opportunity, "history/")).json()
    assert body["count"] == 2
    assert [r["new_value"] for r in body["results"]] == ["2.00", "1.00"]
    assert body["results"][0]["changed_by"]["username"] == "rep"


def test_history_is_read_only(rep, opportunity, key_for):
    assert_error(key_for(rep).post(url(opportunity, "history/"), {}), 405)


def test_activities_log_and_list(rep, opportunity, key_for):
    client = key_for(rep)
    created = client.post(url(opportunity, "activities/"), {"kind": "call", "subject": "Intro"})
    assert created.status_code == 201, created.content
    assert created.json()["logged_by"]["id"] == rep.pk
    assert client.get(url(opportunity, "activities/")).json()["count"] == 1
    assert client.get("/api/v1/activities/").json()["count"] == 1
    opportunity.refresh_from_db()
    assert opportunity.last_activity_at is not None


def test_activity_refusals(rep, opportunity, key_for):
    client = key_for(rep)
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()
    assert_error(client.post(url(opportunity, "activities/"), {"kind": "fax", "subject": "x"}), 400)
    assert_error(client.post(url(opportunity, "activities/"), {"kind": "call"}), 400)
    assert_error(
        client.post(
            url(opportunity, "activities/"), {"kind": "call", "subject": "x", "occurred_at": future}
        ),
        400,
    )
    assert not Activity.objects.exists()


def test_business_issues_crud(rep, opportunity, key_for):
    client = key_for(rep)
    created = client.post(
        url(opportunity, "business-issues/"),
        {"issue": "Slow close", "our_value": "Faster close", "quantified_value": "50000"},
    )
    assert created.status_code == 201, created.content
    issue_id = created.json()["id"]
    assert client.get(url(opportunity, "business-issues/")).json()["count"] == 1
    patched = client.patch(f"/api/v1/business-issues/{issue_id}/", {"impact": "Two weeks lost"})
    assert patched.status_code == 200, patched.content
    assert BusinessIssue.objects.get().impact == "Two weeks lost"
    bad = client.patch(f"/api/v1/business-issues/{issue_id}/", {"quantified_value": "-3"})
    assert_error(bad, 400, "invalid")
    assert BusinessIssue.objects.get().quantified_value == Decimal("50000.00")
    assert client.delete(f"/api/v1/business-issues/{issue_id}/").status_code == 204
    assert not BusinessIssue.objects.exists()


def test_business_issue_of_another_rep_is_404(teammate, opportunity, key_for):
    issue = BusinessIssueFactory(opportunity=opportunity)
    client = key_for(teammate)
    assert_error(client.patch(f"/api/v1/business-issues/{issue.pk}/", {"issue": "x"}), 404)
    assert_error(client.delete(f"/api/v1/business-issues/{issue.pk}/"), 404)
    assert BusinessIssue.objects.get().issue == issue.issue


# --- visibility ------------------------------------------------------------------------

NESTED = [
    ("get", ""),
    ("patch", ""),
    ("delete", ""),
    ("post", "advance/"),
    ("post", "close-won/"),
    ("post", "close-lost/"),
    ("get", "history/"),
    ("get", "activities/"),
    ("post", "activities/"),
    ("get", "business-issues/"),
    ("post", "business-issues/"),
    ("get", "milestones/"),
]


@pytest.mark.parametrize(("method", "suffix"), NESTED)
@pytest.mark.parametrize("who", ["teammate", "other_rep", "other_manager"])
def test_outside_scope_is_404_everywhere(
    request, opportunity, pipeline, key_for, method, suffix, who
):
    user = request.getfixturevalue(who)
    before = snapshot(opportunity)
    response = getattr(key_for(user), method)(url(opportunity, suffix), {"stage": 1})
    assert_error(response, 404, "not_found")
    assert snapshot(opportunity) == before


def test_milestone_actions_outside_scope_are_404(teammate, pipeline, opportunity, key_for):
    milestone = pipeline.discover.milestones.first()
    client = key_for(teammate)
    for action in ("complete", "uncomplete"):
        path = url(opportunity, f"milestones/{milestone.pk}/{action}/")
        assert_error(client.post(path, {"evidence": "x"}), 404)
    assert not MilestoneCompletion.objects.exists()


@pytest.mark.parametrize("who", ["rep", "manager", "leader", "admin_user"])
def test_in_scope_roles_see_it(request, opportunity, key_for, who):
    client = key_for(request.getfixturevalue(who))
    assert client.get(url(opportunity)).status_code == 200
    assert client.get(LIST).json()["count"] == 1


def test_non_integer_and_huge_ids_are_404(rep, key_for):
    client = key_for(rep)
    for pk in ("abc", "1.5", "-1", str(10**30)):
        assert_error(client.get(f"{LIST}{pk}/"), 404)
        assert_error(client.post(f"{LIST}{pk}/advance/", {"stage": 1}), 404)
    assert_error(client.get("/api/v1/accounts/abc/"), 404)
    assert_error(client.get("/api/v1/stages/abc/"), 404)


# --- upsert by external id --------------------------------------------------------------


def test_upsert_twice_makes_one_row(rep, pipeline, account, key_for):
    client = key_for(rep)
    path = f"{LIST}by-external-id/salesforce/006ABC/"
    body = {
        "name": "Synced deal",
        "account": account.pk,
        "amount": "500",
        "close_date": "2031-05-01",
    }
    first = client.put(path, body)
    assert first.status_code == 201, first.content
    assert first.json()["external_id"] == "006ABC" and first.json()["source"] == "salesforce"
    second = client.put(path, body)
    assert second.status_code == 200, second.content
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["version"] == 1  # nothing changed, nothing written
    assert Opportunity.objects.count() == 1
    changed = client.put(path, {**body, "amount": "750"})
    assert changed.status_code == 200 and changed.json()["amount"] == "750.00"
    assert Opportunity.objects.count() == 1
    fetched = client.get(path)
    assert fetched.status_code == 200 and fetched["ETag"] == '"2"'


def test_upsert_with_missing_fields_is_400(rep, pipeline, key_for):
    response = key_for(rep).put(f"{LIST}by-external-id/hubspot/42/", {"amount": "5"})
    body = assert_error(response, 400, "invalid")
    assert {"name", "account", "close_date"} <= set(body["details"])
    assert Opportunity.objects.count() == 0


def test_upsert_of_a_record_outside_scope_is_the_same_404_as_reading_it(
    rep, other_rep, pipeline, key_for
):
    # Not a 409 "belongs to an opportunity you cannot see": that told an outsider the
    # record exists, which GET does not.
    OpportunityFactory(owner=other_rep, stage=pipeline.discover, source="sf", external_id="X")
    before = list(Opportunity.objects.values("id", "name", "version"))
    client = key_for(rep)
    put = client.put(f"{LIST}by-external-id/sf/X/", {"name": "Mine now"})
    get = client.get(f"{LIST}by-external-id/sf/X/")
    assert_error(get, 404, "not_found")
    assert_error(put, 404, "not_found")
    assert put.json() == get.json()
    assert list(Opportunity.objects.values("id", "name", "version")) == before
    # The owner's sync still updates it.
    mine = key_for(other_rep).put(f"{LIST}by-external-id/sf/X/", {"name": "Renamed at source"})
    assert mine.status_code == 200, mine.content
    assert Opportunity.objects.get().name == "Renamed at source"


# --- Idempotency-Key ----------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(rep, pipeline, account, key_for):
    client = key_for(rep)
    first = client.post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    replay = client.post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["ETag"] == first["ETag"]
    assert replay["Location"] == first["Location"]
    assert replay["Idempotent-Replayed"] == "true"
    assert Opportunity.objects.count() == 1
    assert OpportunityChange.objects.count() == 4  # the creation's history, once


def test_idempotency_key_reused_with_another_body_is_422(rep, pipeline, account, key_for):
    client = key_for(rep)
    assert client.post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    other = client.post(LIST, create_body(account, name="Other"), HTTP_IDEMPOTENCY_KEY="k-2")
    assert_error(other, 422, "idempotency_key_reused")
    assert Opportunity.objects.count() == 1


def test_idempotency_keys_are_per_user(rep, teammate, pipeline, account, key_for):
    assert (
        key_for(rep).post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    )
    response = key_for(teammate).post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201
    assert Opportunity.objects.count() == 2


def test_refused_requests_are_not_recorded(rep, pipeline, account, key_for):
    client = key_for(rep)
    bad = client.post(LIST, create_body(account, amount="-1"), HTTP_IDEMPOTENCY_KEY="k-3")
    assert_error(bad, 400)
    assert not IdempotencyRecord.objects.exists()
    ok = client.post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="k-3")
    assert ok.status_code == 201
    assert Opportunity.objects.count() == 1


def test_idempotent_action_is_not_done_twice(rep, pipeline, opportunity, key_for):
    client = key_for(rep)
    path = url(opportunity, "activities/")
    body = {"kind": "call", "subject": "Follow-up"}
    first = client.post(path, body, HTTP_IDEMPOTENCY_KEY="act-1")
    second = client.post(path, body, HTTP_IDEMPOTENCY_KEY="act-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Activity.objects.count() == 1


def test_expired_idempotency_record_is_ignored(rep, pipeline, account, key_for):
    client = key_for(rep)
    client.post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    again = client.post(LIST, create_body(account, name="Next day"), HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201
    assert Opportunity.objects.count() == 2


def test_invalid_idempotency_key_is_400(rep, pipeline, account, key_for):
    response = key_for(rep).post(LIST, create_body(account), HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert_error(response, 400, "invalid_idempotency_key")
    assert Opportunity.objects.count() == 0


# --- accounts ------------------------------------------------------------------------------


def test_accounts(rep, admin_user, key_for):
    client = key_for(rep)
    created = client.post("/api/v1/accounts/", {"name": "Globex", "employees": 120})
    assert created.status_code == 201, created.content
    acct_id = created.json()["id"]
    AccountFactory(name="Hooli")
    assert [
        a["name"] for a in client.get("/api/v1/accounts/", {"search": "glob"}).json()["results"]
    ] == ["Globex"]
    patched = client.patch(f"/api/v1/accounts/{acct_id}/", {"industry": "Energy"})
    assert patched.status_code == 200 and patched.json()["industry"] == "Energy"
    assert_error(client.patch(f"/api/v1/accounts/{acct_id}/", {"employees": -4}), 400)
    assert_error(client.post("/api/v1/accounts/", {"name": ""}), 400)
    assert_error(client.delete(f"/api/v1/accounts/{acct_id}/"), 403)
    assert Account.objects.filter(pk=acct_id).exists()
    assert key_for(admin_user).delete(f"/api/v1/accounts/{acct_id}/").status_code == 204
    assert not Account.objects.filter(pk=acct_id).exists()


def test_account_in_use_cannot_be_deleted(admin_user, opportunity, key_for):
    response = key_for(admin_user).delete(f"/api/v1/accounts/{opportunity.account_id}/")
    assert_error(response, 409, "account_in_use")
    assert Account.objects.filter(pk=opportunity.account_id).exists()


def test_a_rep_may_not_change_an_account_someone_elses_deal_uses(
    rep, teammate, manager, pipeline, key_for
):
    account = AccountFactory(name="Acme", industry="Retail")
    OpportunityFactory(owner=teammate, stage=pipeline.discover, account=account)
    path = f"/api/v1/accounts/{account.pk}/"
    body = assert_error(key_for(rep).patch(path, {"name": "Renamed"}), 403, "account_shared")
    assert body == {
        "code": "account_shared",
        "message": "This account is used by other people's deals; ask your manager to change it.",
        "details": {},
    }
    assert Account.objects.values_list("name", "industry").get(pk=account.pk) == (
        "Acme",
        "Retail",
    )
    # The teammate (their own deal) and a manager may.
    assert key_for(teammate).patch(path, {"industry": "Energy"}).status_code == 200
    assert key_for(manager).patch(path, {"name": "Acme AG"}).status_code == 200
    assert Account.objects.values_list("name", "industry").get(pk=account.pk) == (
        "Acme AG",
        "Energy",
    )


# --- pipeline framework ---------------------------------------------------------------------


def test_everyone_reads_the_framework(rep, pipeline, key_for):
    client = key_for(rep)
    pipelines = client.get("/api/v1/pipelines/").json()["results"]
    assert [s["name"] for s in pipelines[0]["stages"]] == [
        "Discover",
        "Qualify",
        "Proposal",
        "Closed won",
        "Closed lost",
    ]
    stages = client.get("/api/v1/stages/", {"pipeline": pipeline.pk}).json()
    assert stages["count"] == 5
    milestones = client.get("/api/v1/milestones/", {"stage": pipeline.discover.pk}).json()
    assert milestones["count"] == 2
    assert_error(client.get("/api/v1/stages/", {"pipeline": "x"}), 400)


def test_only_admins_write_the_framework(rep, manager, pipeline, key_for):
    for user in (rep, manager):
        client = key_for(user)
        assert_error(client.post("/api/v1/pipelines/", {"name": "Renewals"}), 403)
        assert_error(client.patch(f"/api/v1/stages/{pipeline.discover.pk}/", {"name": "X"}), 403)
        assert_error(client.delete(f"/api/v1/stages/{pipeline.proposal.pk}/"), 403)
        assert_error(
            client.post(
                "/api/v1/milestones/",
                {"stage": pipeline.discover.pk, "title": "x", "kind": "seller_action"},
            ),
            403,
        )
    assert Pipeline.objects.count() == 1
    assert Stage.objects.count() == 5
    assert Stage.objects.get(pk=pipeline.discover.pk).name == "Discover"


def test_admin_builds_a_pipeline(admin_user, key_for):
    client = key_for(admin_user)
    created = client.post("/api/v1/pipelines/", {"name": "Renewals"})
    assert created.status_code == 201, created.content
    pid = created.json()["id"]
    assert_error(client.post("/api/v1/pipelines/", {"name": "renewals"}), 400)
    stage = client.post(
        "/api/v1/stages/", {"pipeline": pid, "name": "Check-in", "order": 1, "probability": 50}
    )
    assert stage.status_code == 201, stage.content
    sid = stage.json()["id"]
    for bad in (
        {"probability": 150},
        {"order": 40000},
        {"warn_days": 20, "rot_days": 10},
        {"is_won": True, "is_lost": True},
        {"name": ""},
    ):
        assert_error(client.patch(f"/api/v1/stages/{sid}/", bad), 400)
    assert Stage.objects.get(pk=sid).probability == 50
    dup = client.post(
        "/api/v1/stages/", {"pipeline": pid, "name": "Other", "order": 1, "probability": 5}
    )
    assert_error(dup, 400)
    milestone = client.post(
        "/api/v1/milestones/", {"stage": sid, "title": "Usage reviewed", "kind": "buyer_commitment"}
    )
    assert milestone.status_code == 201, milestone.content
    mid = milestone.json()["id"]
    patched = client.patch(f"/api/v1/milestones/{mid}/", {"requires_evidence": True})
    assert patched.status_code == 200 and patched.json()["requires_evidence"] is True
    assert_error(client.patch(f"/api/v1/milestones/{mid}/", {"stage": sid}), 400)
    assert client.delete(f"/api/v1/milestones/{mid}/").status_code == 204
    renamed = client.patch(f"/api/v1/pipelines/{pid}/", {"is_active": False})
    assert renamed.status_code == 200 and renamed.json()["is_active"] is False
    assert client.delete(f"/api/v1/stages/{sid}/").status_code == 204
    assert not Stage.objects.filter(pk=sid).exists()


def test_stage_with_opportunities_cannot_be_deleted(admin_user, pipeline, opportunity, key_for):
    response = key_for(admin_user).delete(f"/api/v1/stages/{pipeline.discover.pk}/")
    assert_error(response, 409, "stage_in_use")
    assert Stage.objects.filter(pk=pipeline.discover.pk).exists()


# --- robustness -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/v1/opportunities/?search=a%00b", None),
        ("get", "/api/v1/accounts/?search=a%00b", None),
        ("get", "/api/v1/opportunities/by-external-id/a%00b/c/", None),
        ("put", "/api/v1/opportunities/by-external-id/a%00b/c/", {"name": "x"}),
        ("post", "/api/v1/accounts/", {"name": "a\x00b"}),
    ],
)
def test_null_characters_are_400_not_500(rep, key_for, method, path, data):
    assert_error(getattr(key_for(rep), method)(path, data), 400, "invalid")
    assert Account.objects.count() == 0
    assert Opportunity.objects.count() == 0


def test_out_of_range_numbers_are_400(rep, pipeline, account, key_for):
    body = f'{{"name": "x", "account": {account.pk}, "amount": 1e400, "close_date": "2031-01-01"}}'
    response = key_for(rep).generic("POST", LIST, body, content_type="application/json")
    assert_error(response, 400, "invalid")
    assert_error(key_for(rep).post(LIST, create_body(account, amount="1e13")), 400, "invalid")
    assert Opportunity.objects.count() == 0


def test_browsable_api_renders_for_a_browser_session(admin_user, pipeline, opportunity, settings):
    from rest_framework.settings import api_settings
    from rest_framework.test import APIClient

    # The browsable API is on with DEBUG (the default the suite runs with).
    assert any("Browsable" in r.__name__ for r in api_settings.DEFAULT_RENDERER_CLASSES)
    client = APIClient()
    client.force_login(admin_user)
    for path in (
        LIST,
        url(opportunity),
        url(opportunity, "history/"),
        url(opportunity, "activities/"),
        url(opportunity, "milestones/"),
        "/api/v1/accounts/",
        f"/api/v1/stages/{pipeline.discover.pk}/",
        f"/api/v1/pipelines/{pipeline.pk}/",
    ):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, (path, response.status_code)


def test_fast_opportunity_representation_matches_declared_fields(rep, pipeline, rf):
    """OpportunityOutput builds its JSON by hand for speed; it must equal what the
    declared (and documented) fields produce, value for value."""
    from rest_framework import serializers as drf_serializers

    from pipeline import selectors
    from pipeline.api import OpportunityOutput

    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.discover,
        amount=Decimal("1234567.5"),
        next_step="Demo",
        next_step_date=dt.date(2027, 1, 2),
        last_activity_at=timezone.now(),
        source="crm",
        external_id="E-1",
        forecast_category_override_reason="",
    )
    OpportunityFlagFactory(opportunity=opp, raised_at=timezone.now() - dt.timedelta(days=2))
    OpportunityFlagFactory(opportunity=opp, kind="no_activity", severity="critical")
    OpportunityFlagFactory(opportunity=opp, kind="past_close_date", cleared_at=timezone.now())
    framework = QualificationFrameworkFactory()
    q = Qualification.objects.create(
        opportunity=opp,
        framework=framework,
        score_pct=Decimal("66.7"),
        assessed_by=rep,
        assessed_at=timezone.now(),
    )
    type(opp).objects.filter(pk=opp.pk).update(latest_qualification=q)
    opp = selectors.opportunity_api_get_for(rep, opp.pk)
    request = rf.get("/api/v1/opportunities/")
    fast = OpportunityOutput(opp, context={"request": request}).data
    generic = drf_serializers.ModelSerializer.to_representation(
        OpportunityOutput(context={"request": request}), opp
    )
    assert dict(fast) == dict(generic)
    assert [f["kind"] for f in fast["open_flags"]] == ["no_activity", "stuck_in_stage"]
    assert fast["qualification"]["score_pct"] == "66.70" and fast["qualification"]["valid"]
    assert fast["amount"] == "1234567.50" and fast["url"].endswith(
        f"/api/v1/opportunities/{opp.pk}/"
    )


def test_list_rows_equal_the_detail_representation(rep, pipeline, key_for):
    """The list builds its JSON from rows of columns (pipeline.api.OPPORTUNITY_COLUMNS),
    the detail from a model instance: the same JSON, field for field — open flags,
    qualifications valid, expired (the stage's own period) and voided, nulls, an owner
    with only a last name (get_full_name strips the gap)."""
    rep.first_name, rep.last_name = "", "Solo"
    rep.save(update_fields=["first_name", "last_name"])
    pipeline.qualify.qualification_validity_days = 5
    pipeline.qualify.save(update_fields=["qualification_validity_days"])
    framework = QualificationFrameworkFactory()
    now = timezone.now()

    def qualify(opp: Opportunity, days_ago: int, **extra) -> None:
        q = Qualification.objects.create(
            opportunity=opp, framework=framework, score_pct=Decimal("66.7"), assessed_by=rep,
            assessed_at=now - dt.timedelta(days=days_ago), **extra,
        )  # fmt: skip
        Opportunity.objects.filter(pk=opp.pk).update(latest_qualification=q)

    OpportunityFactory(owner=rep, stage=pipeline.discover)  # never qualified, no flags
    full = OpportunityFactory(
        owner=rep, stage=pipeline.discover, amount=Decimal("1234567.5"), next_step="Demo",
        next_step_date=dt.date(2031, 1, 2), last_activity_at=now, source="crm",
        external_id="E-1", forecast_category_override_reason="Signed LOI",
    )  # fmt: skip
    OpportunityFlagFactory(opportunity=full, raised_at=now - dt.timedelta(days=2))
    OpportunityFlagFactory(opportunity=full, kind="no_activity", severity="critical")
    OpportunityFlagFactory(opportunity=full, kind="past_close_date", cleared_at=now)
    qualify(full, days_ago=10)  # the default period (30 days): valid
    qualify(OpportunityFactory(owner=rep, stage=pipeline.qualify), days_ago=10)  # expired
    qualify(
        OpportunityFactory(owner=rep, stage=pipeline.discover),
        days_ago=1, invalidated_at=now, invalidated_reason="Close date moved",
    )  # fmt: skip
    client = key_for(rep)
    listed = client.get(LIST).json()["results"]
    assert len(listed) == 4
    for row in listed:
        assert row == client.get(f"{LIST}{row['id']}/").json()
    by_id = {row["id"]: row for row in listed}
    assert [f["kind"] for f in by_id[full.pk]["open_flags"]] == ["no_activity", "stuck_in_stage"]
    assert by_id[full.pk]["owner"]["name"] == "Solo"
    valid = [row["qualification"] and row["qualification"]["valid"] for row in listed]
    assert sorted(map(str, valid)) == ["False", "False", "None", "True"]


def test_list_page_keys_join_nothing(rep, pipeline, key_for):
    """The page's keys (the subquery with the OFFSET) come from the opportunity table
    alone: the joins the page's columns need are made for its rows only, so a deep page
    skips index entries, not joined rows."""
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    client = key_for(rep)
    client.get(LIST)  # the key's first use records last_used_at
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LIST, {"stage": pipeline.discover.pk}).status_code == 200
    page = next(q["sql"] for q in ctx.captured_queries if "(SELECT " in q["sql"])
    outer, keys = page.split("(SELECT ", 1)
    assert "JOIN" in outer and "JOIN" not in keys
