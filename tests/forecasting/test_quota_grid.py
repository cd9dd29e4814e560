"""The quota page's reads and writes: quota_grid_for (who sees which rows, the teams'
fallback sums) and quota_set_many (all cells or none; a cell changed meanwhile is
refused) — the database after success and after every refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forecasting.models import Quota
from forecasting.selectors import period_or_current, quota_grid_for
from forecasting.services import QuotaChange, quota_set_many
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Role
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

Q3 = dt.date(2026, 7, 1)


def quota(**fields) -> Quota:
    return Quota.objects.create(
        **{"period_kind": "quarter", "period_start": Q3, "amount": 1, "currency": "EUR"} | fields
    )


def stored() -> set[tuple]:
    return set(
        Quota.objects.values_list(
            "period_kind", "period_start", "rep_id", "team_id", "amount", "currency"
        )
    )


def change(*, rep=None, team=None, amount=None, currency="", previous=None) -> QuotaChange:
    return QuotaChange(
        rep_id=rep.pk if rep else None,
        team_id=team.pk if team else None,
        amount=None if amount is None else Decimal(amount),
        currency=currency,
        previous=previous,
    )


# --- quota_set_many ----------------------------------------------------------------------


def test_sets_changes_and_removes_cells_together(admin_user, rep, teammate, team_a, team_b):
    quota(rep=teammate, amount=500)
    quota(team=team_b, amount=900, currency="USD")

    result = quota_set_many(
        actor=admin_user,
        period="2026-Q3",
        changes=[
            change(rep=rep, amount="120000"),  # new; empty currency: the default
            change(rep=teammate, amount="600", previous=(Decimal("500.00"), "EUR")),
            change(team=team_b, previous=(Decimal("900"), "USD")),  # emptied: removed
            change(team=team_a, amount="300000.5", currency="gbp"),
        ],
    )

    assert (result.created, result.updated, result.deleted, result.unchanged) == (2, 1, 1, 0)
    assert stored() == {
        ("quarter", Q3, rep.pk, None, Decimal("120000.00"), "EUR"),
        ("quarter", Q3, teammate.pk, None, Decimal("600.00"), "EUR"),
        ("quarter", Q3, None, team_a.pk, Decimal("300000.50"), "GBP"),
    }
    assert AuditEvent.objects.filter(action="quota.set").count() == 3
    assert AuditEvent.objects.filter(action="quota.deleted").count() == 1


def test_an_unchanged_cell_is_left_alone(admin_user, rep):
    quota(rep=rep, amount=500)
    result = quota_set_many(
        actor=admin_user,
        period="2026-Q3",
        changes=[change(rep=rep, amount="500", currency="eur", previous=(Decimal(500), "EUR"))],
    )
    assert result.unchanged == 1 and result.updated == 0
    assert not AuditEvent.objects.exists()


def test_one_refused_cell_saves_none(admin_user, rep, teammate, other_rep, team_a):
    quota(rep=teammate, amount=500)
    before = stored()

    with pytest.raises(ValidationFailed) as exc:
        quota_set_many(
            actor=admin_user,
            period="2026-Q3",
            changes=[
                change(rep=rep, amount="1000"),  # fine, and rolled back
                change(rep=teammate, amount="-5", previous=(Decimal(500), "EUR")),
                change(team=team_a, amount="10", currency="EURO"),
                change(rep=other_rep, amount="1e13"),
            ],
        )

    cells = exc.value.details["cells"]
    assert set(cells) == {f"rep-{teammate.pk}", f"team-{team_a.pk}", f"rep-{other_rep.pk}"}
    assert cells[f"rep-{teammate.pk}"] == {"amount": ["The amount cannot be negative."]}
    assert "currency" in cells[f"team-{team_a.pk}"]
    assert "too large" in cells[f"rep-{other_rep.pk}"]["amount"][0]
    assert "3 quotas could not be saved, so none was" in exc.value.message
    assert stored() == before
    assert not AuditEvent.objects.exists()


def test_a_cell_changed_meanwhile_is_refused(admin_user, rep, teammate):
    quota(rep=rep, amount=700)  # someone saved 700 after the page showed 500
    before = stored()
    with pytest.raises(ValidationFailed) as exc:
        quota_set_many(
            actor=admin_user,
            period="2026-Q3",
            changes=[
                change(rep=rep, amount="800", previous=(Decimal(500), "EUR")),
                # The page showed none, but someone set one meanwhile.
                change(rep=teammate, amount="5"),
            ],
        )
    assert exc.value.details["cells"][f"rep-{rep.pk}"] == {
        "amount": ["Changed by someone else meanwhile (now: 700.00 EUR). Reload the page."]
    }
    assert stored() == before

    quota(rep=teammate, amount=1)
    with pytest.raises(ValidationFailed) as exc:
        quota_set_many(actor=admin_user, period="2026-Q3", changes=[change(rep=teammate)])
    assert "now: 1.00 EUR" in exc.value.details["cells"][f"rep-{teammate.pk}"]["amount"][0]


def test_an_inactive_person_cannot_get_a_new_quota_but_loses_an_old_one(admin_user, rep):
    left = UserFactory(username="left", role=Role.REP, is_active=False)
    quota(rep=left, amount=5)
    with pytest.raises(ValidationFailed) as exc:
        quota_set_many(
            actor=admin_user,
            period="2026-Q3",
            changes=[change(rep=left, amount="10", previous=(Decimal(5), "EUR"))],
        )
    assert exc.value.details["cells"][f"rep-{left.pk}"] == {"rep": ["No such active user."]}
    quota_set_many(
        actor=admin_user,
        period="2026-Q3",
        changes=[change(rep=left, previous=(Decimal(5), "EUR"))],
    )
    assert not Quota.objects.filter(rep=left).exists()


def test_only_administrators_and_leaders_and_a_real_period(leader, manager, rep, admin_user):
    before = stored()
    for user in (manager, rep):
        with pytest.raises(PermissionDenied):
            quota_set_many(actor=user, period="2026-Q3", changes=[change(rep=rep, amount="1")])
    with pytest.raises(ValidationFailed) as exc:
        quota_set_many(actor=admin_user, period="2026-Q9", changes=[change(rep=rep, amount="1")])
    assert "period" in exc.value.details
    assert stored() == before
    result = quota_set_many(actor=leader, period="2026-Q3", changes=[change(rep=rep, amount="7")])
    assert result.created == 1
    assert stored() == before | {("quarter", Q3, rep.pk, None, Decimal("7.00"), "EUR")}


def test_a_month(admin_user, rep):
    quota_set_many(actor=admin_user, period="2026-08", changes=[change(rep=rep, amount="40")])
    assert stored() == {("month", dt.date(2026, 8, 1), rep.pk, None, Decimal("40.00"), "EUR")}


# --- quota_grid_for ----------------------------------------------------------------------


@pytest.fixture
def org(rep, teammate, other_rep, manager, other_manager, team_a, team_b):
    """Team A with a sub-team A1 (one rep of its own), Team B; a rep who left with a
    quota; a manager with a quota of their own."""
    sub = TeamFactory(name="A1", parent=team_a)
    sub_rep = UserFactory(username="sub_rep", role=Role.REP, team=sub)
    left = UserFactory(username="left", role=Role.REP, team=team_a, is_active=False)
    UserFactory(username="gone", role=Role.REP, team=team_b, is_active=False)  # no quota
    quota(rep=rep, amount=100)
    quota(rep=sub_rep, amount=50)
    quota(rep=sub_rep, amount=999, period_kind="month")  # another period
    quota(rep=left, amount=20)
    quota(rep=other_rep, amount=70, currency="USD")
    quota(rep=manager, amount=10)
    quota(team=team_b, amount=80)
    return {"sub": sub, "sub_rep": sub_rep, "left": left}


def grid_for(user, label="2026-Q3"):
    return quota_grid_for(user, period_or_current(label))


def test_administrators_and_leaders_see_everyone(
    admin_user, leader, org, rep, teammate, other_rep, manager
):
    for user in (admin_user, leader):
        grid = grid_for(user)
        people = {row.id: row for row in grid.people}
        # Active reps, and whoever has a quota (the manager, the rep who left).
        assert set(people) == {
            rep.pk, teammate.pk, other_rep.pk, org["sub_rep"].pk, manager.pk, org["left"].pk,
        }  # fmt: skip
        assert people[org["left"].pk].is_active is False
        assert people[rep.pk].quota.amount == Decimal("100.00")
        assert people[org["sub_rep"].pk].detail == "A1"
        assert people[rep.pk].key == f"rep-{rep.pk}"
        teams = [(row.name, row.depth, row.detail) for row in grid.teams]
        assert teams == [("Team A", 0, ""), ("A1", 1, "Team A"), ("Team B", 0, "")]


def test_a_team_without_a_quota_shows_its_reps_sum(admin_user, org, team_a, team_b):
    rows = {row.name: row for row in grid_for(admin_user).teams}
    # Team A: rep 100 + the one who left 20 + sub-team A1's rep 50; the manager's 10 too
    # (the manager is in Team A).
    assert rows["Team A"].quota is None
    assert rows["Team A"].reps_sum == (("EUR", Decimal("180.00")),)
    assert rows["A1"].reps_sum == (("EUR", Decimal("50.00")),)
    assert rows["Team B"].quota.amount == Decimal("80.00")
    assert rows["Team B"].reps_sum == (("USD", Decimal("70.00")),)


def test_a_manager_sees_their_teams(manager, org, rep, teammate, other_rep):
    grid = grid_for(manager)
    assert {row.id for row in grid.people} == {
        rep.pk, teammate.pk, org["sub_rep"].pk, org["left"].pk, manager.pk,
    }  # fmt: skip
    assert [row.name for row in grid.teams] == ["Team A", "A1"]


def test_a_manager_without_a_quota_is_not_a_row(other_manager, org, other_rep):
    grid = grid_for(other_manager)
    assert [row.id for row in grid.people] == [other_rep.pk]
    assert [row.name for row in grid.teams] == ["Team B"]


def test_a_rep_sees_their_own_row(rep, teammate, org):
    grid = grid_for(rep)
    assert [(row.id, row.quota.amount) for row in grid.people] == [(rep.pk, Decimal("100.00"))]
    assert grid.teams == []
    assert [row.id for row in grid_for(teammate).people] == [teammate.pk]
    assert grid_for(teammate).people[0].quota is None


def test_the_grid_of_another_period(admin_user, org):
    rows = {row.id: row for row in grid_for(admin_user, "2026-07").people}
    assert rows[org["sub_rep"].pk].quota.amount == Decimal("999.00")
    assert org["left"].pk not in rows  # no quota that month, and gone
