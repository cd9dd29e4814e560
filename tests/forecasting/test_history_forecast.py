"""history_forecast and GET /api/v1/forecast/history/ against a hand-computed data set.

now = 1 June 2026 12:00 Berlin → the history window: deals that entered a stage from
3 March 2025 12:00 up to 3 March 2026 12:00 (455 to 90 days before now). Period 2026-Q3.
Stages: Discover 10 %, Qualify 25 %, Proposal 60 % (+ Closed won / Closed lost).
All stays start and end at 12:00; "d" = whole days in the stage.

History (owned by teammate; stage rows as pipeline records them, the first one at creation)
  H1  Discover 1 Jun 25 (10 d) → Qualify 11 Jun (20 d) → won 1 Jul 25
  H2  Discover 1 Jun (20 d) → Qualify 21 Jun (50 d) → won 10 Aug
  H3  Discover 1 Jun (5 d) → lost 6 Jun
  H4  Discover 1 Jun (30 d) → Qualify 1 Jul (10 d) → lost 11 Jul
  H5  Discover 1 Jun 25, still open there now (365 d)                 slipped: not won
  H6  Discover 1 Jun (3 d) → won 4 Jun
  H7  created in Qualify 1 Jun (15 d) → won 16 Jun                     counts for Qualify only
  H8  Qualify 1 Jun (4 d) → Proposal 5 Jun (88 d) → lost 1 Sep
  H9  no stage row: open in Qualify since 1 Dec 25 (182 d, 181 with the DST hour)
  H12 Discover 1 Jun (10 d) → Qualify 11 Jun (10 d) → Discover 21 Jun (30 d) → Qualify
      21 Jul (11 d) → won 1 Aug                              once per stage, longest stay
  H10 entered everything before the window, H11 after it (1 Apr 26) → not history

Per stage, deals that reached ≥ 0 / 15 / 31 / 61 days (deals, won):
  Discover  0-14: 7 (H1 H2 H3 H4 H5 H6 H12), won 4, lost 2
            15-30: 4 (H2 20, H4 30, H5, H12 30), won 2 │ 31-60: 1 (H5) │ 61+: 1 (H5), won 0
  Qualify   0-14: 7 (H1 H2 H4 H7 H8 H9 H12), won 4, lost 2
            15-30: 4 (H1 20, H2 50, H7 15, H9), won 3 │ 31-60: 2 (H2, H9), won 1 │ 61+: 1 (H9)
  Proposal  every bucket: 1 (H8), lost
  Distinct: 10 deals, 8 closed (all but H5, H9).
With HISTORY_MIN_DEALS = 4: Discover 0-14 4/7, 15-30 2/4 = 0.5, older 10 %; Qualify 0-14
4/7, 15-30 3/4, older 25 %; Proposal 60 % everywhere.

Open pipeline of 2026-Q3 (no stage row; stage_entered_at → the age bucket)
  O1 rep       Discover 14,000  7 d  (0-14)  × 4/7  =  8,000.00  (default 1,400.00)
  O2 rep       Discover 10,000 20 d  (15-30) × 1/2  =  5,000.00  (default 1,000.00)
  O3 rep       Qualify  21,000  5 d  (0-14)  × 4/7  = 12,000.00  (default 5,250.00)
  O4 rep       Qualify  30,000 61 d  (61+)   × 25 % =  7,500.00  (default 7,500.00)
  O5 rep       Proposal 50,000 10 d  (0-14)  × 60 % = 30,000.00  (default 30,000.00)
  O6 other_rep Qualify   8,000 15 d  (15-30) × 3/4  =  6,000.00  (default 2,000.00)
  left out: O7 USD, O8 omitted, O9 closes in Q4
Company: 6 deals, 133,000.00, expected 68,500.00, stage default 47,150.00
  Discover 2 / 24,000 / 13,000.00 / 2,400.00; Qualify 3 / 59,000 / 25,500.00 / 14,750.00;
  Proposal 1 / 50,000 / 30,000.00 / 30,000.00
rep: 5 deals, 125,000.00, expected 62,500.00, default 45,150.00
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from forecasting.selectors import history_forecast, history_window
from pipeline.models import ChangeField, OpportunityChange, OpportunityStatus
from salesops.exceptions import ValidationFailed
from tests.factories import OpportunityFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=BERLIN)
# The factories stamp their rows on this clock too (created before the week's end…).
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
Q3 = "2026-Q3"
Q3_CLOSE = dt.date(2026, 8, 15)


def at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 12, tzinfo=BERLIN)


def historic(owner, path, *, status=OpportunityStatus.OPEN, close=dt.date(2026, 4, 30)):
    """A deal that went through `path` [(stage, entered)], stage rows as pipeline writes
    them; the last stage is where it is now (a won/lost stage closes it then)."""
    stage, entered = path[-1]
    extra = {"close_date": close}
    if status != OpportunityStatus.OPEN:
        extra = {"closed_at": entered, "close_date": entered.date()}
        if status == OpportunityStatus.LOST:
            extra["loss_reason"] = "No budget"
    opp = OpportunityFactory(
        owner=owner, stage=stage, stage_entered_at=entered, status=status, **extra
    )  # fmt: skip
    previous = None
    for st, when in path:
        OpportunityChange.objects.create(
            opportunity=opp, field=ChangeField.STAGE,
            old_value="" if previous is None else str(previous.pk), new_value=str(st.pk),
            changed_at=when,
        )  # fmt: skip
        previous = st
    return opp


def build_history(owner, p):
    d, q, pr = p.discover, p.qualify, p.proposal
    won, lost = OpportunityStatus.WON, OpportunityStatus.LOST
    jun1 = at(2025, 6, 1)
    historic(owner, [(d, jun1), (q, at(2025, 6, 11)), (p.won, at(2025, 7, 1))], status=won)
    historic(owner, [(d, jun1), (q, at(2025, 6, 21)), (p.won, at(2025, 8, 10))], status=won)
    historic(owner, [(d, jun1), (p.lost, at(2025, 6, 6))], status=lost)
    historic(owner, [(d, jun1), (q, at(2025, 7, 1)), (p.lost, at(2025, 7, 11))], status=lost)
    historic(owner, [(d, jun1)])  # H5
    historic(owner, [(d, jun1), (p.won, at(2025, 6, 4))], status=won)
    historic(owner, [(q, jun1), (p.won, at(2025, 6, 16))], status=won)  # H7
    historic(owner, [(q, jun1), (pr, at(2025, 6, 5)), (p.lost, at(2025, 9, 1))], status=lost)
    OpportunityFactory(  # H9: no stage row
        owner=owner, stage=q, stage_entered_at=at(2025, 12, 1), close_date=dt.date(2026, 5, 15)
    )
    historic(  # H12
        owner,
        [(d, jun1), (q, at(2025, 6, 11)), (d, at(2025, 6, 21)), (q, at(2025, 7, 21)),
         (p.won, at(2025, 8, 1))],
        status=won,
    )  # fmt: skip
    historic(  # H10: before the window
        owner, [(d, at(2024, 12, 1)), (q, at(2025, 1, 10)), (p.won, at(2025, 2, 1))], status=won
    )
    historic(owner, [(d, at(2026, 4, 1)), (p.lost, at(2026, 4, 10))], status=lost)  # H11


def build_open(rep, other_rep, p):
    def deal(owner, stage, amount, entered, **extra):
        extra.setdefault("close_date", Q3_CLOSE)
        return OpportunityFactory(
            owner=owner, stage=stage, amount=Decimal(amount), stage_entered_at=entered, **extra
        )

    deal(rep, p.discover, "14000", at(2026, 5, 25))
    deal(rep, p.discover, "10000", at(2026, 5, 12))
    deal(rep, p.qualify, "21000", at(2026, 5, 27))
    deal(rep, p.qualify, "30000", at(2026, 4, 1))
    deal(rep, p.proposal, "50000", at(2026, 5, 22))
    deal(other_rep, p.qualify, "8000", at(2026, 5, 17))
    deal(rep, p.discover, "99000", at(2026, 5, 25), currency="USD")
    deal(
        rep, p.discover, "5000", at(2026, 5, 25), forecast_category="omitted",
        forecast_category_override_reason="Parked",
    )  # fmt: skip
    deal(rep, p.proposal, "40000", at(2026, 5, 25), close_date=dt.date(2026, 10, 15))


@pytest.fixture
def dataset(rep, teammate, other_rep, pipeline, settings):
    settings.HISTORY_MIN_DEALS = 4
    build_history(teammate, pipeline)
    build_open(rep, other_rep, pipeline)
    return pipeline


def stage_figures(result):
    return {
        s.stage_name: (
            s.open_deals, str(s.open_amount), str(s.expected), str(s.stage_default_expected),
            s.history_deals, s.history_won, s.history_closed,
        )
        for s in result.by_stage
    }  # fmt: skip


def cells(result, stage_name):
    stage = next(s for s in result.by_stage if s.stage_name == stage_name)
    return [
        (c.bucket, c.history_deals, c.history_won, c.source, c.open_deals, str(c.expected))
        for c in stage.cells
    ]


def test_the_company_forecast_from_history(dataset, leader):
    r = history_forecast(leader, Q3, now=NOW)
    assert (r.period.label, r.currency, r.min_deals) == ("2026-Q3", "EUR", 4)
    # The window is as of the organisation's midnight (a daily figure).
    midnight = dt.time(0, tzinfo=BERLIN)
    assert (r.window_start, r.window_end) == (
        dt.datetime.combine(dt.date(2025, 3, 3), midnight),
        dt.datetime.combine(dt.date(2026, 3, 3), midnight),
    )
    assert (r.history_deals, r.history_closed) == (10, 8)
    assert (r.open_deals, r.open_amount, r.expected, r.stage_default_expected) == (
        6, Decimal("133000.00"), Decimal("68500.00"), Decimal("47150.00"),
    )  # fmt: skip
    assert stage_figures(r) == {
        "Discover": (2, "24000.00", "13000.00", "2400.00", 7, 4, 6),
        "Qualify": (3, "59000.00", "25500.00", "14750.00", 7, 4, 6),
        "Proposal": (1, "50000.00", "30000.00", "30000.00", 1, 0, 1),
    }
    assert [s.stage_name for s in r.by_stage] == ["Discover", "Qualify", "Proposal"]
    assert cells(r, "Discover") == [
        ("0-14", 7, 4, "history", 1, "8000.00"),
        ("15-30", 4, 2, "history", 1, "5000.00"),
        ("31-60", 1, 0, "stage default", 0, "0.00"),
        ("61+", 1, 0, "stage default", 0, "0.00"),
    ]
    assert cells(r, "Qualify") == [
        ("0-14", 7, 4, "history", 1, "12000.00"),
        ("15-30", 4, 3, "history", 1, "6000.00"),
        ("31-60", 2, 1, "stage default", 0, "0.00"),
        ("61+", 1, 0, "stage default", 1, "7500.00"),
    ]
    qualify = next(s for s in r.by_stage if s.stage_name == "Qualify")
    assert [c.probability for c in qualify.cells] == [
        Decimal(4) / 7, Decimal("0.75"), Decimal("0.25"), Decimal("0.25"),
    ]  # fmt: skip


def test_a_rep_sees_their_deals_priced_with_the_organisations_history(dataset, rep):
    r = history_forecast(rep, Q3, now=NOW)
    assert (r.open_deals, r.open_amount, r.expected, r.stage_default_expected) == (
        5, Decimal("125000.00"), Decimal("62500.00"), Decimal("45150.00"),
    )  # fmt: skip
    assert (r.history_deals, r.history_closed) == (10, 8)  # the same history
    assert stage_figures(r)["Qualify"] == (2, "51000.00", "19500.00", "12750.00", 7, 4, 6)


def test_an_owner_and_a_team_narrow_the_open_pipeline(dataset, leader, manager, other_rep):
    r = history_forecast(leader, Q3, owner_id=other_rep.pk, now=NOW)
    assert (r.owner_id, r.open_deals, r.expected) == (other_rep.pk, 1, Decimal("6000.00"))
    r = history_forecast(leader, Q3, team_id=other_rep.team_id, now=NOW)
    assert (r.team_id, r.open_deals, r.expected) == (other_rep.team_id, 1, Decimal("6000.00"))
    # The manager of Team A: rep's five deals.
    assert history_forecast(manager, Q3, now=NOW).expected == Decimal("62500.00")


def test_too_few_deals_fall_back_to_the_stage_probabilities(dataset, leader, settings):
    settings.HISTORY_MIN_DEALS = 30  # the default: no cell has 30 deals
    r = history_forecast(leader, Q3, now=NOW)
    assert r.expected == r.stage_default_expected == Decimal("47150.00")
    assert {c.source for s in r.by_stage for c in s.cells} == {"stage default"}
    assert (r.history_deals, r.history_closed) == (10, 8)  # still reported


def test_no_history_at_all_is_all_stage_defaults(rep, other_rep, pipeline, leader, settings):
    settings.HISTORY_MIN_DEALS = 1
    build_open(rep, other_rep, pipeline)
    r = history_forecast(leader, Q3, now=NOW)
    assert (r.history_deals, r.history_closed) == (0, 0)
    assert r.expected == r.stage_default_expected == Decimal("47150.00")
    assert {(c.source, c.history_deals) for s in r.by_stage for c in s.cells} == {
        ("stage default", 0)
    }


def test_nothing_open_in_the_period(dataset, leader):
    r = history_forecast(leader, "2027-Q1", now=NOW)
    assert (r.open_deals, r.open_amount, r.expected, r.by_stage) == (
        0, Decimal("0.00"), Decimal("0.00"), [],
    )  # fmt: skip
    assert r.history_deals == 10


def test_another_currency(dataset, leader):
    # O7: Discover 99,000 USD, 7 days → 4/7 → 56,571.428… → 56,571.43.
    r = history_forecast(leader, Q3, currency="usd", now=NOW)
    assert (r.currency, r.open_amount, r.expected) == (
        "USD", Decimal("99000.00"), Decimal("56571.43"),
    )  # fmt: skip


def test_refusals(dataset, rep, manager, other_rep, leader):
    with pytest.raises(ValidationFailed) as exc:
        history_forecast(leader, "2026-Q9", now=NOW)
    assert "period" in exc.value.details
    with pytest.raises(Http404):
        history_forecast(rep, Q3, team_id=rep.team_id, now=NOW)  # a rep picks no team
    with pytest.raises(Http404):
        history_forecast(rep, Q3, owner_id=other_rep.pk, now=NOW)
    with pytest.raises(Http404):
        history_forecast(manager, Q3, team_id=other_rep.team_id, now=NOW)
    with pytest.raises(Http404):
        history_forecast(leader, Q3, owner_id=10**12, now=NOW)


@pytest.mark.parametrize("many", [False, True])
def test_the_query_count_does_not_grow(
    many, rep, teammate, other_rep, pipeline, leader, settings, django_assert_max_num_queries
):
    settings.HISTORY_MIN_DEALS = 4
    build_open(rep, other_rep, pipeline)
    if many:
        build_history(teammate, pipeline)
        build_history(rep, pipeline)
        build_open(rep, other_rep, pipeline)
    with django_assert_max_num_queries(4):
        history_forecast(leader, Q3, now=NOW)
    with django_assert_max_num_queries(5):  # + the owner's existence
        history_forecast(leader, Q3, owner_id=rep.pk, now=NOW)


def test_api(dataset, api_client, leader, rep, other_rep):
    api_client.force_authenticate(leader)
    response = api_client.get("/api/v1/forecast/history/", {"period": Q3})
    assert response.status_code == 200
    body = response.json()
    assert (body["period"]["label"], body["currency"], body["min_deals"]) == ("2026-Q3", "EUR", 4)
    assert set(body) >= {"expected", "stage_default_expected", "by_stage", "history_deals"}
    assert [s["stage_name"] for s in body["by_stage"]] == ["Discover", "Qualify", "Proposal"]
    assert body["by_stage"][0]["cells"][0]["source"] == "history"
    assert api_client.get("/api/v1/forecast/history/", {"period": "nope"}).status_code == 400
    api_client.force_authenticate(rep)
    response = api_client.get("/api/v1/forecast/history/", {"owner": other_rep.pk})
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "details"}


def test_the_days_rates_are_read_from_the_cache_once_warmed(dataset, leader, settings):
    from django.core.cache import cache

    from forecasting.selectors import history_rates

    settings.FORECAST_CACHE_SECONDS = 60
    cache.clear()
    try:
        with CaptureQueriesContext(connection) as cold:
            r = history_forecast(leader, Q3, now=NOW)
        assert history_rates(NOW)  # served from the cache now
        with CaptureQueriesContext(connection) as warm:
            again = history_forecast(leader, Q3, now=NOW)
        # The history aggregate and the count of deals imported without stages are the
        # queries a warmed day does without.
        assert len(warm) == len(cold) - 2
        assert not any("pipeline_opportunitychange" in q["sql"] for q in warm.captured_queries)
        assert again == r
    finally:
        cache.clear()


def test_the_cached_rates_are_not_served_once_deals_were_added(dataset, leader, rep, settings):
    """A day's cached rates are keyed by the newest deal and stage too: deals imported (or
    a demo reset) today count at once — not tomorrow, after a day of stale figures."""
    from django.core.cache import cache

    from forecasting.selectors import history_rates

    settings.FORECAST_CACHE_SECONDS = 60
    cache.clear()
    try:
        history_rates(NOW)
        with CaptureQueriesContext(connection) as warm:
            history_rates(NOW)
        assert not any("pipeline_opportunitychange" in q["sql"] for q in warm.captured_queries)
        OpportunityFactory(owner=rep)
        with CaptureQueriesContext(connection) as after_import:
            history_rates(NOW)
        assert any("pipeline_opportunitychange" in q["sql"] for q in after_import.captured_queries)
    finally:
        cache.clear()


def test_deals_imported_without_stages_are_counted_apart(leader, rep, pipeline):
    """A CRM export's closed deals carry no stage history: the win rates cannot use them,
    and the forecast says how many there are instead of silently resting on fewer."""
    imported = NOW - dt.timedelta(days=5)
    window_start, window_end = history_window(NOW)
    inside = window_end - dt.timedelta(days=30)
    for n in range(3):
        OpportunityFactory(
            owner=rep, stage=pipeline.won, status=OpportunityStatus.WON,
            created_at=inside - dt.timedelta(days=40), closed_at=inside + dt.timedelta(days=n),
            imported_at=imported, source="crm", external_id=f"W{n}",
        )  # fmt: skip
    # Closed after the import (its stages are known from then on), or long before the
    # window: not among them.
    OpportunityFactory(
        owner=rep, stage=pipeline.won, status=OpportunityStatus.WON, created_at=inside,
        closed_at=NOW - dt.timedelta(days=1), imported_at=imported, source="crm",
        external_id="after",
    )  # fmt: skip
    OpportunityFactory(
        owner=rep, stage=pipeline.won, status=OpportunityStatus.WON,
        created_at=window_start - dt.timedelta(days=90),
        closed_at=window_start - dt.timedelta(days=60), imported_at=imported, source="crm",
        external_id="old",
    )  # fmt: skip
    assert history_forecast(leader, Q3, now=NOW).imported_without_stages == 3
