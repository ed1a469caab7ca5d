"""Chart primitives for the report: pure functions from numbers to inline SVG strings.

No chart library and nothing fetched: each function returns one `<svg data-chart="...">` element
that draws itself with the page's inline CSS. Every chart carries a `<title>` and a `<desc>` named
by `aria-labelledby`, and every data mark (a bar, a point, a line) has the class `mark` plus
`data-label` / `data-value` attributes, so tests (and the browser test) can find what was drawn. A
chart without data draws a visible "No data yet" panel (`data-empty="true"`), never a blank box.
Every text that goes into the SVG is HTML-escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

Formatter = Callable[[float], str]

# A colour-blind-safe categorical palette (Okabe-Ito, darkened for contrast on white).
PALETTE: tuple[str, ...] = (
    "#2563eb",
    "#e67e22",
    "#059669",
    "#c026d3",
    "#dc2626",
    "#0891b2",
    "#a16207",
    "#475569",
)

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

WIDTH = 560
HEIGHT = 300
# Plot margins: room for y tick labels on the left, x labels and the axis title at the bottom.
LEFT, RIGHT, TOP, BOTTOM = 72, 28, 32, 52
# The widest a bar gets, so that two months on a wide chart are not two slabs.
MAX_BAR = 72.0


@dataclass(frozen=True)
class Series:
    """One named row of values, aligned with the chart's categories (None: no value there)."""

    name: str
    values: Sequence[float | None]


def number(value: float) -> str:
    """1234.5 -> '1,234.5'; whole numbers without decimals."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def percent(value: float) -> str:
    """0.4231 -> '42.3%'."""
    return f"{value * 100:.1f}%"


def nice_ticks(top: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round axis ticks from 0 to at least `top`: 0..87 -> [0, 20, 40, 60, 80, 100].

    `integer` keeps the step whole, for counts (0..2 -> [0, 1, 2], not [0, 0.5, ..., 2]).
    """
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = max(top / count, 1.0) if integer else top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * magnitude
        if step >= raw:
            break
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> str:
    cid = _attr(chart_id)
    return (
        f'<svg data-chart="{cid}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-family="{_attr(FONT)}">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(description)}</desc>'
    )


def empty_chart(
    chart_id: str,
    title: str,
    message: str = "No data yet",
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """The visible 'no data' state: a dashed panel with the message, no marks."""
    head = _open(chart_id, title, f"{title}: {message}", width, height).replace(
        ' role="img"', ' data-empty="true" role="img"', 1
    )
    return (
        head
        + f'<rect x="8" y="8" width="{width - 16}" height="{height - 16}" rx="8" fill="#f8fafc" '
        'stroke="#cbd5e1" stroke-dasharray="6 4"/>'
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" dominant-baseline="middle" '
        f'font-size="15" fill="#64748b">{escape(message)}</text></svg>'
    )


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    parts = []
    offset = 0.0
    for index, item in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<g class="legend-item" transform="translate({offset:.1f},0)">'
            f'<rect x="0" y="-9" width="12" height="12" rx="2" fill="{color}"/>'
            f'<text x="17" y="1" font-size="12" fill="#334155">{escape(item.name)}</text></g>'
        )
        offset += 28 + 7 * len(item.name)
    return f'<g class="legend" transform="translate({x:.1f},{y:.1f})">{"".join(parts)}</g>'


def _y_axis(
    ticks: Sequence[float], fmt: Formatter, width: int, height: int, y_label: str
) -> list[str]:
    top = ticks[-1]
    plot_h = height - TOP - BOTTOM
    parts = []
    for tick in ticks:
        y = TOP + plot_h - (tick / top) * plot_h
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#94a3b8" if tick == 0 else "#e2e8f0"}" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'font-size="11" fill="#64748b">{escape(fmt(tick))}</text>'
        )
    mid = TOP + plot_h / 2
    parts.append(
        f'<text class="axis-label" x="13" y="{mid:.1f}" text-anchor="middle" font-size="12" '
        f'fill="#334155" transform="rotate(-90 13 {mid:.1f})">{escape(y_label)}</text>'
    )
    return parts


