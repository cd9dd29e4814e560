"""Chart geometry (forecasting.charts): pure functions, no database."""

from __future__ import annotations

import itertools
from decimal import Decimal as D

import pytest

from forecasting import charts
from forecasting.charts import Series, Step


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        ("0", "123456", ["0", "25000", "50000", "75000", "100000", "125000"]),
        ("0", "100", ["0", "20", "40", "60", "80", "100"]),
        ("-30", "100", ["-50", "0", "50", "100"]),  # zero is a tick; below zero too
        ("-5", "-1", ["-5", "-4", "-3", "-2", "-1", "0"]),  # all negative: up to 0
        ("10", "90", ["0", "20", "40", "60", "80", "100"]),  # always from 0
        ("0", "2.7", ["0", "1", "2", "3"]),
        ("0", "0.45", ["0", "0.1", "0.2", "0.3", "0.4", "0.5"]),
        ("0", "0", ["0", "1"]),  # nothing to show: a unit axis
    ],
)
def test_nice_ticks_are_round_and_cover_the_range_and_zero(low, high, expected):
    ticks = charts.nice_ticks(D(low), D(high))
    assert ticks == [D(t) for t in expected]
    assert len(ticks) <= 6


def test_nice_ticks_respect_the_maximum_count_for_awkward_ranges():
    for high in ("1", "7", "13", "99", "101", "250001", "999999", "1000001"):
        ticks = charts.nice_ticks(D("0"), D(high), max_ticks=5)
        assert 2 <= len(ticks) <= 5, (high, ticks)
        assert ticks[0] <= 0 and ticks[-1] >= D(high)
        steps = {b - a for a, b in itertools.pairwise(ticks)}
        assert len(steps) == 1  # evenly spaced
        mantissa = steps.pop().normalize().as_tuple().digits
        assert mantissa in ((1,), (2,), (2, 5), (5,)), (high, ticks)


def test_formatters_plug_into_the_charts():
    chart = charts.bar_chart(
        ["A"], [Series("Won", [D("1500")])], formatter=lambda v: charts.money_label(v, "EUR")
    )
    assert chart.bars[0].title == "A — Won: €1.5k"
    assert [t.label for t in chart.ticks][:2] == ["€0", "€500"]


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (0, "EUR", "€0"),
        (999, "EUR", "€999"),
        (D("999.6"), "EUR", "€1k"),
        (1000, "EUR", "€1k"),
        (1500, "EUR", "€1.5k"),
        (850000, "EUR", "€850k"),
        (999950, "EUR", "€1M"),  # would be 1000.0k
        (1250000, "EUR", "€1.3M"),  # half up
        (1200000, "USD", "$1.2M"),
        (-2500, "GBP", "-£2.5k"),
        (12345678901, "EUR", "€12.3B"),
        (1200000, "CHF", "CHF 1.2M"),  # no sign known: the code
        (1200000, "", "1.2M"),
        (None, "EUR", "—"),
    ],
)
def test_money_labels_are_short(value, currency, expected):
    assert charts.money_label(value, currency) == expected


def test_ratio_labels():
    assert charts.ratio_label(D("2.45")) == "2.5×"
    assert charts.ratio_label(D("3")) == "3×"
    assert charts.ratio_label(None) == "—"


def test_bars_scale_to_the_ticks_and_grow_from_zero():
    chart = charts.bar_chart(["A", "B"], [Series("Won", [D("50"), D("100")], hrefs=["/a", "/b"])])
    plot = chart.plot
    assert [t.value for t in chart.ticks] == [D(v) for v in ("0", "20", "40", "60", "80", "100")]
    assert chart.zero == plot.bottom
    a, b = chart.bars
    # 100 reaches the top of the plot, 50 half-way; both stand on the zero line.
    assert b.y == plot.top and b.height == plot.height
    assert a.height == pytest.approx(plot.height / 2, abs=0.01)
    assert a.y + a.height == pytest.approx(chart.zero, abs=0.01)
    assert (a.href, b.href) == ("/a", "/b")
    assert a.title == "A — Won: 50"  # the default formatter has no currency
    # Categories share the width; bars sit inside their band, left to right.
    assert [c.label for c in chart.categories] == ["A", "B"]
    assert plot.left < a.x < a.x + a.width < b.x < b.x + b.width < plot.right


