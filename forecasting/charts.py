"""Chart geometry for server-rendered inline SVG — pure functions, no ORM, no Django.

The dashboard's charts are drawn by the templates from the shapes computed here (no
JavaScript chart library, nothing from a CDN): a chart is a fixed viewBox (`width` ×
`height`), a plot area inside it, and bars / points / ticks in viewBox coordinates
(y grows downwards, as in SVG). Values are Decimals (money, ratios); coordinates are
floats rounded to 0.01.

Every shape carries its exact value and a `title` (the text of its SVG <title>: what a
screen reader and a mouse hover tell; written with `exact`, the formatter of exact values,
when given — the axis labels use the short `formatter`) and an optional `href` (the
drill-down behind it); the templates also print the numbers in a table under each chart.

  nice_ticks     axis ticks at round values (1, 2, 2.5, 5 × 10^k), always covering 0
  money_label    "€1.2M", "€850k", "-$3.4k": short money for axes and bar labels
  bar_chart      grouped bars per category (negative values hang below the zero line),
                 with optional horizontal reference lines (e.g. coverage 1× and 3×)
  stacked_bars   one stacked bar per category (positives stack up, negatives down)
  line_chart     one polyline per series over x positions (None = a gap), with an area
  waterfall      opening total → signed steps → closing total, each step floating from
                 the running total
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
NICE_MANTISSAS = (Decimal("1"), Decimal("2"), Decimal("2.5"), Decimal("5"), Decimal("10"))
CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}
SCALES = ((Decimal("1e9"), "B"), (Decimal("1e6"), "M"), (Decimal("1e3"), "k"))

# Default geometry of a chart's viewBox and of the margins around its plot area (room for
# the tick labels on the left and the category labels underneath).
WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 64
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 40


def _r(value: float) -> float:
    return round(value, 2)


def _dec(value: Decimal | int | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


# --- numbers -------------------------------------------------------------------------------


def nice_step(span: Decimal, intervals: int) -> Decimal:
    """The smallest round step (1, 2, 2.5 or 5 × a power of ten) that covers `span` in at
    most `intervals` intervals."""
    if span <= 0:
        return Decimal("1")
    raw = span / intervals
    exponent = math.floor(math.log10(raw))
    power = Decimal(10) ** exponent
    for mantissa in NICE_MANTISSAS:
        step = mantissa * power
        if step >= raw:
            return step.quantize(Decimal(1)) if step == step.to_integral_value() else step
    return Decimal(10) * power  # pragma: no cover — the 10 mantissa always covers raw


def nice_ticks(low: Decimal, high: Decimal, max_ticks: int = 6) -> list[Decimal]:
    """Round tick values from at or below min(low, 0) to at or above max(high, 0), at most
    `max_ticks` of them (at least 2). Zero is always a tick, so bars grow from a labelled
    baseline; an all-zero range gets the ticks 0 and 1."""
    low, high = min(_dec(low), ZERO), max(_dec(high), ZERO)
    if low == high:  # all zero
        return [ZERO, Decimal("1")]
    intervals = max(max_ticks - 1, 1)
    step = nice_step(high - low, intervals)
    while True:
        first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
        last = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
        if (last - first) / step <= intervals:
            break
        step = nice_step(step * (intervals + 1), intervals)  # too many: the next step up
    count = int((last - first) / step)
    return [first + step * i for i in range(count + 1)]


def money_label(value: Decimal | int | float | None, currency: str = "") -> str:
    """Short money for axes and labels: "€1.2M", "€850k", "€999", "-$3.4k"; a currency
    without a sign is written as its code ("CHF 1.2M"). One decimal at most, none when it
    is zero; a value that rounds up to the next scale moves to it (999,950 → "€1M")."""
    if value is None:
        return "—"
    value = _dec(value)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    number = _short_number(magnitude)
    symbol = CURRENCY_SIGNS.get(currency.upper(), "")
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{currency.upper()} {number}".strip() if currency else f"{sign}{number}"


def _short_number(magnitude: Decimal) -> str:
    tenth = Decimal("0.1")
    for index, (size, suffix) in enumerate(SCALES):
        if magnitude >= size:
            shown = (magnitude / size).quantize(tenth, ROUND_HALF_UP)
            if shown >= 1000 and index > 0:  # 999.96M is "1B", not "1000M"
                size, suffix = SCALES[index - 1]
                shown = (magnitude / size).quantize(tenth, ROUND_HALF_UP)
            return _trim(shown) + suffix
    whole = magnitude.quantize(Decimal("1"), ROUND_HALF_UP)
    return "1k" if whole >= 1000 else _trim(whole)


def _trim(number: Decimal) -> str:
    text = format(number, "f")
    return text[:-2] if text.endswith(".0") else text


def ratio_label(value: Decimal | None) -> str:
    """A coverage ratio: "2.4×"; None: "—"."""
    if value is None:
        return "—"
    return _trim(_dec(value).quantize(Decimal("0.1"), ROUND_HALF_UP)) + "×"


# --- scales and axes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plot:
    """The plot area inside the viewBox."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def default_plot(width: int = WIDTH, height: int = HEIGHT) -> Plot:
    return Plot(MARGIN_LEFT, MARGIN_TOP, width - MARGIN_RIGHT, height - MARGIN_BOTTOM)


