"""forecasting.computations: win probabilities, the fallback and the expected amounts on
small hand-computed frames (no database)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from forecasting import computations as c

# Two stages: Discover (10 %) and Qualify (25 %) of pipeline "New".
STAGES = pd.DataFrame(
    [(1, "Discover", "New", 1, 10), (2, "Qualify", "New", 2, 25)], columns=c.STAGE_COLUMNS
)


def history(*rows: tuple[int, int, int, int, int]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=c.HISTORY_COLUMNS)


def open_pipeline(*rows: tuple[int, int, int, str]) -> pd.DataFrame:
    return pd.DataFrame([(s, b, n, Decimal(a)) for s, b, n, a in rows], columns=c.OPEN_COLUMNS)


@pytest.mark.parametrize(
    ("days", "lower"),
    [(-3, 0), (0, 0), (14, 0), (15, 15), (30, 15), (31, 31), (60, 31), (61, 61), (900, 61)],
)
def test_bucket_of(days, lower):
    assert c.bucket_of(days) == lower


def test_every_stage_gets_every_bucket_in_order():
    rates = c.win_probabilities(STAGES, history(), 30)
    assert list(zip(rates["stage_id"], rates["bucket"], strict=True)) == [
        (1, "0-14"), (1, "15-30"), (1, "31-60"), (1, "61+"),
        (2, "0-14"), (2, "15-30"), (2, "31-60"), (2, "61+"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "min_deals", "expected"),
    [
        # No history: every cell is the stage default, win_rate None, counts 0.
        ((), 3, {(1, 0): (0, 0, 0, None, "0.1", "stage default")}),
        # Discover 0-14: 10 deals, 3 won, 2 lost → 3/10 = 0.3 from history (10 ≥ 3);
        # the 7 neither won nor lost (slipped, still open or lost track) count as not won.
        (
            [(1, 0, 10, 3, 2)],
            3,
            {(1, 0): (10, 3, 5, Decimal("0.3"), "0.3", "history")},
        ),
        # Exactly min_deals is enough: 3 deals, 1 won → 1/3.
        (
            [(1, 15, 3, 1, 1)],
            3,
            {(1, 15): (3, 1, 2, Decimal(1) / 3, str(Decimal(1) / 3), "history")},
        ),
        # One below min_deals: the stage default (Qualify 25 %) although the rate exists.
        (
            [(2, 31, 2, 2, 0)],
            3,
            {(2, 31): (2, 2, 2, Decimal("1"), "0.25", "stage default")},
        ),
        # History of 0 won out of 5: probability 0 from history, not the default.
        ([(2, 61, 5, 0, 5)], 5, {(2, 61): (5, 0, 5, Decimal("0"), "0", "history")}),
    ],
)
def test_win_probabilities(rows, min_deals, expected):
    rates = c.win_probabilities(STAGES, history(*rows), min_deals).set_index(
        ["stage_id", "bucket_lower"]
    )
    for key, (deals, won, closed, win_rate, probability, source) in expected.items():
        row = rates.loc[key]
        assert (row["deals"], row["won"], row["closed"]) == (deals, won, closed)
        assert row["win_rate"] == win_rate
        assert row["probability"] == Decimal(probability)
        assert row["source"] == source


def test_expected_by_cell_and_by_stage():
    # History (min 4): Discover 0-14 8 deals 2 won → 1/4; Discover 15-30 3 deals (too
    # few) → 10 %; Qualify 0-14 6 deals 2 won → 1/3; Qualify 61+ 4 deals 3 won → 3/4.
    rates = c.win_probabilities(
        STAGES,
        history((1, 0, 8, 2, 4), (1, 15, 3, 1, 1), (2, 0, 6, 2, 1), (2, 61, 4, 3, 0)),
        4,
    )
    cells = c.expected_by_cell(
        rates,
        open_pipeline(
            (1, 0, 2, "40000.00"),  # × 1/4 = 10,000.00
            (1, 15, 1, "5000.00"),  # × 10 % = 500.00
            (2, 0, 1, "30000.00"),  # × 1/3 = 10,000.00 (not 9,999.00)
            (2, 61, 3, "1000.01"),  # × 3/4 = 750.0075 → 750.01
        ),
    ).set_index(["stage_id", "bucket_lower"])
    assert cells.loc[(1, 0), "expected"] == Decimal("10000.00")
    assert cells.loc[(1, 15), "expected"] == Decimal("500.00")
    assert cells.loc[(1, 31), "expected"] == Decimal("0.00")  # no open deal in it
    assert cells.loc[(1, 31), "open_deals"] == 0
    assert cells.loc[(2, 0), "expected"] == Decimal("10000.00")
    assert cells.loc[(2, 61), "expected"] == Decimal("750.01")
    # Stage defaults: 40,000 × 10 % = 4,000.00; 30,000 × 25 % = 7,500.00; 1,000.01 × 25 %
    # = 250.0025 → 250.00.
    assert cells.loc[(1, 0), "stage_default_expected"] == Decimal("4000.00")
    assert cells.loc[(2, 61), "stage_default_expected"] == Decimal("250.00")

    stages = c.by_stage(cells.reset_index()).set_index("stage_id")
    money = ["open_deals", "open_amount", "expected", "stage_default_expected"]
    rests_on = ["history_deals", "history_won", "history_closed", "history_buckets"]
    # Discover: 3 deals, 45,000.00; expected 10,000 + 500 = 10,500.00; default 4,000 + 500
    # = 4,500.00; rests on its 0-14 history: 8 deals, 2 won, 6 closed; 1 bucket from history.
    assert stages.loc[1, money].tolist() == [
        3, Decimal("45000.00"), Decimal("10500.00"), Decimal("4500.00"),
    ]  # fmt: skip
    assert stages.loc[1, rests_on].tolist() == [
        8, 2, 6, 1,
    ]  # fmt: skip
    # Qualify: 4 deals, 31,000.01; expected 10,000.00 + 750.01 = 10,750.01; default 7,500.00
    # + 250.00 = 7,750.00; history 6 deals, 2 won, 3 closed; 2 buckets from history.
    assert stages.loc[2, money].tolist() == [
        4, Decimal("31000.01"), Decimal("10750.01"), Decimal("7750.00"),
    ]  # fmt: skip
    assert stages.loc[2, rests_on].tolist() == [
        6, 2, 3, 2,
    ]  # fmt: skip


def test_only_stages_with_open_deals_are_priced():
    rates = c.win_probabilities(STAGES, history(), 30)
    cells = c.expected_by_cell(rates, open_pipeline((2, 15, 1, "1000.00")))
    assert set(cells["stage_id"]) == {2}
    assert len(cells) == 4  # Qualify's four buckets
    stages = c.by_stage(cells)
    assert stages["expected"].tolist() == [Decimal("250.00")]  # 1,000 × 25 %


def test_an_empty_open_pipeline_prices_nothing():
    rates = c.win_probabilities(STAGES, history((1, 0, 50, 10, 10)), 30)
    cells = c.expected_by_cell(rates, open_pipeline())
    assert cells.empty
    assert c.by_stage(cells).empty


def test_a_stage_missing_from_the_stages_is_left_out():
    # Stage 9 (won, say) is no open stage: its open row and history are ignored.
    rates = c.win_probabilities(STAGES, history((9, 0, 40, 40, 0)), 30)
    assert set(rates["stage_id"]) == {1, 2}
    cells = c.expected_by_cell(rates, open_pipeline((9, 0, 1, "5000.00")))
    assert cells.empty
