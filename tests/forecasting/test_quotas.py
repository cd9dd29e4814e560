"""Quotas: the model's database constraints, quota_set / quota_update / quota_delete
(the database after each call, also after a refusal), the scoped list and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from forecasting.models import Quota
from forecasting.selectors import quota_list_for
from forecasting.services import quota_delete, quota_set, quota_update
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent

pytestmark = pytest.mark.django_db

Q3 = dt.date(2026, 7, 1)


def quota(**fields) -> Quota:
    return Quota.objects.create(
        **{"period_kind": "quarter", "period_start": Q3, "amount": 1, "currency": "EUR"} | fields
    )


# --- the database -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither rep nor team
        {"both": True},
        {"amount": Decimal("-1")},
        {"currency": "eur"},
        {"period_start": dt.date(2026, 7, 2)},
    ],
)
def test_constraints_hold_in_the_database(rep, fields):
    if fields.pop("both", False):
        fields = {"rep": rep, "team": rep.team}
    elif "amount" in fields or "currency" in fields or "period_start" in fields:
        fields["rep"] = rep
    with pytest.raises(IntegrityError), transaction.atomic():
        quota(**fields)


def test_one_quota_per_rep_and_per_team_and_period(rep):
    quota(rep=rep)
    quota(team=rep.team)
    quota(rep=rep, period_kind="month")  # July as a month is another period
    with pytest.raises(IntegrityError), transaction.atomic():
        quota(rep=rep)
    with pytest.raises(IntegrityError), transaction.atomic():
        quota(team=rep.team)


# --- services ---------------------------------------------------------------------------


def test_quota_set_creates_then_replaces(admin_user, rep):
    q, created = quota_set(actor=admin_user, period="2026-Q3", rep_id=rep.pk, amount="100000")
    assert created
    assert (q.period_kind, q.period_start, q.amount, q.currency) == (
        "quarter",
        Q3,
        Decimal("100000.00"),
        "EUR",
    )
    again, created = quota_set(
        actor=admin_user, period="2026-Q3", rep_id=rep.pk, amount="90000.5", currency="usd"
    )
    assert (again.pk, created) == (q.pk, False)
    assert Quota.objects.values_list("amount", "currency").get() == (Decimal("90000.50"), "USD")
    events = list(AuditEvent.objects.filter(action="quota.set").order_by("id"))
    assert [e.data["previous"] for e in events] == [
        None,
        {"amount": "100000.00", "currency": "EUR"},
    ]


def test_quota_set_for_a_team_and_a_month(admin_user, rep):
    q, _ = quota_set(actor=admin_user, period="2026-08", team_id=rep.team_id, amount=0)
    assert (q.period_kind, q.period_start, q.team_id, q.rep_id, q.amount) == (
        "month",
        dt.date(2026, 8, 1),
        rep.team_id,
        None,
        Decimal("0.00"),
    )


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_a_rep_or_a_manager_does_not_set_quotas(request, rep, who):
    with pytest.raises(PermissionDenied) as exc:
        quota_set(actor=request.getfixturevalue(who), period="2026-Q3", rep_id=rep.pk, amount=1)
    assert exc.value.message == "Only an administrator or a sales leader can set quotas."
    assert not Quota.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_sales_leader_sets_changes_and_removes_quotas(leader, rep):
    q, created = quota_set(actor=leader, period="2026-Q3", rep_id=rep.pk, amount="80000")
    assert created
    quota_update(actor=leader, quota_id=q.pk, amount="85000")
    assert Quota.objects.values_list("rep_id", "amount").get() == (rep.pk, Decimal("85000.00"))
    quota_delete(actor=leader, quota_id=q.pk)
    assert not Quota.objects.exists()
    assert list(
        AuditEvent.objects.filter(actor=leader).order_by("id").values_list("action", flat=True)
    ) == ["quota.set", "quota.set", "quota.deleted"]


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"period": "2026-Q5", "amount": 1}, ["period"]),
        ({"period": "2026-Q3", "amount": -1}, ["amount"]),
        ({"period": "2026-Q3", "amount": "lots"}, ["amount"]),
        ({"period": "2026-Q3", "amount": 1, "currency": "EURO"}, ["currency"]),
        ({"period": "2026-Q3", "amount": 1, "rep_id": None}, ["rep"]),  # neither
        ({"period": "2026-Q3", "amount": 1, "team_id": "TEAM"}, ["rep"]),  # both
        ({"period": "2026-Q3", "amount": 1, "rep_id": 999_999_999}, ["rep"]),
    ],
)
def test_quota_set_refuses_bad_input(admin_user, rep, kwargs, fields):
    args = dict(kwargs)
    if "rep_id" not in args and "team_id" not in args:
        args["rep_id"] = rep.pk
    elif args.get("team_id") == "TEAM":
        args |= {"team_id": rep.team_id, "rep_id": rep.pk}
    with pytest.raises(ValidationFailed) as exc:
        quota_set(actor=admin_user, **args)
    assert sorted(exc.value.details) == fields
    assert not Quota.objects.exists()


def test_quota_set_refuses_an_unknown_team(admin_user):
    with pytest.raises(ValidationFailed) as exc:
        quota_set(actor=admin_user, period="2026-Q3", team_id=999_999_999, amount=1)
    assert exc.value.details == {"team": ["No such team."]}


def test_quota_update_and_delete(admin_user, rep):
    q = quota(rep=rep, amount=Decimal("10"))
    updated = quota_update(actor=admin_user, quota_id=q.pk, amount="12.346")  # rounded to cents
    assert (updated.amount, updated.currency) == (Decimal("12.35"), "EUR")
    with pytest.raises(ValidationFailed):
        quota_update(actor=admin_user, quota_id=q.pk, amount="-5")
    assert Quota.objects.get().amount == Decimal("12.35")
    with pytest.raises(PermissionDenied):
        quota_delete(actor=rep, quota_id=q.pk)
    quota_delete(actor=admin_user, quota_id=q.pk)
    assert not Quota.objects.exists()
    assert AuditEvent.objects.filter(action="quota.deleted", target_id=q.pk).exists()
    with pytest.raises(NotFound):
        quota_delete(actor=admin_user, quota_id=q.pk)


# --- the scoped list --------------------------------------------------------------------


@pytest.fixture
def quotas(rep, teammate, other_rep, manager):
    return {
        "rep": quota(rep=rep),
        "teammate": quota(rep=teammate),
        "team_a": quota(team=rep.team),
        "other_rep": quota(rep=other_rep),
        "team_b": quota(team=other_rep.team),
    }


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", {"rep"}),
        ("manager", {"rep", "teammate", "team_a"}),
        ("other_manager", {"other_rep", "team_b"}),
        ("leader", {"rep", "teammate", "team_a", "other_rep", "team_b"}),
    ],
)
def test_quota_list_is_scoped(request, quotas, who, expected):
    ids = set(quota_list_for(request.getfixturevalue(who)).values_list("pk", flat=True))
    assert ids == {quotas[name].pk for name in expected}


# --- API --------------------------------------------------------------------------------


def test_api_list_with_filters(key_for, quotas, manager, rep, leader):
    client = key_for(manager)
    body = client.get("/api/v1/quotas/").json()
    assert {row["id"] for row in body["results"]} == {
        quotas[n].pk for n in ("rep", "teammate", "team_a")
    }
    row = next(r for r in body["results"] if r["id"] == quotas["rep"].pk)
    assert (row["period"], row["period_kind"], row["rep"], row["amount"]) == (
        "2026-Q3",
        "quarter",
        rep.pk,
        "1.00",
    )
    assert client.get("/api/v1/quotas/?period=2026-Q4").json()["results"] == []
    by_rep = client.get(f"/api/v1/quotas/?rep={rep.pk}&period=2026-Q3").json()["results"]
    assert [r["id"] for r in by_rep] == [quotas["rep"].pk]
    by_team = key_for(leader).get(f"/api/v1/quotas/?team={rep.team_id}").json()["results"]
    assert {r["id"] for r in by_team} == {quotas[n].pk for n in ("rep", "teammate", "team_a")}
    bad = client.get("/api/v1/quotas/?period=2026-13")
    assert bad.status_code == 400
    assert bad.json()["details"] == {"period": ['"2026-13": the month must be 01-12.']}


def test_api_write_as_admin(key_for, admin_user, rep):
    client = key_for(admin_user)
    first = client.post(
        "/api/v1/quotas/", {"period": "2026-Q3", "rep": rep.pk, "amount": "5000"}, format="json"
    )
    assert first.status_code == 201
    assert (first.json()["amount"], first.json()["currency"]) == ("5000.00", "EUR")
    second = client.post(
        "/api/v1/quotas/", {"period": "2026-Q3", "rep": rep.pk, "amount": "6000"}, format="json"
    )
    assert (second.status_code, second.json()["id"]) == (200, first.json()["id"])
    pk = first.json()["id"]
    patched = client.patch(f"/api/v1/quotas/{pk}/", {"amount": "7000"}, format="json")
    assert (patched.status_code, patched.json()["amount"]) == (200, "7000.00")
    refused = client.patch(f"/api/v1/quotas/{pk}/", {"rep": rep.pk}, format="json")
    assert refused.status_code == 400
    assert client.delete(f"/api/v1/quotas/{pk}/").status_code == 204
    assert not Quota.objects.exists()


def test_api_write_refused_for_others(key_for, manager, rep):
    response = key_for(manager).post(
        "/api/v1/quotas/", {"period": "2026-Q3", "rep": rep.pk, "amount": "1"}, format="json"
    )
    assert response.status_code == 403
    assert not Quota.objects.exists()


@pytest.mark.parametrize("count", [1, 40])
def test_api_list_query_count(key_for, leader, team_a, django_assert_max_num_queries, count):
    from tests.factories import UserFactory

    for _ in range(count):
        quota(rep=UserFactory(team=team_a))
    client = key_for(leader)
    # key lookup + key touch + count + page (reps and teams joined).
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/quotas/")
    assert response.json()["count"] == count
