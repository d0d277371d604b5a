"""The targeting queue: current declarations with their lanes, filtered,
sorted and paged, for the API and the officer workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Engine, func, select

from clearway.store.bulk import row_dict
from clearway.store.schema import declarations, risk_decisions

__all__ = ["SORTS", "QueueFilter", "read_queue"]

d, r = declarations.c, risk_decisions.c

SORTS = {
    "score": (r.score.desc(), r.declaration_id),
    "-score": (r.score.asc(), r.declaration_id),
    "filed": (r.filed_at.desc(), r.declaration_id),
    "-filed": (r.filed_at.asc(), r.declaration_id),
    "value": (r.value.desc(), r.declaration_id),
    "-value": (r.value.asc(), r.declaration_id),
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
    """A page of the queue, and (with ``count``) how many match in all.
    Filters and sorting run on the decisions alone; only the page's rows
    are joined to their declarations."""
    conditions: list[ColumnElement[bool]] = [r.current.is_(True)]
    if where.lane:
        conditions.append(r.lane == where.lane)
    if where.office:
        conditions.append(r.office == where.office)
    if where.origin:
        conditions.append(r.origin == where.origin.upper())
    if where.marketplace:
        conditions.append(r.marketplace == where.marketplace)
    if where.carrier:
        conditions.append(r.carrier == where.carrier)
    if where.rule:
        # Rule ids are stored as a JSON list; match one whole quoted id,
        # literally: % and _ in what the officer typed are not wildcards.
        conditions.append(r.rules.contains(orjson.dumps(where.rule).decode(), autoescape=True))
    page = (
        select(r.declaration_id)
        .where(*conditions)
        .order_by(*SORTS[sort])
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    query = (
        select(
            d.ref.label("declaration_id"),
            d.filer_id,
            r.filed_at,
            r.origin,
            d.destination_country,
            r.office.label("arrival_office"),
            r.marketplace,
            r.carrier,
            d.seller_name,
            r.value.label("total_value"),
            r.currency.label("total_currency"),
            r.lane,
            r.score,
            r.selected_by,
            r.rules,
            r.reasons,
            r.decided_at,
        )
        .select_from(
            page.join(risk_decisions, r.declaration_id == page.c.declaration_id).join(
                declarations, d.id == r.declaration_id
            )
        )
        .order_by(*SORTS[sort])
    )
    with engine.connect() as conn:
        rows = [row_dict(x) for x in conn.execute(query)]
        total = (
            conn.execute(
                select(func.count()).select_from(risk_decisions).where(*conditions)
            ).scalar_one()
            if count
            else None
        )
    for row in rows:
        row["rules"] = orjson.loads(row["rules"])
        row["reasons"] = orjson.loads(row["reasons"])
        row["decided_at"] = str(row["decided_at"])
        row["filed_at"] = str(row["filed_at"]) if row["filed_at"] is not None else None
    return rows, total