@dataclass(frozen=True)
class LinearScale:
    """Maps values from [low, high] onto the pixel range [start, end] (for y: start is the
    bottom, end the top, so larger values are higher up)."""

    low: Decimal
    high: Decimal
    start: float
    end: float

    def __call__(self, value: Decimal | int | float) -> float:
        span = self.high - self.low
        fraction = float((_dec(value) - self.low) / span) if span else 0.0
        return _r(self.start + (self.end - self.start) * fraction)


@dataclass(frozen=True)
class Tick:
    value: Decimal
    position: float  # y in the viewBox
    label: str


@dataclass(frozen=True)
class ReferenceLine:
    value: Decimal
    position: float
    label: str


def value_axis(
    low: Decimal, high: Decimal, plot: Plot, formatter, max_ticks: int = 6
) -> tuple[LinearScale, list[Tick]]:
    """The y scale over nice ticks covering [low, high] (and 0), and the ticks."""
    ticks = nice_ticks(low, high, max_ticks)
    scale = LinearScale(ticks[0], ticks[-1], plot.bottom, plot.top)
    return scale, [Tick(t, scale(t), formatter(t)) for t in ticks]


# --- bar charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """A named series: one value per category (None: no value, nothing drawn), an
    optional drill-down link per category, and the colour it is drawn in."""

    name: str
    values: Sequence[Decimal | None]
    colour: str = "#3b5bdb"
    hrefs: Sequence[str] = ()


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: Decimal
    category: str
    series: str
    colour: str
    title: str
    href: str = ""


# Width of a character of the 11 px axis labels, on average (a little wide, to be safe).
LABEL_CHAR_PX = 6.4


@dataclass(frozen=True)
class CategoryLabel:
    label: str
    x: float  # the centre of the category's band
    band: float = 0.0  # the band's width in px: how much text fits under it
    max_lines: int = 2

    @property
    def lines(self) -> list[str]:
        """The label wrapped to its band, at most `max_lines` lines; cut with "…" only when
        it does not fit even so (the whole label is in the table under every chart)."""
        if self.band <= 0:
            return [self.label]
        return wrap_label(self.label, max(4, int(self.band / LABEL_CHAR_PX)), self.max_lines)


def _label_room(band: float, count: int) -> tuple[float, int]:
    """Up to five categories: two lines under each band. More: the template staggers the
    labels over two rows, so each may span two bands, on one line."""
    return (band, 2) if count <= 5 else (2 * band, 1)


def wrap_label(label: str, width: int, max_lines: int) -> list[str]:
    """`label` in lines of at most `width` characters, broken between words."""
    lines = textwrap.wrap(label, width) or [""]
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    rest = " ".join([kept[-1], *lines[max_lines:]])
    kept[-1] = rest[: width - 1].rstrip() + "…"
    return kept


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot: Plot
    bars: list[Bar]
    ticks: list[Tick]
    categories: list[CategoryLabel]
    zero: float  # y of the zero line
    legend: list[tuple[str, str]]  # (series name, colour)
    references: list[ReferenceLine] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.bars


def _href(series: Series, index: int) -> str:
    return series.hrefs[index] if index < len(series.hrefs) else ""


def _series_bar(
    s: Series, index: int, category: str, value: Decimal, shown: str, *,
    x: float, y: float, width: float, height: float,
) -> Bar:  # fmt: skip
    """Series `s`'s bar for its `index`-th category, titled with the exact value."""
    return Bar(
        x=_r(x),
        y=y,
        width=_r(width),
        height=_r(height),
        value=value,
        category=category,
        series=s.name,
        colour=s.colour,
        title=f"{category} — {s.name}: {shown}",
        href=_href(s, index),
    )


