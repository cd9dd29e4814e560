"""The forecast data version and the cache keyed by it (forecasting.freshness).

The version is bumped by DEFERRED triggers at commit. A test's transaction never commits,
so most tests here run `SET CONSTRAINTS ALL IMMEDIATE` first: the triggers then fire at
the statement, in the test's transaction — once, as the first bump marks the transaction.
The commit behaviour itself is tested with real transactions (transaction=True)."""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from forecasting import freshness
from forecasting.models import ForecastDataVersion, PipelineSnapshot, Quota
from pipeline.models import Opportunity
from salesops import organisation
from salesops.models import Team, User
from salesops.services import organisation_update


def immediate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def version() -> int:
    return ForecastDataVersion.objects.get(pk=1).version


@pytest.fixture
def versioned(opportunity, teammate):
    """The version once the fixtures' own writes have bumped it: SET CONSTRAINTS ALL
    IMMEDIATE fires the deferred triggers of the writes made so far, at once."""
    # A transaction=True test elsewhere flushes the table; the migration's row is back here.
    ForecastDataVersion.objects.get_or_create(pk=1)
    immediate()
    with connection.cursor() as cursor:  # what follows counts as a new transaction
        cursor.execute("SELECT set_config('salesops.forecast_data_bumped', '', true)")
    return version()


def _deal_amount(opp):
    Opportunity.objects.filter(pk=opp.pk).update(amount=Decimal("1234.00"))


def _deal_close_date(opp):
    Opportunity.objects.filter(pk=opp.pk).update(close_date=opp.close_date + dt.timedelta(1))


def _deal_owner(opp):
    Opportunity.objects.filter(pk=opp.pk).update(owner=User.objects.exclude(pk=opp.owner_id)[0])


def _stage_probability(opp):
    type(opp.stage).objects.filter(pk=opp.stage_id).update(probability=33)


def _person_team(opp):
    User.objects.filter(pk=opp.owner_id).update(team=Team.objects.create(name="Elsewhere"))


def _team_name(opp):
    Team.objects.filter(pk=opp.owner.team_id).update(name="Renamed")


def _quota(opp):
    Quota.objects.create(
        period_kind="quarter",
        period_start=dt.date(2026, 10, 1),
        rep=opp.owner,
        amount=Decimal("100000.00"),
        currency="EUR",
    )


def _snapshot(opp):
    PipelineSnapshot.objects.create(
        week=dt.date(2026, 11, 23),
        opportunity=opp,
        owner=opp.owner,
        team=opp.owner.team,
        stage=opp.stage,
        forecast_category=opp.forecast_category,
        amount=opp.amount,
        currency=opp.currency,
        close_date=opp.close_date,
        status=opp.status,
    )


def _deal_deleted(opp):
    Opportunity.objects.filter(pk=opp.pk).delete()


@pytest.mark.parametrize(
    "change",
    [
        _deal_amount,
        _deal_close_date,
        _deal_owner,
        _deal_deleted,
        _stage_probability,
        _person_team,
        _team_name,
        _quota,
        _snapshot,
    ],
)
def test_a_change_the_numbers_read_bumps_the_version(versioned, opportunity, change):
    change(opportunity)
    assert version() == versioned + 1


def test_columns_no_number_reads_do_not_bump_it(versioned, opportunity):
    Opportunity.objects.filter(pk=opportunity.pk).update(next_step="Call the CFO again")
    User.objects.filter(pk=opportunity.owner_id).update(last_login="2026-11-27T08:00:00Z")
    assert version() == versioned


def test_a_transaction_bumps_it_once_however_many_rows(versioned, opportunity):
    for amount in ("1.00", "2.00", "3.00"):
        Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal(amount))
    assert version() == versioned + 1


@pytest.mark.django_db(transaction=True)
def test_committed_transactions_bump_it_at_commit_rolled_back_ones_do_not(opportunity):
    ForecastDataVersion.objects.get_or_create(pk=1)
    before = version()
    with transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal("10.00"))
        Opportunity.objects.filter(pk=opportunity.pk).update(close_date=dt.date(2027, 1, 4))
        assert version() == before  # deferred: nothing until the commit
    assert version() == before + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal("20.00"))
        raise RuntimeError("rolled back")
    assert version() == before + 1
    with transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal("30.00"))
    assert version() == before + 2


