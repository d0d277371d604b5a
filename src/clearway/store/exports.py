"""Flat exports for analysts, read in chunks: an export of any size runs in
bounded memory (a server-side cursor on PostgreSQL) and sees one snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, select

from clearway.store.engine import as_utc
from clearway.store.schema import declarations, risk_decisions

__all__ = ["DECISION_COLUMNS", "read_decisions_export"]

DECISION_COLUMNS = (
    "declaration_id",
    "filer_id",
    "version",
    "lane",
    "score",
    "selected_by",
    "reasons",
    "decided_at",
)
CHUNK = 5000


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def read_decisions_export(
    engine: Engine,
    since: date | None = None,
    until: date | None = None,
    *,
    chunk: int = CHUNK,
) -> Iterator[list[dict[str, Any]]]:
    """The lane of every current declaration version, as dicts of
    :data:`DECISION_COLUMNS` (``reasons`` a list, ``decided_at`` in UTC), in
    the order decided, ``chunk`` rows at a time. With ``since``/``until``,
    only those decided on those UTC days (both included)."""
    d, r = declarations.c, risk_decisions.c
    query = (
        select(
            d.ref.label("declaration_id"),
            d.filer_id,
            d.version,
            r.lane,
            r.score,
            r.selected_by,
            r.reasons,
            r.decided_at,
        )
        .select_from(declarations.join(risk_decisions, r.declaration_id == d.id))
        .where(d.current)
        .order_by(r.decided_at, d.id)
    )
    if since is not None:
        query = query.where(r.decided_at >= _midnight(since))
    if until is not None:
        query = query.where(r.decided_at < _midnight(until + timedelta(days=1)))
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(query)
        for part in result.partitions(chunk):
            yield [
                {
                    **row._asdict(),
                    "reasons": orjson.loads(row.reasons),
                    "decided_at": as_utc(row.decided_at),
                }
                for row in part
            ]
