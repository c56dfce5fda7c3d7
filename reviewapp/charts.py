"""Server-rendered SVG charts for the operations dashboard and the threshold
simulator: line charts over a category axis (days, thresholds) and horizontal
bar charts. Plain Python, no Django and no JavaScript, so a chart is the same
in every browser, in a screenshot and in a test.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` that says
what it shows in words (screen readers read those), axes with tick labels, a
legend when it has more than one series, and a `<title>` on every point or bar
so hovering shows the exact figure. Text is escaped; callers pass plain
strings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
WIDTH = 600
LINE_HEIGHT = 280
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 44
LEGEND_ROW = 20
BAR_ROW = 26
BAR_LABEL_WIDTH = 210
# At 12 px, about 7 px a character: a longer label is cut with an ellipsis
# (its full text stays in the bar's tooltip and the CSV).
BAR_LABEL_CHARS = 28

Formatter = Callable[[float], str]


def as_percent(value: float) -> str:
    """0.873 -> "87 %"; shares are stored as fractions."""
    return f"{value * 100:.0f} %"


def as_number(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


@dataclass(frozen=True)
class Series:
    """One line: a value (or None for "no data", drawn as a gap) per x label."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Marker:
    """A vertical rule at one x position, e.g. the current threshold."""

    index: int
    label: str