def _bands(count: int, plot: Plot, padding: float = 0.2) -> tuple[float, float]:
    """Band width and inner padding for `count` categories across the plot."""
    band = plot.width / count if count else plot.width
    return band, band * padding / 2


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    formatter=money_label,
    exact=None,
    references: Sequence[Decimal] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> BarChart:
    """Grouped bars: per category one bar per series, side by side, from the zero line
    up (positive) or down (negative). `references`: values drawn as horizontal lines
    (the axis stretches to include them). A category with no value in any series still
    gets its band and label; no categories at all → an empty chart (no bars)."""
    plot = default_plot(width, height)
    values = [v for s in series for v in s.values if v is not None]
    refs = [_dec(r) for r in references]
    low = min([ZERO, *values, *refs])
    high = max([ZERO, *values, *refs])
    scale, ticks = value_axis(low, high, plot, formatter)
    zero = scale(ZERO)
    band, pad = _bands(len(categories), plot)
    per_series = (band - 2 * pad) / max(len(series), 1)
    bars: list[Bar] = []
    labels: list[CategoryLabel] = []
    for i, category in enumerate(categories):
        left = plot.left + i * band
        labels.append(
            CategoryLabel(category, _r(left + band / 2), *_label_room(band, len(categories)))
        )
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                continue
            y = scale(value)
            bars.append(
                _series_bar(
                    s, i, category, _dec(value), (exact or formatter)(value),
                    x=left + pad + j * per_series, y=min(y, zero),
                    width=per_series, height=abs(zero - y),
                )
            )  # fmt: skip
    return BarChart(
        width=width,
        height=height,
        plot=plot,
        bars=bars,
        ticks=ticks,
        categories=labels,
        zero=zero,
        legend=[(s.name, s.colour) for s in series],
        references=[ReferenceLine(r, scale(r), formatter(r)) for r in refs],
    )


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    formatter=money_label,
    exact=None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> BarChart:
    """One bar per category made of the series stacked in order: positive values stack
    upwards from zero, negative ones downwards, so each segment's height is its own value
    and the stack's top is the category's positive total. Zero and None make no
    segment."""
    plot = default_plot(width, height)
    tops, bottoms = [], []
    for i in range(len(categories)):
        column = [v for s in series if i < len(s.values) and (v := s.values[i]) is not None]
        tops.append(sum((v for v in column if v > 0), ZERO))
        bottoms.append(sum((v for v in column if v < 0), ZERO))
    scale, ticks = value_axis(min([ZERO, *bottoms]), max([ZERO, *tops]), plot, formatter)
    zero = scale(ZERO)
    band, pad = _bands(len(categories), plot)
    bars: list[Bar] = []
    labels: list[CategoryLabel] = []
    for i, category in enumerate(categories):
        left = plot.left + i * band
        labels.append(
            CategoryLabel(category, _r(left + band / 2), *_label_room(band, len(categories)))
        )
        up = down = ZERO
        for s in series:
            value = s.values[i] if i < len(s.values) else None
            if value is None or value == 0:
                continue
            value = _dec(value)
            if value > 0:
                start, up = up, up + value
                y_top, y_bottom = scale(up), scale(start)
            else:
                start, down = down, down + value
                y_top, y_bottom = scale(start), scale(down)
            bars.append(
                _series_bar(
                    s, i, category, value, (exact or formatter)(value),
                    x=left + pad, y=y_top, width=band - 2 * pad, height=y_bottom - y_top,
                )
            )  # fmt: skip
    return BarChart(
        width=width,
        height=height,
        plot=plot,
        bars=bars,
        ticks=ticks,
        categories=labels,
        zero=zero,
        legend=[(s.name, s.colour) for s in series],
    )