@pytest.fixture
def caching(settings, versioned):
    settings.FORECAST_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_cached_numbers_are_served_until_the_data_changes(caching, opportunity):
    compute, calls = counting({"commit": Decimal("5.00")})
    assert freshness.cached_numbers("t", ("leader", "2026-Q4"), compute) == {"commit": Decimal("5")}
    assert freshness.cached_numbers("t", ("leader", "2026-Q4"), compute) == {"commit": Decimal("5")}
    assert len(calls) == 1
    freshness.cached_numbers("t", ("manager", "2026-Q4"), compute)  # another scope: its own
    assert len(calls) == 2
    immediate()
    Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal("99.00"))
    freshness.cached_numbers("t", ("leader", "2026-Q4"), compute)
    assert len(calls) == 3


def test_no_caching_when_turned_off_or_the_version_row_is_missing(caching, settings):
    compute, calls = counting(1)
    settings.FORECAST_CACHE_SECONDS = 0
    freshness.cached_numbers("t", ("x",), compute)
    freshness.cached_numbers("t", ("x",), compute)
    assert len(calls) == 2
    settings.FORECAST_CACHE_SECONDS = 60
    ForecastDataVersion.objects.all().delete()
    assert freshness.data_version() is None
    freshness.cached_numbers("t", ("x",), compute)
    freshness.cached_numbers("t", ("x",), compute)
    assert len(calls) == 4


def test_daily_figures_follow_the_day_not_the_version(caching, opportunity):
    compute, calls = counting([(1, 0, 3, 1, 1, 2)])
    freshness.cached_daily("rates", ("2026-11-27",), compute)
    immediate()
    Opportunity.objects.filter(pk=opportunity.pk).update(amount=Decimal("99.00"))
    freshness.cached_daily("rates", ("2026-11-27",), compute)
    assert len(calls) == 1
    freshness.cached_daily("rates", ("2026-11-28",), compute)
    assert len(calls) == 2


# --- the organisation's settings are part of every key ----------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"fiscal_year_start_month": 4},
        {"time_zone": "America/New_York"},
        {"default_currency": "USD"},
    ],
)
def test_an_organisation_change_is_never_served_numbers_of_the_old_settings(
    caching, admin_user, change
):
    compute, calls = counting(1)
    freshness.cached_numbers("t", ("leader", "2026-Q4"), compute)
    freshness.cached_daily("rates", ("2026-11-27",), compute)
    freshness.cached_numbers("t", ("leader", "2026-Q4"), compute)
    freshness.cached_daily("rates", ("2026-11-27",), compute)
    assert len(calls) == 2
    organisation_update(actor=admin_user, **change)
    freshness.cached_numbers("t", ("leader", "2026-Q4"), compute)
    freshness.cached_daily("rates", ("2026-11-27",), compute)
    assert len(calls) == 4
    # The company name decides no number: the entries stay.
    organisation_update(actor=admin_user, name="Acme")
    freshness.cached_numbers("t", ("leader", "2026-Q4"), compute)
    assert len(calls) == 4


def test_numbers_computed_while_the_settings_changed_are_not_kept(caching, admin_user):
    def compute():
        # Another request of this process saves the settings meanwhile.
        organisation_update(actor=admin_user, fiscal_year_start_month=4)
        return 1

    freshness.cached_numbers("t", ("leader",), compute)
    compute_again, calls = counting(2)
    organisation.pin()  # back to the settings the first computation started with
    assert freshness.cached_numbers("t", ("leader",), compute_again) == 2
    assert len(calls) == 1


class GcWitness:
    """Records, when unpickled, whether Python's cyclic collector was running."""

    seen: list[bool] = []

    def __init__(self):
        self.state = "some"  # so that unpickling calls __setstate__

    def __setstate__(self, state):
        GcWitness.seen.append(gc.isenabled())
        self.__dict__.update(state)


def test_a_cached_value_is_loaded_with_the_collector_paused_then_resumed(caching, opportunity):
    compute, calls = counting(GcWitness())
    GcWitness.seen.clear()
    assert gc.isenabled()
    freshness.cached_numbers("gc", ("x",), compute)
    assert isinstance(freshness.cached_numbers("gc", ("x",), compute), GcWitness)
    assert len(calls) == 1 and GcWitness.seen == [False]  # the hit, unpickled with gc off
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had it off keeps it off
        freshness.cached_numbers("gc", ("x",), compute)
        assert not gc.isenabled()
    finally:
        gc.enable()
