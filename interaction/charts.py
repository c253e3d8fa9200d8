"""Small, dependency-free, offline SVG charts, each with its data as a table.

Nothing is fetched from a CDN and no JavaScript runs: the layout is computed
here and drawn by the templates under ``interaction/charts/`` as inline SVG
(auto-escaped like any template). Each chart is a ``<figure>``: the SVG (a
``role="img"`` with a title and a one-line description) and, under it, a
``<table>`` with every value, so that screen readers and keyboard users get
the same figures (under a "Chart data" disclosure, open unless it has more
than :data:`OPEN_TABLE_ROWS` rows). Series differ by colour (the Okabe-Ito
palette, safe for colour blindness) and by dash pattern, never by colour
alone.

Interface (stable)
------------------

In templates, ``{% load interaction_charts %}`` and:

``{% bar_chart rows label_key value_key title="…" value_label="…" %}``
    One horizontal bar per row: ``row[label_key]`` against
    ``row[value_key]``, in the rows' order (sort them first).

``{% line_chart rows x_key value_keys title="…" labels="…" %}``
    One line per key of ``value_keys`` over ``row[x_key]`` (dates, numbers
    or text, in the rows' order). ``value_keys`` and ``labels`` are
    comma-separated strings or lists; ``labels`` names the series in the
    legend and the table headings (default: the keys).

``rows`` is any iterable of mappings or objects (``row[key]``, else
``getattr(row, key)``); a missing or ``None`` value counts as 0. Values are
numbers (int, float, Decimal). ``title`` is the figure's caption and the
SVG's accessible name.

From Python, :func:`bar_chart` and :func:`line_chart` return the chart
(a :class:`BarChart` / :class:`LineChart`) and :func:`render` gives its HTML.
"""

from __future__ import annotations

import datetime
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.safestring import SafeString

BAR_TEMPLATE = "interaction/charts/bar.html"
LINE_TEMPLATE = "interaction/charts/line.html"

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
#: One dash pattern per series, so that lines differ without colour too.
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")

#: A data table longer than this starts folded (a click on "Chart data" opens it).
OPEN_TABLE_ROWS = 12
#: Drawing sizes (SVG user units; the SVG scales to its container's width).
WIDTH = 640
LINE_HEIGHT = 260
BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 180
LABEL_CHARS = 26
#: A generous width of one character of a bar's value at the charts' 12px font:
#: the plot leaves room for the longest value written after its bar.
VALUE_CHAR_WIDTH = 8
VALUE_GAP = 4
MARGIN = 8
AXIS_WIDTH = 48
AXIS_HEIGHT = 36
LEGEND_HEIGHT = 22
LEGEND_WIDTH = 150
#: At most this many x labels under a line chart; markers up to this many points.
MAX_X_LABELS = 8
MAX_MARKERS = 62

_ids = itertools.count(1)


def _value(row: Any, key: str) -> Any:
    if isinstance(row, dict):
        return row.get(key)
    try:
        return row[key]
    except (TypeError, KeyError, IndexError):
        return getattr(row, key, None)


