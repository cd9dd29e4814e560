"""The organisation's settings as the app reads them (salesops/organisation.py): the
environment's until saved, a process-local memo, the time zone in requests, tasks, beat and
management commands."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone

from salesops import celery as salesops_celery
from salesops import organisation
from salesops.middleware import OrganisationTimeZoneMiddleware
from salesops.models import Organisation

NEW_YORK = replace(
    organisation.defaults(),
    name="Acme",
    default_currency="USD",
    fiscal_year_start_month=4,
    time_zone="America/New_York",
)


def save_row(values: organisation.OrganisationSettings = NEW_YORK) -> Organisation:
    return Organisation.objects.create(
        pk=1,
        name=values.name,
        default_currency=values.default_currency,
        fiscal_year_start_month=values.fiscal_year_start_month,
        time_zone=values.time_zone,
        updated_at=timezone.now(),
    )


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    the_clock = Clock()
    monkeypatch.setattr(organisation, "_clock", the_clock)
    return the_clock


def test_defaults_are_the_environments():
    values = organisation.defaults()
    assert values == organisation.OrganisationSettings(
        name="",
        default_currency=settings.DEFAULT_CURRENCY,
        fiscal_year_start_month=settings.FISCAL_YEAR_START_MONTH,
        time_zone=settings.TIME_ZONE,
    )


def test_tests_start_pinned_to_the_defaults_without_a_query(db, django_assert_num_queries):
    save_row()  # a saved row is not read: the memo is pinned
    with django_assert_num_queries(0):
        assert organisation.current() == organisation.defaults()


def test_no_row_yet_reads_the_environments_values(db, clock, django_assert_num_queries):
    organisation.forget()
    with django_assert_num_queries(1):
        assert organisation.current() == organisation.defaults()


def test_the_saved_row_is_read_once_then_served_from_the_memo(db, clock, django_assert_num_queries):
    save_row()
    organisation.forget()
    with django_assert_num_queries(1):
        assert organisation.current() == NEW_YORK
        for _ in range(50):
            assert organisation.current() == NEW_YORK


def test_another_process_change_is_seen_after_the_refresh_interval(
    db, clock, django_assert_num_queries
):
    organisation.forget()
    assert organisation.current() == organisation.defaults()
    save_row()  # as another process would: not through this process's memo
    clock.now += organisation.REFRESH_SECONDS - 0.5
    with django_assert_num_queries(0):
        assert organisation.current() == organisation.defaults()
    clock.now += 1
    with django_assert_num_queries(1):
        assert organisation.current() == NEW_YORK


def test_remember_serves_the_change_at_once_and_keeps_a_pin(db, clock):
    organisation.remember(NEW_YORK)  # pinned by the autouse fixture
    clock.now += 3600
    assert organisation.current() == NEW_YORK  # pinned: never read again

    organisation.forget()
    assert organisation.current() == organisation.defaults()
    organisation.remember(NEW_YORK)  # not pinned: read again after the interval
    assert organisation.current() == NEW_YORK
    clock.now += organisation.REFRESH_SECONDS + 1
    assert organisation.current() == organisation.defaults()  # the row does not exist


def test_one_row_only(db):
    save_row()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(
            pk=2,
            default_currency="EUR",
            fiscal_year_start_month=1,
            time_zone="UTC",
            updated_at=timezone.now(),
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("fiscal_year_start_month", 13), ("default_currency", "eur"), ("time_zone", "")],
)
def test_the_database_refuses_impossible_values(db, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        save_row(replace(NEW_YORK, **{field: value}))


def test_helpers_work_in_the_organisations_time_zone():
    moment = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)  # 22:30 the day before in NY
    assert NEW_YORK.tz() == ZoneInfo("America/New_York")
    assert NEW_YORK.today(moment) == dt.date(2026, 11, 24)
    assert NEW_YORK.localtime(moment).hour == 22
    assert NEW_YORK.start_of(dt.date(2026, 11, 24)) == dt.datetime(
        2026, 11, 24, 5, 0, tzinfo=dt.UTC
    )


def test_today_ignores_the_time_zone_a_request_activated():
    moment = dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)
    with timezone.override(ZoneInfo("Pacific/Auckland")):
        assert NEW_YORK.today(moment) == dt.date(2026, 11, 24)


def test_every_request_runs_in_the_organisations_time_zone():
    organisation.pin(NEW_YORK)
    seen = []

    def view(request):
        seen.append((timezone.get_current_timezone_name(), timezone.localdate()))
        return "response"

    middleware = OrganisationTimeZoneMiddleware(view)
    assert middleware(RequestFactory().get("/")) == "response"
    assert seen[0][0] == "America/New_York"
    assert seen[0][1] == NEW_YORK.today()
    # Afterwards the default again.
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_management_commands_run_in_the_organisations_time_zone():
    organisation.pin(NEW_YORK)

    @organisation.in_time_zone
    def handle() -> str:
        return timezone.get_current_timezone_name()

    assert handle() == "America/New_York"
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


def test_a_task_runs_in_the_organisations_time_zone_and_restores_the_callers():
    organisation.pin(NEW_YORK)
    with timezone.override(ZoneInfo("Asia/Tokyo")):  # e.g. an eager task in a request
        salesops_celery._organisation_time_zone_on(task_id="t1")
        assert timezone.get_current_timezone_name() == "America/New_York"
        salesops_celery._organisation_time_zone_off(task_id="t1")
        assert timezone.get_current_timezone_name() == "Asia/Tokyo"
    assert salesops_celery._task_time_zones == {}


def test_beat_takes_the_organisations_time_zone_when_it_starts():
    app = salesops_celery.app
    before = app.conf.timezone
    organisation.pin(NEW_YORK)
    try:
        assert str(app.timezone) == before  # read (and cached by Celery) already
        salesops_celery._beat_in_organisation_time_zone()
        assert app.conf.timezone == "America/New_York"
        assert str(app.timezone) == "America/New_York"
    finally:
        app.conf.timezone = before
        app.__dict__.pop("timezone", None)


def test_a_time_zone_unknown_here_falls_back_to_the_installs_default(caplog):
    stranded = replace(NEW_YORK, time_zone="Mars/Olympus_Mons")
    assert stranded.tz() == ZoneInfo(settings.TIME_ZONE)
    assert "unknown here" in caplog.text
