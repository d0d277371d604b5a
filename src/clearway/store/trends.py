"""The aggregates behind the trends dashboard and `clearway report`, for
declarations filed in a window of UTC days, read from the daily counts kept
as batches are written (a window costs its days, not its filings)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from clearway.analytics.trends import Trends, anomalies
from clearway.errors import InputError
from clearway.store.schema import declarations, trend_days

__all__ = ["MAX_WINDOW_DAYS", "check_window", "default_window", "read_trends"]

d = declarations.c

# The longest window a dashboard or report reads: a quarter.
MAX_WINDOW_DAYS = 92


def check_window(start: date, end: date) -> None:
    """Refuse a window that runs backwards or is longer than a quarter."""
    if not start < end or (end - start).days > MAX_WINDOW_DAYS:
        raise InputError(
            f"the window must run forwards, at most {MAX_WINDOW_DAYS} days. Got {start} to {end}"
        )


def default_window(engine: Engine, days: int = 7) -> tuple[date, date]:
    """Up to the last ``days`` filing days that hold data, ending on the
    latest that is not in the future: a filing dated years ahead (stored
    before intake bounded times) neither hides today's data nor overflows
    the calendar."""
    now = datetime.now(UTC)
    horizon = now + timedelta(days=2)
    with engine.connect() as conn:
        first, latest = conn.execute(
            select(func.min(d.filed_at), func.max(d.filed_at)).where(d.filed_at < horizon)
        ).one()
    if not isinstance(latest, datetime) or not isinstance(first, datetime):
        today = now.date()
        return today - timedelta(days=days - 1), today + timedelta(days=1)
    end = latest.date() + timedelta(days=1)
    # A year-1 first day cannot be subtracted from: compare spans instead.
    start = end - timedelta(days=days) if (end - first.date()).days > days else first.date()
    return start, end


SMALL = ("origin", "marketplace", "carrier", "chapter", "lane", "duty", "hits", "route")


def read_trends(engine: Engine, start: date, end: date) -> Trends:
    """Everything the dashboard shows for filings on [start, end), from the
    daily counts (:mod:`clearway.store.rollup`). Dimensions with few keys
    are read whole; sellers and consignees are ranked in SQL."""
    check_window(start, end)
    days = [str(start + timedelta(days=k)) for k in range((end - start).days)]
    last = days[-1] if days else ""
    t = trend_days.c
    window = (t.day >= str(start), t.day < str(end))
    n, value, score, red = (func.sum(t.declarations), func.sum(t.value), func.sum(t.score),
                            func.sum(t.red))  # fmt: skip
    with engine.connect() as conn:
        cells = [
            dict(r._mapping)
            for r in conn.execute(select(trend_days).where(t.dimension.in_(SMALL), *window))
        ]
        sellers = [
            {
                "seller": key,
                "declarations": int(count),
                "mean_score": round(total_score / count, 3),
                "red": int(reds),
                "value": round(total_value, 2),
            }
            for key, count, total_score, reds, total_value in conn.execute(
                select(t.key, n, score, red, value)
                .where(t.dimension == "seller", *window)
                .group_by(t.key)
                .having(n >= 5)
                .order_by((score / n).desc(), t.key)
                .limit(10)
            )
        ]
        clusters = [
            {
                "consignee": key.split("\t")[1] if key.count("\t") == 2 else key,
                "country": key.split("\t")[2] if key.count("\t") == 2 else "",
                "repeat_parcels": int(count),
                "value": round(total_value, 2),
                "first": first,
                "last": latest,
            }
            for key, count, total_value, first, latest in conn.execute(
                select(t.key, n, value, func.min(t.day), func.max(t.day))
                .where(t.dimension == "consignee", *window)
                .group_by(t.key)
                .having(n >= 2)
                .order_by(n.desc(), t.key)
                .limit(10)
            )
        ]
        on_last_day = select(t.key).where(t.dimension == "seller", t.day == last)
        seller_days = [
            {"seller": key, "day": day, "count": count, "value": total_value}
            for key, day, count, total_value in conn.execute(
                select(t.key, t.day, t.declarations, t.value).where(
                    t.dimension == "seller", *window, t.key.in_(on_last_day)
                )
            )
        ]
    by_dimension: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        by_dimension.setdefault(cell["dimension"], []).append(cell)

    def per_day(dimension: str) -> list[dict[str, Any]]:
        return [
            {"day": c["day"], dimension: c["key"], "count": int(c["declarations"])}
            for c in by_dimension.get(dimension, [])
        ]

    hits: dict[str, list[float]] = {}
    routes: dict[str, list[Any]] = {}
    for c in by_dimension.get("hits", []):
        into = hits.setdefault(c["key"], [0.0, 0.0])
        into[0] += c["declarations"]
        into[1] += c["red"]
    for c in by_dimension.get("route", []):
        into_route = routes.setdefault(c["key"], [c["day"], 0])
        into_route[0] = min(into_route[0], c["day"])
        into_route[1] += int(c["declarations"])
    measures = ("value", "duty", "vat", "total", "due_at_sale", "shortfall")
    return Trends(
        start=str(start),
        end=str(end),
        days=days,
        volumes={name: per_day(name) for name in ("origin", "marketplace", "carrier", "chapter")},
        lanes=per_day("lane"),
        hit_rates=sorted(
            (
                {
                    "selector": key,
                    "inspected": int(inspected),
                    "hits": int(found),
                    "hit_rate": round(found / inspected, 3),
                }
                for key, (inspected, found) in hits.items()
                if inspected > 0
            ),
            key=lambda r: (-float(r["inspected"]), str(r["selector"])),
        ),
        duty=sorted(
            (
                {
                    "day": c["day"],
                    "currency": c["key"],
                    "declarations": int(c["declarations"]),
                    **{m: round(c[m], 2) for m in measures},
                }
                for c in by_dimension.get("duty", [])
            ),
            key=lambda r: (str(r["day"]), str(r["currency"])),
        ),
        risky_sellers=sellers,
        consignee_clusters=clusters,
        anomalies=anomalies(
            seller_days,
            [
                {"route": key, "first_day": first, "count": count}
                for key, (first, count) in routes.items()
            ],
            last,
        ),
    )