def _x_labels(labels: Sequence[str], centers: Sequence[float], height: int) -> list[str]:
    """Category labels under the plot, every k-th one when they would otherwise touch."""
    if not labels:
        return []
    spacing = (centers[-1] - centers[0]) / (len(centers) - 1) if len(centers) > 1 else 200.0
    longest = max(len(label) for label in labels) * 6.4 + 10
    every = max(1, math.ceil(longest / spacing))
    y = height - BOTTOM + 18
    return [
        f'<text x="{cx:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
        f'fill="#475569">{escape(label)}</text>'
        for index, (label, cx) in enumerate(zip(labels, centers, strict=True))
        if index % every == 0
    ]


def _x_title(x_label: str, width: int, height: int) -> str:
    cx = LEFT + (width - LEFT - RIGHT) / 2
    return (
        f'<text class="axis-label" x="{cx:.1f}" y="{height - 8}" text-anchor="middle" '
        f'font-size="12" fill="#334155">{escape(x_label)}</text>'
    )


def bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    fmt: Formatter = number,
    description: str = "",
    gap: float = 0.25,
    integer: bool = False,
    max_bar: float | None = MAX_BAR,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Vertical bars, grouped when there are several series; heights are value / axis top.

    `gap` is the share of each category's slot left empty (0 gives a histogram's touching bars);
    a bar is never wider than `max_bar` (None: as wide as the slot allows). `integer` keeps the axis ticks whole (counts).
    """
    values = [v for s in series for v in s.values if v is not None]
    if not categories or not values or all(v == 0 for v in values):
        return empty_chart(chart_id, title, width=width, height=height)
    ticks = nice_ticks(max(values), integer=integer)
    top = ticks[-1]
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    slot = plot_w / len(categories)
    bar_w = slot * (1 - gap) / len(series)
    if max_bar is not None:
        bar_w = min(bar_w, max_bar)
    group_w = bar_w * len(series)
    summary = description or f"{title}. " + "; ".join(
        f"{cat}: "
        + ", ".join(f"{s.name} {fmt(v)}" for s in series if (v := s.values[i]) is not None)
        for i, cat in enumerate(categories)
    )
    parts = [_open(chart_id, title, summary, width, height)]
    parts += _y_axis(ticks, fmt, width, height, y_label)
    for si, item in enumerate(series):
        color = PALETTE[si % len(PALETTE)]
        for ci, (category, value) in enumerate(zip(categories, item.values, strict=True)):
            if value is None:
                continue
            bar_h = (value / top) * plot_h
            x = LEFT + ci * slot + (slot - group_w) / 2 + si * bar_w
            y = TOP + plot_h - bar_h
            parts.append(
                f'<rect class="mark" data-series="{_attr(item.name)}" data-label="{_attr(category)}" '
                f'data-value="{value:g}" x="{x:.2f}" y="{y:.2f}" width="{max(bar_w - (1 if gap == 0 else 0), 1):.2f}" '
                f'height="{bar_h:.2f}" fill="{color}" rx="{0 if gap == 0 else 2}">'
                f"<title>{escape(category)} · {escape(item.name)}: {escape(fmt(value))}</title></rect>"
            )
            if bar_w >= 24:  # room to print the value over the bar
                parts.append(
                    f'<text class="bar-value" x="{x + bar_w / 2:.2f}" y="{y - 4:.2f}" '
                    f'text-anchor="middle" font-size="10" fill="#334155">{escape(fmt(value))}</text>'
                )
    centers = [LEFT + (i + 0.5) * slot for i in range(len(categories))]
    parts += _x_labels(categories, centers, height)
    parts.append(_x_title(x_label, width, height))
    if len(series) > 1:
        parts.append(_legend(series, LEFT, 14))
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    chart_id: str,
    title: str,
    buckets: Sequence[tuple[str, float]],
    *,
    x_label: str,
    y_label: str,
    description: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Counts per bucket as touching bars (buckets are given in order, labelled by their range)."""
    return bar_chart(
        chart_id,
        title,
        [label for label, _ in buckets],
        [Series(y_label, [count for _, count in buckets])],
        x_label=x_label,
        y_label=y_label,
        description=description,
        gap=0.04,
        integer=True,
        max_bar=None,
        width=width,
        height=height,
    )