# --- line chart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: Decimal
    category: str
    series: str
    title: str
    href: str = ""


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: list[Point]
    segments: list[str]  # SVG polyline "x,y x,y …" strings, split where a value is None


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    plot: Plot
    lines: list[Line]
    ticks: list[Tick]
    categories: list[CategoryLabel]
    zero: float
    legend: list[tuple[str, str]]

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)

    def area_path(self, line: Line) -> str:
        """An SVG path filling each segment of `line` down to the zero line."""
        parts = []
        for segment in line.segments:
            coords = segment.split(" ")
            first_x = coords[0].split(",")[0]
            last_x = coords[-1].split(",")[0]
            parts.append(
                f"M{first_x},{self.zero} L" + " L".join(coords) + f" L{last_x},{self.zero} Z"
            )
        return " ".join(parts)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    formatter=money_label,
    exact=None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> LineChart:
    """A line per series across the categories (x evenly spaced, the first at the plot's
    left edge, the last at its right; one category sits in the middle). None breaks the
    line (a week without a snapshot is a gap, not a zero)."""
    plot = default_plot(width, height)
    values = [v for s in series for v in s.values if v is not None]
    scale, ticks = value_axis(min([ZERO, *values]), max([ZERO, *values]), plot, formatter)
    count = len(categories)

    def x_of(i: int) -> float:
        if count == 1:
            return _r(plot.left + plot.width / 2)
        return _r(plot.left + plot.width * i / (count - 1))

    lines = []
    for s in series:
        current: list[str]
        points, segments, current = [], [], []
        for i, category in enumerate(categories):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            point = Point(
                x=x_of(i),
                y=scale(value),
                value=_dec(value),
                category=category,
                series=s.name,
                title=f"{category} — {s.name}: {(exact or formatter)(value)}",
                href=_href(s, i),
            )
            points.append(point)
            current.append(f"{point.x},{point.y}")
        if current:
            segments.append(" ".join(current))
        lines.append(Line(s.name, s.colour, points, segments))
    return LineChart(
        width=width,
        height=height,
        plot=plot,
        lines=lines,
        ticks=ticks,
        categories=[CategoryLabel(c, x_of(i)) for i, c in enumerate(categories)],
        zero=scale(ZERO),
        legend=[(s.name, s.colour) for s in series],
    )


# --- waterfall -------------------------------------------------------------------------------

UP = "#2f9e44"
DOWN = "#e03131"
TOTAL = "#3b5bdb"


@dataclass(frozen=True)
class Step:
    """A waterfall input: a signed change (or a total when `total` is True)."""

    label: str
    value: Decimal
    total: bool = False
    href: str = ""


def waterfall(
    steps: Sequence[Step],
    *,
    formatter=money_label,
    exact=None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> BarChart:
    """A bar per step: a total stands on the zero line at its value (and resets the
    running total to it), a change floats from the running total to the running total
    plus the change (green up, red down). Consecutive bars are joined by the template
    from each bar's end value (`ends`)."""
    plot = default_plot(width, height)
    running = ZERO
    spans: list[tuple[Decimal, Decimal]] = []  # (from, to) of each bar
    for step in steps:
        value = _dec(step.value)
        if step.total:
            spans.append((ZERO, value))
            running = value
        else:
            spans.append((running, running + value))
            running += value
    edges = [v for span in spans for v in span]
    scale, ticks = value_axis(min([ZERO, *edges]), max([ZERO, *edges]), plot, formatter)
    band, pad = _bands(len(steps), plot)
    bars, labels = [], []
    for i, (step, (start, end)) in enumerate(zip(steps, spans, strict=True)):
        left = plot.left + i * band
        labels.append(
            CategoryLabel(step.label, _r(left + band / 2), *_label_room(band, len(steps)))
        )
        y_start, y_end = scale(start), scale(end)
        value = _dec(step.value)
        colour = TOTAL if step.total else (UP if value >= 0 else DOWN)
        sign = "" if step.total or value < 0 else "+"
        bars.append(
            Bar(
                x=_r(left + pad),
                y=min(y_start, y_end),
                width=_r(band - 2 * pad),
                height=_r(abs(y_end - y_start)),
                value=value,
                category=step.label,
                series="total" if step.total else ("up" if value >= 0 else "down"),
                colour=colour,
                title=f"{step.label}: {sign}{(exact or formatter)(value)}",
                href=step.href,
            )
        )
    return BarChart(
        width=width,
        height=height,
        plot=plot,
        bars=bars,
        ticks=ticks,
        categories=labels,
        zero=scale(ZERO),
        legend=[],
    )
