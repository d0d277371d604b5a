"""Storing and reading risk decisions."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, select

from clearway.store.bulk import row_dict
from clearway.store.schema import risk_decisions

__all__ = [
    "QUEUE_COLUMNS",
    "queue_columns",
    "read_lanes",
    "read_risk_decision",
]


QUEUE_COLUMNS = ("current", "origin", "office", "marketplace", "carrier", "filed_at", "value",
                 "currency")  # fmt: skip


def queue_columns(house: dict[str, Any], carrier: str | None) -> dict[str, Any]:
    """The declaration's columns the targeting queue filters and sorts on."""
    return {
        "current": True,
        "origin": house.get("departure_country"),
        "office": house.get("arrival_office"),
        "marketplace": house.get("marketplace_name") or house.get("filer_id"),
        "carrier": carrier,
        "filed_at": house.get("filed_at"),
        "value": house.get("total_value"),
        "currency": house.get("total_currency"),
    }


def read_risk_decision(engine: Engine, declaration_row_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(risk_decisions).where(risk_decisions.c.declaration_id == declaration_row_id)
        ).first()
    if row is None:
        return None
    found = row_dict(row)
    found["rules"] = orjson.loads(found["rules"])
    found["reasons"] = orjson.loads(found["reasons"])
    found["decided_at"] = str(found["decided_at"])
    for key in ("declaration_id", *QUEUE_COLUMNS):
        del found[key]
    return found


def read_lanes(engine: Engine, filer_id: str | None, refs: list[str]) -> dict[str, str]:
    """The current lanes of ``refs`` filed by ``filer_id``."""
    from clearway.store.schema import declarations

    out: dict[str, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(refs), 500):
            query = (
                select(declarations.c.ref, risk_decisions.c.lane)
                .select_from(declarations.join(risk_decisions))
                .where(declarations.c.current, declarations.c.ref.in_(refs[start : start + 500]))
            )
            if filer_id is not None:
                query = query.where(declarations.c.filer_id == filer_id)
            out.update((str(ref), str(lane)) for ref, lane in conn.execute(query))
    return out