def line_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    fmt: Formatter = number,
    y_top: float | None = None,
    description: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """One line per series over the x labels; a None value breaks the line.

    `y_top` fixes the axis top (1.0 for rates) instead of rounding up from the largest value.
    """
    values = [v for s in series for v in s.values if v is not None]
    if not x_labels or not values:
        return empty_chart(chart_id, title, width=width, height=height)
    ticks = (
        [y_top * i / 5 for i in range(6)]
        if y_top
        else nice_ticks(max(values) if max(values) > 0 else 1.0)
    )
    top = ticks[-1]
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    step = plot_w / max(len(x_labels) - 1, 1)
    centers = (
        [LEFT + i * step for i in range(len(x_labels))]
        if len(x_labels) > 1
        else [LEFT + plot_w / 2]
    )
    summary = description or f"{title}: " + "; ".join(
        f"{s.name} from {x_labels[0]} to {x_labels[-1]}" for s in series
    )
    parts = [_open(chart_id, title, summary, width, height)]
    parts += _y_axis(ticks, fmt, width, height, y_label)
    for si, item in enumerate(series):
        color = PALETTE[si % len(PALETTE)]
        path: list[str] = []
        pen_down = False
        points = []
        for xi, value in enumerate(item.values):
            if value is None:
                pen_down = False
                continue
            x = centers[xi]
            y = TOP + plot_h - (min(value, top) / top) * plot_h
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
            points.append(
                f'<circle class="mark" data-series="{_attr(item.name)}" '
                f'data-label="{_attr(x_labels[xi])}" data-value="{value:g}" cx="{x:.1f}" '
                f'cy="{y:.1f}" r="3" fill="#fff" stroke="{color}" stroke-width="2">'
                f"<title>{escape(item.name)}, {escape(x_labels[xi])}: {escape(fmt(value))}</title>"
                "</circle>"
            )
        if path:
            parts.append(
                f'<path class="line" data-series="{_attr(item.name)}" d="{" ".join(path)}" '
                f'fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>'
            )
        parts += points
    parts += _x_labels(x_labels, centers, height)
    parts.append(_x_title(x_label, width, height))
    parts.append(_legend(series, LEFT, 14))
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(
    chart_id: str,
    title: str,
    stages: Sequence[tuple[str, float]],
    *,
    description: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Centred horizontal bars, widest first, with each step's conversion between the bars.

    A bar's width is its count / the largest count; the step label is count / previous count.
    """
    if not stages or all(count == 0 for _, count in stages):
        return empty_chart(chart_id, title, width=width, height=height)
    label_w = 110  # stage names on the left; the step rates sit at the right edge
    plot_w = width - label_w - 64
    largest = max(count for _, count in stages)
    row_h = (height - 16) / len(stages)
    bar_h = row_h * 0.62
    center = label_w + plot_w / 2
    steps = []
    for (name, count), (_, previous) in zip(stages[1:], stages[:-1], strict=True):
        steps.append(f"{name}: {percent(count / previous) if previous else 'n/a'}")
    summary = description or f"{title}. " + ", ".join(
        f"{name} {number(count)}" for name, count in stages
    ) + ". Conversion: " + ", ".join(steps)
    parts = [_open(chart_id, title, summary, width, height)]
    for index, (name, count) in enumerate(stages):
        bar_w = max((count / largest) * plot_w, 2.0)
        y = 8 + index * row_h
        color = PALETTE[0]
        opacity = 1 - index * 0.12
        parts.append(
            f'<rect class="mark" data-label="{_attr(name)}" data-value="{count:g}" '
            f'x="{center - bar_w / 2:.2f}" y="{y:.2f}" width="{bar_w:.2f}" height="{bar_h:.2f}" '
            f'rx="3" fill="{color}" fill-opacity="{opacity:.2f}">'
            f"<title>{escape(name)}: {escape(number(count))}</title></rect>"
            f'<text x="{label_w - 10}" y="{y + bar_h / 2:.2f}" text-anchor="end" '
            f'dominant-baseline="middle" font-size="13" fill="#1e293b">{escape(name)}</text>'
        )
        inside = bar_w > 70
        parts.append(
            f'<text class="value" x="{center if inside else center + bar_w / 2 + 8:.2f}" '
            f'y="{y + bar_h / 2:.2f}" text-anchor="{"middle" if inside else "start"}" '
            f'dominant-baseline="middle" font-size="13" font-weight="600" '
            f'fill="{"#ffffff" if inside else "#1e293b"}">{escape(number(count))}</text>'
        )
        if index:
            previous = stages[index - 1][1]
            rate = percent(count / previous) if previous else "n/a"
            parts.append(
                f'<text class="step" x="{width - 8}" y="{y - (row_h - bar_h) / 2:.2f}" '
                f'text-anchor="end" dominant-baseline="middle" font-size="11" fill="#475569">'
                f"↓ {escape(rate)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