def _number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, (int, float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else 0.0
    raise TypeError(f"A chart value must be a number, not {value!r}.")


def format_number(value: float) -> str:
    """``1,498`` for whole numbers, ``12.5`` / ``0.33`` otherwise, grouped and
    with the active language's separators, as the admin's number columns."""
    if float(value).is_integer():
        return number_format(int(value), force_grouping=True)
    return number_format(round(float(value), 2), force_grouping=True)


def _text(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _keys(value: str | Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]


def nice_scale(top: float, ticks: int = 4) -> list[float]:
    """Axis ticks from 0 to a round number >= ``top`` (1, 2 or 5 × 10ⁿ steps)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if step < 1 and top >= 1:
        step = 1.0
    count = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Tick:
    value: str
    position: float

    @property
    def label_position(self) -> float:
        """Where the label's baseline sits on a vertical (y) axis."""
        return self.position + 4


@dataclass
class Bar:
    label: str
    short_label: str
    value: float
    text: str
    y: float
    width: float
    x: float

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT * 0.7

    @property
    def value_x(self) -> float:
        return self.x + self.width + VALUE_GAP


@dataclass
class Series:
    label: str
    colour: str
    dash: str
    points: list[tuple[float, float]]
    texts: list[str]

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass
class BarChart:
    title: str
    label_heading: str
    value_label: str
    bars: list[Bar]
    ticks: list[Tick]
    id: str = field(default_factory=lambda: f"interaction-chart-{next(_ids)}")
    width: int = WIDTH
    colour: str = PALETTE[0]
    label_width: int = LABEL_WIDTH
    plot_left: float = LABEL_WIDTH + MARGIN
    bar_height: int = BAR_HEIGHT

    template_name = BAR_TEMPLATE

    @property
    def table_open(self) -> bool:
        return len(self.bars) <= OPEN_TABLE_ROWS

    @property
    def height(self) -> float:
        return MARGIN + len(self.bars) * (BAR_HEIGHT + BAR_GAP) + AXIS_HEIGHT

    @property
    def axis_y(self) -> float:
        return MARGIN + len(self.bars) * (BAR_HEIGHT + BAR_GAP)

    @property
    def tick_text_y(self) -> float:
        return self.axis_y + 16

    @property
    def top(self) -> int:
        return MARGIN

    @property
    def description(self) -> str:
        if not self.bars:
            return "No data."
        top = max(self.bars, key=lambda bar: bar.value)
        return (
            f"{len(self.bars)} bars of {self.value_label}; "
            f"highest: {top.label}, {top.text}."
        )


@dataclass
class LineChart:
    title: str
    x_heading: str
    x_labels: list[str]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    markers: bool
    id: str = field(default_factory=lambda: f"interaction-chart-{next(_ids)}")
    width: int = WIDTH
    height: int = LINE_HEIGHT
    plot_left: float = AXIS_WIDTH + MARGIN
    plot_right: float = WIDTH - MARGIN
    plot_top: float = MARGIN + LEGEND_HEIGHT
    plot_bottom: float = LINE_HEIGHT - AXIS_HEIGHT

    template_name = LINE_TEMPLATE

    @property
    def y_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def x_tick_end(self) -> float:
        return self.plot_bottom + 4

    @property
    def x_label_y(self) -> float:
        return self.plot_bottom + 18

    @property
    def table_open(self) -> bool:
        return len(self.x_labels) <= OPEN_TABLE_ROWS

    @property
    def table_rows(self) -> list[tuple[str, list[str]]]:
        return [
            (label, [series.texts[i] for series in self.series])
            for i, label in enumerate(self.x_labels)
        ]

    @property
    def legend(self) -> list[tuple[Series, float, float, float]]:
        """Each series with its legend's line start, line end and text x."""
        placed = []
        for i, series in enumerate(self.series):
            x = self.plot_left + i * LEGEND_WIDTH
            placed.append((series, x, x + 24, x + 30))
        return placed

    @property
    def description(self) -> str:
        if not self.x_labels:
            return "No data."
        names = ", ".join(series.label for series in self.series)
        return (
            f"{names} from {self.x_labels[0]} to {self.x_labels[-1]} "
            f"({len(self.x_labels)} points)."
        )


def bar_chart(
    rows: Iterable[Any],
    label_key: str,
    value_key: str,
    *,
    title: str = "",
    value_label: str = "",
    label_heading: str = "",
) -> BarChart:
    """A horizontal bar chart of ``row[value_key]`` per ``row[label_key]``."""
    items = [
        (_text(_value(row, label_key)), _number(_value(row, value_key))) for row in rows
    ]
    top = max((value for _, value in items), default=0.0)
    scale = nice_scale(top)
    plot_left = LABEL_WIDTH + MARGIN
    longest = max((len(format_number(value)) for _, value in items), default=0)
    value_room = max(MARGIN * 2, VALUE_GAP + longest * VALUE_CHAR_WIDTH)
    plot_width = WIDTH - plot_left - MARGIN - value_room
    span = scale[-1] or 1.0
    bars = [
        Bar(
            label=label,
            short_label=_shorten(label),
            value=value,
            text=format_number(value),
            y=MARGIN + i * (BAR_HEIGHT + BAR_GAP),
            width=max(value, 0.0) / span * plot_width,
            x=plot_left,
        )
        for i, (label, value) in enumerate(items)
    ]
    ticks = [
        Tick(format_number(tick), plot_left + tick / span * plot_width)
        for tick in scale
    ]
    return BarChart(
        title=str(title),
        label_heading=str(label_heading or label_key),
        value_label=str(value_label or value_key),
        bars=bars,
        ticks=ticks,
    )


def line_chart(
    rows: Iterable[Any],
    x_key: str,
    value_keys: str | Sequence[str],
    *,
    title: str = "",
    labels: str | Sequence[str] = "",
    x_heading: str = "",
) -> LineChart:
    """One line per key of ``value_keys`` over ``row[x_key]``, in row order."""
    keys = _keys(value_keys)
    if not keys:
        raise ValueError("line_chart needs at least one value key.")
    names = _keys(labels) if labels else keys
    if len(names) != len(keys):
        raise ValueError(
            f"line_chart has {len(keys)} value keys but {len(names)} labels."
        )
    rows = list(rows)
    x_labels = [_text(_value(row, x_key)) for row in rows]
    columns = [[_number(_value(row, key)) for row in rows] for key in keys]
    top = max((value for column in columns for value in column), default=0.0)
    scale = nice_scale(top)
    span = scale[-1] or 1.0
    chart = LineChart(
        title=str(title),
        x_heading=str(x_heading or x_key),
        x_labels=x_labels,
        x_ticks=[],
        y_ticks=[],
        series=[],
        markers=len(rows) <= MAX_MARKERS,
    )
    left, right = chart.plot_left, chart.plot_right
    top_y, bottom_y = chart.plot_top, chart.plot_bottom
    step = (right - left) / (len(rows) - 1) if len(rows) > 1 else 0.0

    def x_at(i: int) -> float:
        return left + i * step if len(rows) > 1 else (left + right) / 2

    def y_at(value: float) -> float:
        return bottom_y - max(value, 0.0) / span * (bottom_y - top_y)

    chart.y_ticks = [Tick(format_number(tick), y_at(tick)) for tick in scale]
    every = max(1, math.ceil(len(rows) / MAX_X_LABELS))
    chart.x_ticks = [
        Tick(label, x_at(i)) for i, label in enumerate(x_labels) if i % every == 0
    ]
    chart.series = [
        Series(
            label=name,
            colour=PALETTE[i % len(PALETTE)],
            dash=DASHES[i % len(DASHES)],
            points=[(x_at(j), y_at(value)) for j, value in enumerate(column)],
            texts=[format_number(value) for value in column],
        )
        for i, (name, column) in enumerate(zip(names, columns, strict=True))
    ]
    return chart


def render(chart: BarChart | LineChart) -> SafeString:
    """The chart's ``<figure>``: the SVG and its data table."""
    return SafeString(render_to_string(chart.template_name, {"chart": chart}))