def test_grouped_bars_sit_side_by_side_within_a_category():
    chart = charts.bar_chart(
        ["Team A"], [Series("Quota", [D("200")]), Series("Closed won", [D("150")])]
    )
    quota, won = chart.bars
    assert quota.x + quota.width == pytest.approx(won.x, abs=0.01)
    assert won.height / quota.height == pytest.approx(0.75, abs=0.01)
    assert chart.legend == [("Quota", "#3b5bdb"), ("Closed won", "#3b5bdb")]


def test_negative_bars_hang_below_the_zero_line():
    chart = charts.bar_chart(["up", "down"], [Series("Delta", [D("10"), D("-5")])])
    up, down = chart.bars
    assert up.y + up.height == pytest.approx(chart.zero, abs=0.01)
    assert down.y == chart.zero and down.height > 0
    assert down.height / up.height == pytest.approx(0.5, abs=0.01)
    assert chart.ticks[0].value < 0 < chart.ticks[-1].value


def test_none_draws_no_bar_and_zero_a_flat_one():
    chart = charts.bar_chart(["A", "B"], [Series("x", [None, D("0")])])
    assert len(chart.bars) == 1 and chart.bars[0].height == 0
    assert len(chart.categories) == 2


def test_reference_lines_stretch_the_axis():
    chart = charts.bar_chart(
        ["A"], [Series("Coverage", [D("1.2")])], formatter=charts.ratio_label, references=[D("3")]
    )
    (ref,) = chart.references
    assert chart.ticks[-1].value >= 3
    assert ref.label == "3×" and chart.plot.top <= ref.position < chart.zero


def test_empty_data_makes_an_empty_chart_without_errors():
    for build in (charts.bar_chart, charts.stacked_bars, charts.line_chart):
        chart = build([], [])
        assert chart.empty
        assert [t.value for t in chart.ticks] == [D("0"), D("1")]
    assert charts.waterfall([]).empty


def test_stacked_segments_are_as_tall_as_their_values_and_stack_in_order():
    chart = charts.stacked_bars(
        ["Team A"],
        [
            Series("Closed won", [D("30")]),
            Series("Commit", [D("20")]),
            Series("Best case", [D("0")]),  # no segment
            Series("Pipeline", [D("50")]),
        ],
    )
    won, commit, pipeline = chart.bars
    assert [b.series for b in chart.bars] == ["Closed won", "Commit", "Pipeline"]
    assert won.y + won.height == pytest.approx(chart.zero, abs=0.01)
    assert commit.y + commit.height == pytest.approx(won.y, abs=0.01)
    assert pipeline.y + pipeline.height == pytest.approx(commit.y, abs=0.01)
    assert pipeline.y == chart.plot.top  # 100 is the top tick
    assert commit.height / won.height == pytest.approx(20 / 30, abs=0.01)


def test_stacked_negatives_stack_downwards():
    chart = charts.stacked_bars(["x"], [Series("a", [D("10")]), Series("b", [D("-10")])])
    a, b = chart.bars
    assert a.y + a.height == pytest.approx(chart.zero, abs=0.01)
    assert b.y == pytest.approx(chart.zero, abs=0.01)
    assert b.height == pytest.approx(a.height, abs=0.01)


def test_lines_span_the_plot_and_break_at_missing_values():
    chart = charts.line_chart(
        ["w1", "w2", "w3", "w4"],
        [Series("Commit", [D("10"), None, D("20"), D("40")], hrefs=["/1", "/2", "/3", "/4"])],
    )
    (line,) = chart.lines
    assert [p.category for p in line.points] == ["w1", "w3", "w4"]
    assert line.points[0].x == chart.plot.left and line.points[-1].x == chart.plot.right
    assert line.points[-1].y == chart.plot.top  # 40 is the top tick
    assert [p.href for p in line.points] == ["/1", "/3", "/4"]
    # The gap splits the line in two segments; the area closes each one on the zero line.
    assert len(line.segments) == 2
    assert chart.area_path(line).count("Z") == 2
    assert f",{chart.zero}" in chart.area_path(line)