def nice_ticks(top: float, *, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top` (1, 2, 2.5 or 5 times a
    power of ten apart), so axis labels read as people write numbers."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw_step = top / count
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    ticks = [0.0]
    while ticks[-1] < top - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg_open(title: str, description: str, width: int, height: int) -> list[str]:
    # A stable id per chart title ties aria-labelledby to this chart's own text.
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="chart-{slug}-title chart-{slug}-desc">',
        f'<title id="chart-{slug}-title">{escape(title)}</title>',
        f'<desc id="chart-{slug}-desc">{escape(description)}</desc>',
    ]


def _label_step(count: int, plot_width: float) -> int:
    # Roughly one label per 64 px, so dates never overlap.
    return max(1, math.ceil(count / max(1.0, plot_width / 64)))


def line_chart(
    *,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_format: Formatter = as_number,
    y_max: float | None = None,
    marker: Marker | None = None,
) -> str:
    """A line chart; `y_max` fixes the top of the axis (1.0 for shares)."""
    legend_rows = len(series) if len(series) > 1 else 0
    height = LINE_HEIGHT + legend_rows * LEGEND_ROW
    plot_left, plot_top = MARGIN_LEFT, MARGIN_TOP
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = LINE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    values = [v for s in series for v in s.values if v is not None]
    top = y_max if y_max is not None else max(values, default=0.0)
    ticks = nice_ticks(top)
    top = ticks[-1]
    count = len(x_labels)

    def x_at(index: int) -> float:
        if count <= 1:
            return plot_left + plot_width / 2
        return plot_left + plot_width * index / (count - 1)

    def y_at(value: float) -> float:
        return plot_top + plot_height * (1 - value / top)

    parts = _svg_open(title, description, WIDTH, height)
    parts.append('<g class="chart-grid" font-size="11" fill="#4b5563">')
    for tick in ticks:
        y = y_at(tick)
        parts.append(
            f'<line x1="{plot_left}" x2="{plot_left + plot_width}" '
            f'y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{plot_left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(tick))}</text>"
        )
    for index in _labelled(count, _label_step(count, plot_width)):
        anchor = "middle"
        if count > 1 and index == 0:
            anchor = "start"
        elif count > 1 and index == count - 1:
            anchor = "end"
        parts.append(
            f'<text x="{x_at(index):.1f}" y="{plot_top + plot_height + 18}" '
            f'text-anchor="{anchor}">{escape(x_labels[index])}</text>'
        )
    parts.append(
        f'<line x1="{plot_left}" x2="{plot_left + plot_width}" '
        f'y1="{plot_top + plot_height}" y2="{plot_top + plot_height}" '
        f'stroke="#6b7280"/></g>'
    )
    if marker is not None and 0 <= marker.index < count:
        x = x_at(marker.index)
        # The label sits on the side with room, so it is never cut at an edge.
        right_half = x > plot_left + plot_width / 2
        label_x, anchor = (x - 4, "end") if right_half else (x + 4, "start")
        parts.append(
            f'<g class="chart-marker"><line x1="{x:.1f}" x2="{x:.1f}" '
            f'y1="{plot_top}" y2="{plot_top + plot_height}" stroke="#111827" '
            f'stroke-dasharray="4 3"/><text x="{label_x:.1f}" y="{plot_top + 10}" '
            f'text-anchor="{anchor}" font-size="11" fill="#111827">'
            f"{escape(marker.label)}</text></g>"
        )
    for number, line in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        parts.append(f'<g class="chart-series" data-series="{escape(line.name)}">')
        for segment in _segments(line.values):
            points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in segment)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{points}"/>'
            )
        for index, value in enumerate(line.values):
            if value is None:
                continue
            label = f"{line.name}, {x_labels[index]}: {y_format(value)}"
            parts.append(
                f'<circle cx="{x_at(index):.1f}" cy="{y_at(value):.1f}" r="3" '
                f'fill="{colour}"><title>{escape(label)}</title></circle>'
            )
        parts.append("</g>")
    if legend_rows:
        parts.append('<g class="chart-legend" font-size="12" fill="#111827">')
        for number, line in enumerate(series):
            y = LINE_HEIGHT + number * LEGEND_ROW
            colour = PALETTE[number % len(PALETTE)]
            parts.append(
                f'<rect x="{plot_left}" y="{y - 10}" width="14" height="4" '
                f'fill="{colour}"/><text x="{plot_left + 20}" y="{y - 4}">'
                f"{escape(line.name)}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _labelled(count: int, step: int) -> list[int]:
    """Which x positions get a label: every `step`-th and the last, which
    replaces the one before it when the two would touch."""
    indices = list(range(0, count, step))
    if indices and indices[-1] != count - 1:
        if count - 1 - indices[-1] < step / 2 and len(indices) > 1:
            indices[-1] = count - 1
        else:
            indices.append(count - 1)
    return indices


def _segments(
    values: Sequence[float | None],
) -> list[list[tuple[int, float]]]:
    """Runs of consecutive values, so a day without data is a gap, not zero."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


def bar_chart(
    *,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float]],
    value_format: Formatter = as_number,
    x_max: float | None = None,
    colours: Sequence[str] | None = None,
) -> str:
    """Horizontal bars, one labelled row per category, the value at its end.
    `colours` (one per bar) carries meaning such as an SLA state."""
    height = MARGIN_TOP + max(1, len(bars)) * BAR_ROW + 28
    plot_left = BAR_LABEL_WIDTH
    plot_width = WIDTH - BAR_LABEL_WIDTH - 72
    top = x_max if x_max is not None else max((v for _, v in bars), default=0.0)
    top = top if top > 0 else 1.0
    parts = _svg_open(title, description, WIDTH, height)
    if not bars:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" '
            f'font-size="13" fill="#4b5563">No data in this range</text></svg>'
        )
        return "".join(parts)
    parts.append('<g font-size="12" fill="#111827">')
    for row, (label, value) in enumerate(bars):
        y = MARGIN_TOP + row * BAR_ROW
        length = plot_width * max(0.0, value) / top
        colour = colours[row] if colours else PALETTE[0]
        shown = (
            label
            if len(label) <= BAR_LABEL_CHARS
            else label[: BAR_LABEL_CHARS - 1].rstrip() + "…"
        )
        parts.append(
            f'<text x="{plot_left - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(shown)}</text>"
            f'<rect x="{plot_left}" y="{y + 3}" width="{length:.1f}" height="16" '
            f'fill="{colour}"><title>{escape(label)}: {escape(value_format(value))}'
            f"</title></rect>"
            f'<text x="{plot_left + length + 6:.1f}" y="{y + 15}">'
            f"{escape(value_format(value))}</text>"
        )
    axis_y = MARGIN_TOP + len(bars) * BAR_ROW + 4
    parts.append(
        f'<line x1="{plot_left}" x2="{plot_left}" y1="{MARGIN_TOP}" '
        f'y2="{axis_y}" stroke="#6b7280"/></g></svg>'
    )
    return "".join(parts)
