"""Keeping the daily counts (:mod:`clearway.analytics.rollup`) in the
store: added in the transaction that writes a batch or records outcomes,
and rebuilt from the declarations on demand (`clearway trends rebuild`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from clearway.analytics.rollup import MEASURES, Cell, add_outcomes, day_cells, day_of
from clearway.store.engine import writing
from clearway.store.schema import (
    declaration_items,
    declaration_parties,
    declarations,
    duty_assessments,
    master_filings,
    party_entities,
    risk_decisions,
    trend_days,
)

__all__ = [
    "add_cells",
    "carrier_of",
    "carriers_for",
    "outcome_changes",
    "rebuild_trends",
    "roll_up_batch",
]

_CHUNK = 500


def add_cells(conn: Connection, cells: dict[Cell, dict[str, float]]) -> None:
    """Add ``cells`` to the stored counts (insert, or add to what is there)."""
    if not cells:
        return
    rows = [
        {"day": day, "dimension": dim, "key": key, **dict.fromkeys(MEASURES, 0.0), **measures}
        for (day, dim, key), measures in sorted(cells.items())
    ]
    # One statement for any number of rows (executemany): a multi-row
    # VALUES clause is compiled anew for every batch size, which cost a
    # single-declaration submission more than its SQL.
    conn.execute(_upsert(conn.dialect.name), rows)


@cache
def _upsert(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(trend_days)
    return statement.on_conflict_do_update(
        index_elements=["day", "dimension", "key"],
        set_={m: getattr(trend_days.c, m) + getattr(statement.excluded, m) for m in MEASURES},
    )


def _context(conn: Connection, ids: list[int]) -> tuple[Any, ...]:
    """What the counts need besides the declaration rows, read for ``ids``."""
    chapters: dict[int, list[str]] = {}
    decisions: dict[int, dict[str, Any]] = {}
    duty: dict[int, dict[str, Any]] = {}
    consignees: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        i = declaration_items.c
        for row_id, code in conn.execute(
            select(i.declaration_id, i.hs_code).where(i.declaration_id.in_(part))
        ):
            chapters.setdefault(row_id, []).append((code or "")[:2] or "unknown")
        r = risk_decisions.c
        for row in conn.execute(
            select(r.declaration_id, r.lane, r.score).where(r.declaration_id.in_(part))
        ):
            decisions[row.declaration_id] = {"lane": row.lane, "score": row.score}
        a = duty_assessments.c
        for row in conn.execute(
            select(duty_assessments).where(a.declaration_id.in_(part), a.current)
        ):
            duty[row.declaration_id] = dict(row._mapping)
        p, e = declaration_parties.c, party_entities.c
        for row_id, entity, name, country in conn.execute(
            select(p.declaration_id, p.entity_id, e.name, e.country)
            .select_from(declaration_parties.join(party_entities, e.id == p.entity_id))
            # Repeat consignees only: a cluster is many parcels to one person,
            # and a first parcel would make this dimension as large as the table.
            .where(p.declaration_id.in_(part), p.role == "consignee", p.evidence != "new entity")
        ):
            consignees[row_id] = f"{entity}\t{name}\t{country}"
    return chapters, decisions, duty, consignees


def carriers_for(conn: Connection, houses: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Carrier by master reference, for the houses' current master filings."""
    carriers: dict[str, str] = {}
    wanted = sorted({str(h["master_ref"]) for h in houses if h.get("master_ref")})
    m = master_filings.c
    for start in range(0, len(wanted), _CHUNK):
        for ref, carrier in conn.execute(
            select(m.ref, m.carrier_name).where(
                m.ref.in_(wanted[start : start + _CHUNK]), m.current
            )
        ):
            if carrier:
                carriers[ref] = carrier
    return carriers


def carrier_of(house: dict[str, Any], carriers: dict[str, str]) -> str | None:
    """Who carries a declaration: its master's carrier, or the filer when a
    carrier or post filed it directly."""
    found = carriers.get(str(house.get("master_ref") or ""))
    if found:
        return found
    return house.get("filer_id") if house.get("filer_role") in ("carrier", "post") else None


def roll_up_batch(
    conn: Connection, houses: Sequence[dict[str, Any]], carriers: dict[str, str] | None = None
) -> None:
    """Add a just-written batch's first versions to the counts (same
    transaction, after its items, decisions, duty, parties and masters)."""
    first = [h for h in houses if h.get("version", 1) == 1]
    if not first:
        return
    ids = [int(h["id"]) for h in first]
    carriers = carriers if carriers is not None else carriers_for(conn, first)
    chapters, decisions, duty, consignees = _context(conn, ids)
    carried = {int(h["id"]): carrier_of(h, carriers) for h in first}
    add_cells(conn, day_cells(first, chapters, decisions, duty, carried, consignees))


def outcome_changes(conn: Connection, outcomes: dict[int, tuple[str | None, str]]) -> None:
    """Add hit-rate counts for outcomes recorded on declaration rows:
    ``outcomes`` maps a row to (previous outcome or None, new outcome)."""
    ids = sorted(outcomes)
    changes = []
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        for row_id, filed, received, rules, selected_by in conn.execute(
            select(
                declarations.c.id,
                declarations.c.filed_at,
                declarations.c.received_at,
                risk_decisions.c.rules,
                risk_decisions.c.selected_by,
            )
            .select_from(declarations.join(risk_decisions))
            .where(declarations.c.id.in_(part))
        ):
            day = day_of(filed) or day_of(received)
            if day is not None:
                before, after = outcomes[row_id]
                changes.append((day, orjson.loads(rules), selected_by, before, after))
    add_cells(conn, add_outcomes(changes))


def rebuild_trends(engine: Engine, batch: int = 5000) -> int:
    """Recount every current declaration's first version and every recorded
    outcome from scratch; returns the declarations counted."""
    from clearway.store.schema import inspection_outcomes

    counted = 0
    with writing(engine).begin() as conn:
        conn.execute(delete(trend_days))
        columns = [c for c in declarations.c if c.name != "document"]
        last = 0
        while True:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    select(*columns)
                    .where(declarations.c.id > last, declarations.c.version == 1)
                    .order_by(declarations.c.id)
                    .limit(batch)
                )
            ]
            if not rows:
                break
            last = rows[-1]["id"]
            roll_up_batch(conn, rows)
            counted += len(rows)
        outcomes: dict[int, tuple[str | None, str]] = {
            row_id: (None, outcome)
            for row_id, outcome in conn.execute(
                select(inspection_outcomes.c.declaration_id, inspection_outcomes.c.outcome)
            )
        }
        outcome_changes(conn, outcomes)
    return counted
