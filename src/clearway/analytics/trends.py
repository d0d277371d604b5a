"""Pure computations over the store's daily counts: anomalies (a seller
whose volume or values jump, a new seller, a route never seen before in
the window) and day-by-category tables.

The store reads the aggregates (:mod:`clearway.store.trends`); these
functions only reshape and judge them, so a report and the dashboard say
the same thing.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Trends", "anomalies", "pivot_days"]

# A seller's last day is a jump when it is this many times its usual day.
VOLUME_JUMP = 3.0
VALUE_JUMP = 2.0
MIN_DAY = 10


@dataclass(slots=True)
class Trends:
    """What the dashboard and the report show, for one window of filing days."""

    start: str
    end: str
    days: list[str]
    volumes: dict[str, list[dict[str, Any]]]
    lanes: list[dict[str, Any]]
    hit_rates: list[dict[str, Any]]
    duty: list[dict[str, Any]]
    risky_sellers: list[dict[str, Any]]
    consignee_clusters: list[dict[str, Any]]
    anomalies: list[dict[str, Any]] = field(default_factory=list)


def pivot_days(
    rows: Iterable[dict[str, Any]], key: str, days: Sequence[str], top: int = 6
) -> tuple[list[str], dict[str, list[int]]]:
    """``rows`` of (day, key, count) as series per category over ``days``:
    the ``top`` categories by total, the rest summed as "other"."""
    totals: dict[str, int] = defaultdict(int)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        name = str(row[key] if row[key] not in (None, "") else "unknown")
        totals[name] += int(row["count"])
        cells[(str(row["day"]), name)] += int(row["count"])
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    kept = ranked[:top]
    series = {name: [cells.get((day, name), 0) for day in days] for name in kept}
    if len(ranked) > top:
        series["other"] = [sum(cells.get((day, name), 0) for name in ranked[top:]) for day in days]
    return list(series), series


def anomalies(
    seller_days: Iterable[dict[str, Any]], routes: Iterable[dict[str, Any]], last_day: str
) -> list[dict[str, Any]]:
    """Sellers whose ``last_day`` volume or mean value jumps against their
    earlier days in the window, sellers new on ``last_day`` with volume, and
    routes first seen on ``last_day``.

    ``seller_days``: (seller, day, count, value) rows; ``routes``: (route,
    first_day, count) rows."""
    by_seller: dict[str, dict[str, tuple[int, float]]] = defaultdict(dict)
    for row in seller_days:
        by_seller[str(row["seller"])][str(row["day"])] = (int(row["count"]), float(row["value"]))
    found: list[dict[str, Any]] = []
    for seller, days in sorted(by_seller.items()):
        if last_day not in days:
            continue
        count, value = days[last_day]
        before = [c for day, (c, _) in days.items() if day != last_day]
        if not before:
            if count >= MIN_DAY:
                found.append(
                    {
                        "kind": "new seller",
                        "subject": seller,
                        "detail": f"{count} filings on {last_day}, none earlier in the window",
                        "score": float(count),
                    }
                )
            continue
        usual = statistics.mean(before)
        if count >= MIN_DAY and count >= VOLUME_JUMP * max(usual, 1.0):
            found.append(
                {
                    "kind": "volume jump",
                    "subject": seller,
                    "detail": f"{count} filings on {last_day}, usually {usual:.1f} a day",
                    "score": round(count / max(usual, 1.0), 1),
                }
            )
        earlier = [(c, v) for day, (c, v) in days.items() if day != last_day]
        filings = sum(c for c, _ in earlier)
        if count >= MIN_DAY and filings >= MIN_DAY:
            mean_now = value / count
            mean_before = sum(v for _, v in earlier) / filings
            ratio = mean_now / mean_before if mean_before > 0 else 0.0
            if ratio >= VALUE_JUMP or 0 < ratio <= 1 / VALUE_JUMP:
                found.append(
                    {
                        "kind": "value jump",
                        "subject": seller,
                        "detail": f"mean value {mean_now:,.2f} on {last_day}, "
                        f"was {mean_before:,.2f}",
                        "score": round(max(ratio, 1 / ratio), 1),
                    }
                )
    for row in routes:
        if str(row["first_day"]) == last_day:
            found.append(
                {
                    "kind": "new route",
                    "subject": str(row["route"]),
                    "detail": f"first seen on {last_day} ({row['count']} filings)",
                    "score": float(row["count"]),
                }
            )
    return sorted(found, key=lambda a: (a["kind"], -a["score"], a["subject"]))
