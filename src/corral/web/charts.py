"""The burndown chart as server-side SVG, drawn from the same `Burndown` the API serves.

Stacked areas over time, bottom to top: merged, PR open, ended without a merged PR, and
what remains. Counts change at transitions, so each area is drawn as steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from corral.web.models import Burndown, BurndownPoint

SERIES = (
    ("merged", "merged", "#2e7d32"),
    ("open", "PR open", "#1565c0"),
    ("ended", "ended without merge", "#9e9e9e"),
    ("remaining", "remaining", "#f9a825"),
)
WIDTH, HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 12, 64


def burndown_svg(chart: Burndown) -> str:
    if not chart.points:
        return _svg('<text x="50%" y="50%" text-anchor="middle">no jobs yet</text>')
    start, end = chart.points[0].at, chart.points[-1].at
    span = max((end - start).total_seconds(), 1.0)
    top = max(chart.total, 1)

    def x(at: datetime) -> float:
        return _LEFT + (at - start).total_seconds() / span * (WIDTH - _LEFT - _RIGHT)

    def y(count: float) -> float:
        return HEIGHT - _BOTTOM - count / top * (HEIGHT - _TOP - _BOTTOM)

    parts = [_axes(y, top, start, end)]
    below = [0] * len(chart.points)
    for key, label, colour in SERIES:
        above = [b + getattr(p, key) for b, p in zip(below, chart.points, strict=True)]
        xs = [x(p.at) for p in chart.points]
        outline = _steps(xs, [y(v) for v in above]) + list(
            reversed(_steps(xs, [y(v) for v in below]))
        )
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in outline)
        parts.append(
            f'<polygon class="series series-{key}" points="{path}" fill="{colour}" '
            f'fill-opacity="0.85"><title>{escape(label)}</title></polygon>'
        )
        below = above
    parts.append(_legend(chart.points[-1]))
    return _svg("".join(parts))


def _steps(xs: list[float], ys: list[float]) -> list[tuple[float, float]]:
    """A step line: each value holds until the next point's time."""
    points: list[tuple[float, float]] = []
    for i, (px, py) in enumerate(zip(xs, ys, strict=True)):
        if i:
            points.append((px, ys[i - 1]))
        points.append((px, py))
    return points


def _axes(y: Callable[[float], float], top: int, start: datetime, end: datetime) -> str:
    ticks = sorted({0, top // 2, top})
    lines = []
    for tick in ticks:
        row = y(tick)
        lines.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{row:.1f}" y2="{row:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{row + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    base = HEIGHT - _BOTTOM + 16
    lines.append(f'<text x="{_LEFT}" y="{base}">{start:%Y-%m-%d %H:%M:%S}</text>')
    lines.append(
        f'<text x="{WIDTH - _RIGHT}" y="{base}" text-anchor="end">'
        f"{end:%Y-%m-%d %H:%M:%S} UTC</text>"
    )
    return "".join(lines)


def _legend(last: BurndownPoint) -> str:
    items = []
    for i, (key, label, colour) in enumerate(SERIES):
        left = _LEFT + i * 165
        text = f"{label}: {getattr(last, key)}"
        items.append(
            f'<g class="legend legend-{key}"><rect x="{left}" y="{HEIGHT - 26}" width="12" '
            f'height="12" fill="{colour}"/><text x="{left + 18}" y="{HEIGHT - 16}">'
            f"{escape(text)}</text></g>"
        )
    return "".join(items)


def _svg(body: str) -> str:
    label = quoteattr("Burndown: jobs merged, with a PR open, ended and remaining over time")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="burndown" role="img" aria-label={label} '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" font-size="12" font-family="sans-serif">'
        f"{body}</svg>"
    )
