"""Charts as server-side SVG: no script and no network to draw them, so the
dashboard and a saved report look the same anywhere. Every chart has a
title and a description for screen readers; each series has a colour from
one palette that stays distinguishable for common colour blindness."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from html import escape

__all__ = ["PALETTE", "bars", "stacked_days"]

# Okabe-Ito, readable with the common colour vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")
LANE_COLOURS = {"green": "#009E73", "yellow": "#E6B800", "red": "#D55E00", "black": "#222222"}

_W, _H = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 150, 16, 34


def _id(title: str) -> str:
    return "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]


def _ticks(top: float) -> list[float]:
    if top <= 0:
        return [0.0]
    step = 10 ** max(0, len(str(int(top))) - 1)
    while top / step > 5:
        step *= 2
    return [k * step for k in range(int(top // step) + 1)]


def stacked_days(
    title: str,
    days: Sequence[str],
    series: dict[str, list[float]],
    colours: dict[str, str] | None = None,
) -> str:
    """Stacked bars per day, one colour per series, with a legend."""
    totals = [sum(values[k] for values in series.values()) for k in range(len(days))]
    top: float = float(max(totals, default=0.0)) or 1.0
    ticks = _ticks(top)
    top = max(top, ticks[-1])
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = slot * 0.7
    cid = _id(title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'class="chart" aria-labelledby="{cid}">',
        f'<title id="{cid}">{escape(title)}</title>',
    ]
    for tick in ticks:
        y = _TOP + plot_h - tick / top * plot_h
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,.0f}</text>'
        )
    for k, day in enumerate(days):
        x = _LEFT + k * slot + (slot - bar) / 2
        base: float = _TOP + plot_h
        for n, (name, values) in enumerate(series.items()):
            value = values[k]
            if value <= 0:
                continue
            h = value / top * plot_h
            base -= h
            colour = (colours or {}).get(name, PALETTE[n % len(PALETTE)])
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(day)} {escape(name)}: {value:,.0f}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">'
            f"{escape(day[5:])}</text>"
        )
    for n, name in enumerate(series):
        colour = (colours or {}).get(name, PALETTE[n % len(PALETTE)])
        y = _TOP + 14 + n * 18
        parts.append(
            f'<rect x="{_W - _RIGHT + 12}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{_W - _RIGHT + 30}" y="{y}">{escape(name[:22])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str = "") -> str:
    """Horizontal bars, one per label, largest first as given."""
    height = 24 * max(len(labels), 1) + 20
    top = max(values, default=0) or 1
    width = _W - 220
    cid = _id(title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" role="img" '
        f'class="chart" aria-labelledby="{cid}">',
        f'<title id="{cid}">{escape(title)}</title>',
    ]
    for k, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + k * 24
        w = max(value / top * width, 1)
        parts.append(
            f'<text x="170" y="{y + 13}" text-anchor="end">{escape(str(label)[:26])}</text>'
            f'<rect x="176" y="{y}" width="{w:.1f}" height="16" fill="{PALETTE[0]}">'
            f"<title>{escape(str(label))}: {value:,.3g}{unit}</title></rect>"
            f'<text x="{180 + w:.1f}" y="{y + 13}">{value:,.3g}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
