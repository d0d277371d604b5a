"""The targeting queue: current declarations with their lanes, filtered,
sorted and paged, for the API and the officer workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Engine, and_, func, select

from clearway.store.bulk import row_dict
from clearway.store.schema import declarations, master_filings, risk_decisions
from clearway.store.trends import carrier_column

__all__ = ["SORTS", "QueueFilter", "read_queue"]

d, r = declarations.c, risk_decisions.c

SORTS = {
    "score": (r.score.desc(), d.id),
    "-score": (r.score.asc(), d.id),
    "filed": (d.filed_at.desc(), d.id),
    "-filed": (d.filed_at.asc(), d.id),
    "value": (d.total_value.desc(), d.id),
    "-value": (d.total_value.asc(), d.id),
}
Sort = Literal["score", "-score", "filed", "-filed", "value", "-value"]


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What an officer narrows the queue to; empty fields do not filter."""

    lane: str | None = "red"
    office: str | None = None
    origin: str | None = None
    marketplace: str | None = None
    carrier: str | None = None
    rule: str | None = None


def read_queue(
    engine: Engine,
    where: QueueFilter,
    *,
    sort: Sort = "score",
    offset: int = 0,
    limit: int = 100,
    count: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the queue, and (with ``count``) how many match in all."""
    carrier = carrier_column()
    source = declarations.join(risk_decisions).outerjoin(
        master_filings, and_(master_filings.c.ref == d.master_ref, master_filings.c.current)
    )
    conditions: list[ColumnElement[bool]] = [d.current.is_(True)]
    if where.lane:
        conditions.append(r.lane == where.lane)
    if where.office:
        conditions.append(d.arrival_office == where.office)
    if where.origin:
        conditions.append(d.departure_country == where.origin.upper())
    if where.marketplace:
        conditions.append(func.coalesce(d.marketplace_name, d.filer_id) == where.marketplace)
    if where.carrier:
        conditions.append(carrier == where.carrier)
    if where.rule:
        # Rule ids are stored as a JSON list; match one whole quoted id.
        conditions.append(r.rules.contains(orjson.dumps(where.rule).decode()))
    query = (
        select(
            d.ref.label("declaration_id"),
            d.filer_id,
            d.filed_at,
            d.departure_country.label("origin"),
            d.destination_country,
            d.arrival_office,
            func.coalesce(d.marketplace_name, d.filer_id).label("marketplace"),
            carrier.label("carrier"),
            d.seller_name,
            d.total_value,
            d.total_currency,
            r.lane,
            r.score,
            r.selected_by,
            r.rules,
            r.reasons,
            r.decided_at,
        )
        .select_from(source)
        .where(*conditions)
        .order_by(*SORTS[sort])
        .offset(offset)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [row_dict(x) for x in conn.execute(query)]
        total = (
            conn.execute(select(func.count()).select_from(source).where(*conditions)).scalar_one()
            if count
            else None
        )
    for row in rows:
        row["rules"] = orjson.loads(row["rules"])
        row["reasons"] = orjson.loads(row["reasons"])
        row["decided_at"] = str(row["decided_at"])
        row["filed_at"] = str(row["filed_at"]) if row["filed_at"] is not None else None
    return rows, total
