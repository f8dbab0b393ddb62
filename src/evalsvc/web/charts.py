"""Charts as inline SVG drawn on the server: no JavaScript, no CDN, nothing for a strict
CSP to block (presentation attributes only, no style attributes). Each chart is an image
with a text alternative; the pages show the same numbers in a table beside it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape
from typing import Final

from markupsafe import Markup

BAND_COLOURS: Final = ("#fde2e1", "#fff4cc", "#e3f1e6", "#d6e9f8")
"""KHT, HT, HTT, HTXS (below the first cut, then between the cuts)."""
LINE: Final = "#a31f24"
BAR_COLOURS: Final = ("#1a5fb4", "#2e8b57", "#c07a00", "#7a3fa0", "#4a6a7a")


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def score_chart(
    points: Sequence[tuple[str, float | None]],
    cuts: Sequence[float],
    band_names: Sequence[str],
    label: str,
    value_text: Sequence[str] | None = None,
    width: int = 680,
    height: int = 240,
    mark: int | None = None,
) -> Markup:
    """Scores 0-100 over periods, over coloured level bands (cuts ascending, e.g. 50, 70, 90,
    the run's profile's; ``band_names`` its level codes, lowest first).

    A period without a score leaves a gap in the line; ``mark``: the index of a period to
    outline (the one the reader chose).
    """
    left, right, top, bottom = 34, 96, 12, 28
    w, h = width - left - right, height - top - bottom

    def y(v: float) -> float:
        return top + h * (1 - max(0.0, min(100.0, v)) / 100)

    n = max(len(points), 1)

    def x(i: int) -> float:
        return left + w * (i + 0.5) / n

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    edges = [0.0, *cuts, 100.0]
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        parts.append(
            f'<rect x="{left}" y="{y(hi):.1f}" width="{w}" height="{y(lo) - y(hi):.1f}" '
            f'fill="{BAND_COLOURS[i % 4]}"/>'
        )
        if i < len(band_names):
            parts.append(
                f'<text x="{left + w + 6}" y="{(y(lo) + y(hi)) / 2 + 4:.1f}" font-size="11" '
                f'fill="#5a6472">{escape(band_names[i])}</text>'
            )
    if mark is not None and 0 <= mark < len(points):
        parts.append(
            f'<rect class="chosen" x="{x(mark) - w / n / 2:.1f}" y="{top}" width="{w / n:.1f}" '
            f'height="{h}" fill="none" stroke="#1a5fb4" stroke-width="2"/>'
        )
    for tick in (0, *cuts, 100):
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#5a6472">{_num(tick)}</text>'
        )
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#c8ced6" stroke-width="0.5"/>'
        )
    segment: list[str] = []
    lines: list[list[str]] = [segment]
    for i, (_, v) in enumerate(points):
        if v is None:
            segment = []
            lines.append(segment)
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    for seg in lines:
        if len(seg) > 1:
            parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{LINE}" '
                f'stroke-width="2.5"/>'
            )
    texts = list(value_text) if value_text is not None else [None] * len(points)
    for i, ((name, v), text) in enumerate(zip(points, texts, strict=True)):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" font-size="11" text-anchor="middle" '
            f'fill="#1d2430">{escape(name)}</text>'
        )
        if v is not None:
            shown = text if text is not None else f"{v:.2f}"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{LINE}">'
                f"<title>{escape(name)}: {escape(shown)}</title></circle>"
            )
            parts.append(
                f'<text x="{x(i):.1f}" y="{y(v) - 8:.1f}" font-size="10" text-anchor="middle" '
                f'fill="#1d2430">{escape(shown)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar(
    parts_: Sequence[tuple[str, float]], total: float, label: str, width: int = 680
) -> Markup:
    """Components side by side on a 0-100 bar (U1..U5 of U); negative parts are left out
    of the bar (the table beside it lists them)."""
    height, top, left, w = 46, 6, 0, width
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<rect x="0" y="{top}" width="{w}" height="22" fill="#eceff3"/>',
    ]
    at = 0.0
    for i, (name, value) in enumerate(parts_):
        if value <= 0:
            continue
        span = w * min(value, 100.0) / 100
        parts.append(
            f'<rect x="{left + at:.1f}" y="{top}" width="{span:.1f}" height="22" '
            f'fill="{BAR_COLOURS[i % len(BAR_COLOURS)]}"><title>{escape(name)}: '
            f"{value:.2f}</title></rect>"
        )
        if span > 28:
            parts.append(
                f'<text x="{left + at + span / 2:.1f}" y="{top + 15}" font-size="11" '
                f'text-anchor="middle" fill="#fff">{escape(name)}</text>'
            )
        at += span
    parts.append(
        f'<text x="0" y="{height - 4}" font-size="11" fill="#5a6472">0</text>'
        f'<text x="{w}" y="{height - 4}" font-size="11" text-anchor="end" '
        f'fill="#5a6472">100</text>'
    )
    del total
    parts.append("</svg>")
    return Markup("".join(parts))


def rank_interval(rank: int | None, low: int | None, high: int | None, size: int) -> Markup:
    """A unit's rank (dot) and its 5-95 % rank interval (bar) on a 1..size scale, rank 1 left."""
    if rank is None or size < 1:
        return Markup("")
    width, pad = 160, 6
    span = width - 2 * pad

    def x(r: float) -> float:
        return pad + span * ((r - 1) / (size - 1) if size > 1 else 0.5)

    lo = low if low is not None else rank
    hi = high if high is not None else rank
    a, b = sorted((lo, hi))
    text = f"{rank} ({a}–{b} / {size})"
    return Markup(
        f'<svg class="rankbar" viewBox="0 0 {width} 16" width="{width}" height="16" '
        f'role="img" aria-label="{escape(text)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(text)}</title>"
        f'<line x1="{pad}" x2="{width - pad}" y1="8" y2="8" stroke="#c8ced6" stroke-width="2"/>'
        f'<rect x="{x(a) - 1:.1f}" y="4" width="{max(x(b) - x(a), 0) + 2:.1f}" height="8" '
        f'rx="3" fill="#9cb8dc"/>'
        f'<circle cx="{x(rank):.1f}" cy="8" r="4" fill="#1a5fb4"/></svg>'
    )
