"""Stored history by filing day, for re-scoring and training; and the
re-scored lanes written back.

A declaration's day is the UTC date of its filing time (its receipt time
when the filing gave none). Only current versions are history: an amended
filing is judged as amended.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import orjson
import pyarrow as pa
from sqlalchemy import Engine, and_, delete, func, or_, select

from clearway.history.rescoring import DAY_ROWS, RESCORED
from clearway.store.bulk import bulk_insert
from clearway.store.engine import writing
from clearway.store.schema import declarations, inspection_outcomes, rescored_declarations

__all__ = ["history_days", "read_day", "read_rescored", "write_rescored"]

_STREAM = 5000


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _on(day: date) -> object:
    lo, hi = _start(day), _start(day + timedelta(days=1))
    filed, received = declarations.c.filed_at, declarations.c.received_at
    return or_(
        and_(filed >= lo, filed < hi),
        and_(filed.is_(None), received >= lo, received < hi),
    )


def history_days(
    engine: Engine, since: date | None = None, until: date | None = None
) -> list[date]:
    """Every day from the first to the last filing of the history (within
    ``since`` and ``until``, both included); days without filings read as
    empty."""
    filed, received = declarations.c.filed_at, declarations.c.received_at
    ends: list[datetime] = []
    with engine.connect() as conn:
        # Two index-only lookups rather than a scan of a coalesce(): the
        # bounds may include superseded versions, whose days read as empty.
        for column, where in ((filed, filed.is_not(None)), (received, filed.is_(None))):
            found = conn.execute(select(func.min(column), func.max(column)).where(where)).one()
            ends += [_as_datetime(value) for value in found if value is not None]
    if not ends:
        return []
    first, last = min(ends), max(ends)
    lo, hi = first.date(), last.date()
    lo = max(lo, since) if since else lo
    hi = min(hi, until) if until else hi
    return [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]


def _as_datetime(value: datetime | str) -> datetime:
    # SQLite hands back the text of an aggregate, not a datetime.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC) if moment.tzinfo else moment


def read_day(engine: Engine, day: date) -> pa.Table:
    """One filing day's current declarations and their outcomes, as
    :data:`~clearway.history.rescoring.DAY_ROWS`."""
    query = (
        select(declarations.c.document, inspection_outcomes.c.outcome)
        .select_from(
            declarations.outerjoin(
                inspection_outcomes, inspection_outcomes.c.declaration_id == declarations.c.id
            )
        )
        .where(declarations.c.current, _on(day))  # type: ignore[arg-type]
    )
    documents: list[str] = []
    outcomes: list[str | None] = []
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_STREAM).execute(query)
        for document, outcome in result:
            documents.append(document)
            outcomes.append(outcome)
    return pa.table(
        {
            "day": pa.array([day] * len(documents), pa.date32()),
            "document": documents,
            "outcome": outcomes,
        },
        schema=DAY_ROWS,
    )


def write_rescored(engine: Engine, table: pa.Table, at: datetime) -> int:
    """Store re-scored declarations (:data:`~clearway.history.rescoring.RESCORED`),
    replacing everything stored for the days they cover: re-running a day
    leaves only its latest result."""
    if table.num_rows == 0:
        return 0
    days = table.column("day").unique().to_pylist()
    rows = [
        {
            **row,
            "rules": orjson.dumps(row["rules"]).decode(),
            "reasons": orjson.dumps(row["reasons"]).decode(),
            "rescored_at": at,
        }
        for row in table.select(RESCORED.names).to_pylist()
    ]
    with writing(engine).begin() as conn:
        conn.execute(delete(rescored_declarations).where(rescored_declarations.c.day.in_(days)))
        bulk_insert(conn, rescored_declarations, rows)
    return len(rows)


def read_rescored(
    engine: Engine, since: date | None = None, until: date | None = None
) -> Iterator[pa.Table]:
    """Stored re-scored declarations, day by day, as
    :data:`~clearway.history.rescoring.RESCORED` tables."""
    table = rescored_declarations
    query = select(*(table.c[name] for name in RESCORED.names)).order_by(
        table.c.day, table.c.filer_id, table.c.ref
    )
    if since:
        query = query.where(table.c.day >= since)
    if until:
        query = query.where(table.c.day <= until)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_STREAM).execute(query)
        for part in result.partitions(_STREAM):
            rows = [
                {
                    **row._asdict(),
                    "rules": orjson.loads(row.rules),
                    "reasons": orjson.loads(row.reasons),
                }
                for row in part
            ]
            yield pa.Table.from_pylist(rows, schema=RESCORED)
