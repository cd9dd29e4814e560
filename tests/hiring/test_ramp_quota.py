"""A new hire's ramped quota: the pure rule (known answers), the forecasting service that
writes it (who may, what it refuses, the database after each), the hire that calls it,
and the suggestion on the decision page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import Quota
from hiring import services
from hiring.models import Candidate, CandidateStage
from salesops.exceptions import Conflict, PermissionDenied, ValidationFailed
from salesops.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.time_machine(dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC), tick=False)


def _months(rep: User) -> list[tuple[dt.date, Decimal]]:
    return list(
        Quota.objects.filter(rep=rep, period_kind="month")
        .order_by("period_start")
        .values_list("period_start", "amount")
    )


# --- the rule -------------------------------------------------------------------------


def test_the_month_they_start_in_is_the_first_month_however_late():
    months = rules.ramp_quotas(
        Decimal("10000"), [25, 50, 75, 100], dt.date(2027, 1, 28), rules.FiscalCalendar(1)
    )
    assert [(p.label, amount) for p, amount in months] == [
        ("2027-01", Decimal("2500.00")),
        ("2027-02", Decimal("5000.00")),
        ("2027-03", Decimal("7500.00")),
        ("2027-04", Decimal("10000.00")),
    ]


def test_the_ramp_crosses_fiscal_years_and_rounds_to_cents():
    # A fiscal year starting in February: November 2026 is FY2027; the ramp runs into FY2028.
    months = rules.ramp_quotas(
        Decimal("3333.33"), [33, 66, 100], dt.date(2026, 12, 15), rules.FiscalCalendar(2)
    )
    assert [(p.start, p.fiscal_year, amount) for p, amount in months] == [
        (dt.date(2026, 12, 1), 2027, Decimal("1100.00")),  # 1099.9989 rounds up
        (dt.date(2027, 1, 1), 2027, Decimal("2200.00")),
        (dt.date(2027, 2, 1), 2028, Decimal("3333.33")),
    ]


# --- the service ------------------------------------------------------------------------


@pytest.fixture
def new_rep(team_a) -> User:
    return UserFactory(
        username="newbie", role=Role.REP, team=team_a, started_on=dt.date(2026, 12, 14)
    )


def test_an_administrator_writes_the_ramp_and_replaces_what_was_there(admin_user, new_rep):
    forecasting_services.quota_set(
        actor=admin_user, period="2027-01", amount="99", rep_id=new_rep.pk
    )
    written = forecasting_services.quota_ramp_set(
        actor=admin_user, rep_id=new_rep.pk, full_amount="12000"
    )
    assert len(written) == 4
    assert _months(new_rep) == [
        (dt.date(2026, 12, 1), Decimal("3000.00")),
        (dt.date(2027, 1, 1), Decimal("6000.00")),
        (dt.date(2027, 2, 1), Decimal("9000.00")),
        (dt.date(2027, 3, 1), Decimal("12000.00")),
    ]


def test_a_sales_leader_sets_quotas_so_their_ramp_replaces_what_was_there(
    admin_user, leader, new_rep
):
    forecasting_services.quota_set(
        actor=admin_user, period="2027-02", amount="7000", rep_id=new_rep.pk
    )
    forecasting_services.quota_ramp_set(actor=leader, rep_id=new_rep.pk, full_amount="1000")
    assert [a for _, a in _months(new_rep)] == [
        Decimal("250.00"), Decimal("500.00"), Decimal("750.00"), Decimal("1000.00"),
    ]  # fmt: skip


@override_settings(NEW_HIRE_RAMP_PERCENTS=[50, 100])
def test_the_percentages_are_configurable(admin_user, new_rep):
    forecasting_services.quota_ramp_set(actor=admin_user, rep_id=new_rep.pk, full_amount="800")
    assert [a for _, a in _months(new_rep)] == [Decimal("400.00"), Decimal("800.00")]


def test_their_manager_sets_it_at_hire_but_never_over_an_administrators_quota(
    admin_user, manager, new_rep
):
    forecasting_services.quota_set(
        actor=admin_user, period="2027-02", amount="7000", rep_id=new_rep.pk
    )
    with pytest.raises(Conflict):
        forecasting_services.quota_ramp_set(actor=manager, rep_id=new_rep.pk, full_amount="1000")
    assert _months(new_rep) == [(dt.date(2027, 2, 1), Decimal("7000.00"))]
    Quota.objects.filter(rep=new_rep).delete()
    forecasting_services.quota_ramp_set(actor=manager, rep_id=new_rep.pk, full_amount="1000")
    assert [a for _, a in _months(new_rep)] == [
        Decimal("250.00"), Decimal("500.00"), Decimal("750.00"), Decimal("1000.00"),
    ]  # fmt: skip


def test_others_and_late_or_bad_requests_are_refused_and_nothing_is_written(
    admin_user, manager, other_manager, rep, new_rep
):
    for actor in (rep, other_manager, new_rep):
        with pytest.raises(PermissionDenied):
            forecasting_services.quota_ramp_set(actor=actor, rep_id=new_rep.pk, full_amount="1")
    veteran = UserFactory(
        username="veteran", role=Role.REP, team=new_rep.team, started_on=dt.date(2026, 10, 1)
    )
    with pytest.raises(PermissionDenied):  # started more than a month ago: not at hire
        forecasting_services.quota_ramp_set(actor=manager, rep_id=veteran.pk, full_amount="1")
    with pytest.raises(ValidationFailed) as bad:
        forecasting_services.quota_ramp_set(actor=admin_user, rep_id=new_rep.pk, full_amount="-5")
    assert "full_quota" in bad.value.details
    no_start = UserFactory(username="nostart", role=Role.REP, started_on=None)
    with pytest.raises(ValidationFailed) as bad:
        forecasting_services.quota_ramp_set(actor=admin_user, rep_id=no_start.pk, full_amount="5")
    assert "start date" in bad.value.details["rep"][0]
    assert not Quota.objects.exists()


# --- the hire ---------------------------------------------------------------------------


@pytest.fixture
def at_offer(candidate, manager) -> Candidate:
    services.candidate_move(actor=manager, candidate_id=candidate.pk, stage="offer")
    return candidate


def test_hiring_with_a_full_quota_writes_the_ramp(at_offer, manager):
    services.candidate_hire(
        actor=manager, candidate_id=at_offer.pk, started_on="2027-01-04", reason="Strong",
        full_quota="20000",
    )  # fmt: skip
    at_offer.refresh_from_db()
    assert [a for _, a in _months(at_offer.hired_user)] == [
        Decimal("5000.00"), Decimal("10000.00"), Decimal("15000.00"), Decimal("20000.00"),
    ]  # fmt: skip
    assert _months(at_offer.hired_user)[0][0] == dt.date(2027, 1, 1)


def test_a_bad_quota_or_one_the_hirer_may_not_set_hires_nobody(at_offer, manager, team_b):
    with pytest.raises(ValidationFailed) as bad:
        services.candidate_hire(
            actor=manager, candidate_id=at_offer.pk, started_on="2027-01-04", reason="Yes",
            full_quota="lots",
        )  # fmt: skip
    assert "full_quota" in bad.value.details
    # Into a team the hiring manager does not manage: their quota is not theirs to set.
    with pytest.raises(ValidationFailed) as refused:
        services.candidate_hire(
            actor=manager, candidate_id=at_offer.pk, started_on="2027-01-04", reason="Yes",
            team=team_b.pk, full_quota="1000",
        )  # fmt: skip
    assert "Leave it blank" in refused.value.details["full_quota"][0]
    at_offer.refresh_from_db()
    assert at_offer.stage == CandidateStage.OFFER and at_offer.hired_user is None
    assert not User.objects.filter(email="dana@example.com").exists()
    assert not Quota.objects.exists()


def test_the_decision_page_suggests_the_teams_median_quota_and_keeps_what_was_typed(
    client, at_offer, manager, admin_user, team_a
):
    for name, amount in (("r1", "9000"), ("r2", "12000"), ("r3", "30000")):
        person = UserFactory(username=name, role=Role.REP, team=team_a)
        forecasting_services.quota_set(
            actor=admin_user, period="2026-12", amount=amount, rep_id=person.pk
        )
    client.force_login(manager)
    page = client.get(reverse("hiring:decision", args=[at_offer.pk]))
    assert 'name="full_quota" value="12000.00"' in page.content.decode()
    answer = client.post(
        reverse("hiring:hire", args=[at_offer.pk]),
        {"started_on": "2027-01-04", "role": "rep", "team": team_a.pk, "reason": "Yes",
         "full_quota": "12 thousand"},
    )  # fmt: skip
    assert answer.status_code == 400
    body = answer.content.decode()
    assert 'value="12 thousand"' in body and "is-invalid" in body
    assert not User.objects.filter(email="dana@example.com").exists()


def test_the_api_hires_with_a_ramp(key_for, at_offer, manager):
    client = key_for(manager)
    answer = client.post(
        f"/api/v1/hiring/candidates/{at_offer.pk}/hire/",
        {"started_on": "2027-01-04", "reason": "Yes", "full_quota": "4000"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    at_offer.refresh_from_db()
    assert [a for _, a in _months(at_offer.hired_user)][-1] == Decimal("4000.00")