def test_one_point_sits_in_the_middle():
    chart = charts.line_chart(["only"], [Series("x", [D("5")])])
    assert chart.lines[0].points[0].x == pytest.approx(
        chart.plot.left + chart.plot.width / 2, abs=0.01
    )


def test_waterfall_steps_float_from_the_running_total():
    chart = charts.waterfall(
        [
            Step("Last week", D("100"), total=True),
            Step("New", D("20"), href="/new"),
            Step("Lost", D("-50")),
            Step("This week", D("70"), total=True),
        ]
    )
    opening, new, lost, closing = chart.bars
    scale = charts.LinearScale(
        chart.ticks[0].value, chart.ticks[-1].value, chart.plot.bottom, chart.plot.top
    )
    assert (opening.y, opening.y + opening.height) == pytest.approx(
        (scale(100), scale(0)), abs=0.02
    )
    # New: from 100 up to 120; Lost: from 120 down to 70; totals stand on zero.
    assert (new.y, new.y + new.height) == pytest.approx((scale(120), scale(100)), abs=0.02)
    assert (lost.y, lost.y + lost.height) == pytest.approx((scale(120), scale(70)), abs=0.02)
    assert closing.y + closing.height == pytest.approx(chart.zero, abs=0.02)
    assert [b.series for b in chart.bars] == ["total", "up", "down", "total"]
    assert (new.colour, lost.colour) == (charts.UP, charts.DOWN)
    assert new.title == "New: +20" and lost.title == "Lost: -50"
    assert new.href == "/new"


def test_waterfall_below_zero():
    chart = charts.waterfall([Step("Start", D("10"), total=True), Step("Loss", D("-30"))])
    assert chart.ticks[0].value <= -20
    loss = chart.bars[1]
    scale = charts.LinearScale(
        chart.ticks[0].value, chart.ticks[-1].value, chart.plot.bottom, chart.plot.top
    )
    assert (loss.y, loss.y + loss.height) == pytest.approx((scale(10), scale(-20)), abs=0.02)


def test_titles_carry_the_exact_value_when_asked():
    def exact(v):
        return f"EUR {v:,.2f}"

    def short(v):
        return charts.money_label(v, "EUR")

    bars = charts.bar_chart(["A"], [Series("Won", [D("1234.5")])], formatter=short, exact=exact)
    assert bars.bars[0].title == "A — Won: EUR 1,234.50"
    assert [t.label for t in bars.ticks][-1].startswith("€")  # the axis stays short
    stack = charts.stacked_bars(["A"], [Series("Won", [D("10")])], exact=exact)
    line = charts.line_chart(["w"], [Series("Commit", [D("10")])], exact=exact)
    fall = charts.waterfall([Step("New", D("-2.5"))], exact=exact)
    assert stack.bars[0].title == "A — Won: EUR 10.00"
    assert line.lines[0].points[0].title == "w — Commit: EUR 10.00"
    assert fall.bars[0].title == "New: EUR -2.50"


def test_labels_wrap_to_their_band_instead_of_being_cut():
    from forecasting.charts import bar_chart, wrap_label

    chart = bar_chart(
        ["Rep calls (commit)", "Commit (system)", "Forecast from history"],
        [Series("Amount", [D(1), D(2), D(3)], "#000")],
    )
    assert [c.lines for c in chart.categories] == [
        ["Rep calls (commit)"], ["Commit (system)"], ["Forecast from history"]
    ]  # fmt: skip
    narrow = bar_chart(["Rep calls (commit)"] * 5, [Series("Amount", [D(1)] * 5, "#000")])
    assert all("".join(c.lines).replace(" ", "") == "Repcalls(commit)" for c in narrow.categories)
    assert all(len(c.lines) == 2 for c in narrow.categories)
    assert wrap_label("A very long label indeed that goes on", 10, 2) == ["A very", "long labe…"]
