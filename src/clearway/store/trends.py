"""The aggregates behind the trends dashboard and `clearway report`, for
declarations filed in a window of UTC days. Each query filters on the
indexed filing time first, so a window costs what it holds, not the table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, and_, case, func, literal, select

from clearway.analytics.trends import Trends, anomalies, hit_rates
from clearway.store.duty import duty_totals
from clearway.store.schema import (
    declaration_items,
    declaration_parties,
    declarations,
    inspection_outcomes,
    master_filings,
    party_entities,
    risk_decisions,
)

__all__ = ["carrier_column", "default_window", "read_trends"]

d = declarations.c


def carrier_column() -> Any:
    """Who carries a declaration: its master filing's carrier, or the filer
    when a carrier or post filed it directly."""
    direct = case((d.filer_role.in_(("carrier", "post")), d.filer_id), else_=None)
    return func.coalesce(master_filings.c.carrier_name, direct)


def _with_master() -> Any:
    return declarations.outerjoin(
        master_filings, and_(master_filings.c.ref == d.master_ref, master_filings.c.current)
    )


def default_window(engine: Engine, days: int = 7) -> tuple[date, date]:
    """Up to the last ``days`` filing days that hold data, ending on the latest."""
    with engine.connect() as conn:
        first, latest = conn.execute(select(func.min(d.filed_at), func.max(d.filed_at))).one()
    if not isinstance(latest, datetime) or not isinstance(first, datetime):
        today = datetime.now(UTC).date()
        return today - timedelta(days=days - 1), today + timedelta(days=1)
    end = latest.date() + timedelta(days=1)
    return max(end - timedelta(days=days), first.date()), end


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime(start.year, start.month, start.day, tzinfo=UTC),
        datetime(end.year, end.month, end.day, tzinfo=UTC),
    )


def read_trends(engine: Engine, start: date, end: date) -> Trends:
    """Everything the dashboard shows for filings on [start, end)."""
    since, until = _bounds(start, end)
    window = and_(d.current, d.filed_at >= since, d.filed_at < until)
    day = func.date(d.filed_at).label("day")
    days = [str(start + timedelta(days=k)) for k in range((end - start).days)]
    volumes: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:

        def rows(query: Any) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(query)]

        for name, column, source in (
            ("origin", d.departure_country, declarations),
            ("marketplace", func.coalesce(d.marketplace_name, d.filer_id), declarations),
            ("carrier", carrier_column(), _with_master()),
        ):
            label = column.label(name)
            volumes[name] = rows(
                select(day, label, func.count().label("count"))
                .select_from(source)
                .where(window)
                .group_by(day, label)
            )
        chapter = func.substr(declaration_items.c.hs_code, 1, 2).label("chapter")
        volumes["chapter"] = rows(
            select(day, chapter, func.count().label("count"))
            .select_from(declarations.join(declaration_items))
            .where(window)
            .group_by(day, chapter)
        )
        lanes = rows(
            select(day, risk_decisions.c.lane, func.count().label("count"))
            .select_from(declarations.join(risk_decisions))
            .where(window)
            .group_by(day, risk_decisions.c.lane)
        )
        inspected = conn.execute(
            select(
                risk_decisions.c.rules, risk_decisions.c.selected_by, inspection_outcomes.c.outcome
            )
            .select_from(
                declarations.join(risk_decisions).join(
                    inspection_outcomes, inspection_outcomes.c.declaration_id == d.id
                )
            )
            .where(window)
        ).all()
        sellers = rows(
            select(
                d.seller_name.label("seller"),
                func.count().label("declarations"),
                func.avg(risk_decisions.c.score).label("mean_score"),
                func.sum(case((risk_decisions.c.lane.in_(("red", "black")), 1), else_=0)).label(
                    "red"
                ),
                func.sum(d.total_value).label("value"),
            )
            .select_from(declarations.join(risk_decisions))
            .where(window, d.seller_name.is_not(None))
            .group_by(d.seller_name)
            .having(func.count() >= 5)
            .order_by(func.avg(risk_decisions.c.score).desc(), d.seller_name)
            .limit(10)
        )
        consignee = declaration_parties.c
        clusters = rows(
            select(
                party_entities.c.name.label("consignee"),
                party_entities.c.country,
                func.count().label("declarations"),
                func.count(func.distinct(d.seller_name)).label("sellers"),
                func.sum(d.total_value).label("value"),
                func.min(d.filed_at).label("first"),
                func.max(d.filed_at).label("last"),
            )
            .select_from(
                declarations.join(declaration_parties, consignee.declaration_id == d.id).join(
                    party_entities, party_entities.c.id == consignee.entity_id
                )
            )
            .where(window, consignee.role == "consignee")
            .group_by(party_entities.c.id, party_entities.c.name, party_entities.c.country)
            .having(func.count() >= 3)
            .order_by(func.count().desc(), party_entities.c.name)
            .limit(10)
        )
        seller_days = rows(
            select(
                d.seller_name.label("seller"),
                day,
                func.count().label("count"),
                func.sum(d.total_value).label("value"),
            )
            .where(window, d.seller_name.is_not(None))
            .group_by(d.seller_name, day)
        )
        route = (d.departure_country + literal(" > ") + d.destination_country).label("route")
        routes = rows(
            select(route, func.min(day).label("first_day"), func.count().label("count"))
            .where(window)
            .group_by(d.departure_country, d.destination_country)
        )
    for group in (sellers, clusters):
        for row in group:
            for key, value in row.items():
                if isinstance(value, float):
                    row[key] = round(value, 3)
                elif isinstance(value, datetime):
                    row[key] = value.isoformat(timespec="minutes")
    last = days[-1] if days else ""
    return Trends(
        start=str(start),
        end=str(end),
        days=days,
        volumes={k: [{**r, "day": str(r["day"])} for r in v] for k, v in volumes.items()},
        lanes=[{**r, "day": str(r["day"])} for r in lanes],
        hit_rates=hit_rates((orjson.loads(r.rules), r.selected_by, r.outcome) for r in inspected),
        duty=duty_totals(engine, "day", since, until),
        risky_sellers=sellers,
        consignee_clusters=clusters,
        anomalies=anomalies(
            [{**r, "day": str(r["day"])} for r in seller_days],
            [{**r, "first_day": str(r["first_day"])} for r in routes],
            last,
        ),
    )
