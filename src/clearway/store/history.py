"""Stored history by filing day, for re-scoring and training; and the
re-scored lanes written back: the adapter behind
:class:`clearway.history.runs.HistoryStore` (plain rows in and out; the
history package makes its tables).

A declaration's day is the UTC date of its filing time (its receipt time
when the filing gave none). Only current versions are history: an amended
filing is judged as amended. Rows of a day come in arrival order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, and_, delete, func, or_, select

from clearway.errors import InputError
from clearway.store.bulk import bulk_insert
from clearway.store.engine import as_utc, open_engine, writing
from clearway.store.schema import declarations, inspection_outcomes, rescored_declarations

__all__ = [
    "RESCORED_COLUMNS",
    "StoreHistory",
    "history_days",
    "read_day",
    "read_rescored",
    "write_rescored",
]

RESCORED_COLUMNS = ("day", "filer_id", "ref", "score", "lane", "selected_by", "rules", "reasons",
                    "rules_version", "model")  # fmt: skip

_STREAM = 5000
# The most filing days one run walks (ten years): a filing dated year 1 or
# 9999, stored before intake bounded times, would otherwise make a run walk
# millions of empty days.
MAX_HISTORY_DAYS = 3660


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _on(day: date) -> object:
    lo = _start(day)
    filed, received = declarations.c.filed_at, declarations.c.received_at
    if day == date.max:
        # The calendar's last day has no next one to end it.
        return or_(filed >= lo, and_(filed.is_(None), received >= lo))
    hi = _start(day + timedelta(days=1))
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
    if (hi - lo).days >= MAX_HISTORY_DAYS:
        raise InputError(
            f"the history to read runs from {lo} to {hi}, {(hi - lo).days + 1:,} days; one run "
            f"reads at most {MAX_HISTORY_DAYS:,}: pass --since and --until (days far outside "
            f"that are filings with implausible dates, stored before intake refused them)"
        )
    return [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]


def _as_datetime(value: datetime | str) -> datetime:
    # SQLite hands back the text of an aggregate, not a datetime.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC) if moment.tzinfo else moment


def read_day(engine: Engine, day: date) -> dict[str, list[Any]]:
    """One filing day's current declarations, in arrival order: columns
    ``seq`` (arrival order), ``received_at``, ``document`` and ``outcome``
    (None where no intervention recorded one)."""
    query = (
        select(
            declarations.c.id,
            declarations.c.received_at,
            declarations.c.document,
            inspection_outcomes.c.outcome,
        )
        .select_from(
            declarations.outerjoin(
                inspection_outcomes, inspection_outcomes.c.declaration_id == declarations.c.id
            )
        )
        .where(declarations.c.current, _on(day))  # type: ignore[arg-type]
        .order_by(declarations.c.id)
    )
    out: dict[str, list[Any]] = {"seq": [], "received_at": [], "document": [], "outcome": []}
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_STREAM).execute(query)
        for row_id, received_at, document, outcome in result:
            out["seq"].append(row_id)
            out["received_at"].append(as_utc(received_at))
            out["document"].append(document)
            out["outcome"].append(outcome)
    return out


def write_rescored(engine: Engine, rows: list[dict[str, Any]], at: datetime) -> int:
    """Store re-scored declarations (dicts of :data:`RESCORED_COLUMNS`),
    replacing everything stored for the days they cover: re-running a day
    leaves only its latest result."""
    if not rows:
        return 0
    days = sorted({row["day"] for row in rows})
    stored = [
        {
            **{name: row[name] for name in RESCORED_COLUMNS},
            "rules": orjson.dumps(list(row["rules"])).decode(),
            "reasons": orjson.dumps(list(row["reasons"])).decode(),
            "rescored_at": at,
        }
        for row in rows
    ]
    with writing(engine).begin() as conn:
        conn.execute(delete(rescored_declarations).where(rescored_declarations.c.day.in_(days)))
        bulk_insert(conn, rescored_declarations, stored)
    return len(stored)


def read_rescored(
    engine: Engine, since: date | None = None, until: date | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Stored re-scored declarations in chunks, by day, filer and ref."""
    table = rescored_declarations
    query = select(*(table.c[name] for name in RESCORED_COLUMNS)).order_by(
        table.c.day, table.c.filer_id, table.c.ref
    )
    if since:
        query = query.where(table.c.day >= since)
    if until:
        query = query.where(table.c.day <= until)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_STREAM).execute(query)
        for part in result.partitions(_STREAM):
            yield [
                {
                    **row._asdict(),
                    "rules": orjson.loads(row.rules),
                    "reasons": orjson.loads(row.reasons),
                }
                for row in part
            ]


_ENGINES: dict[str, Engine] = {}


@dataclass(frozen=True, slots=True)
class StoreHistory:
    """The store as a history source and target: a plain value (its URL),
    so it travels to Spark's workers, each opening one engine per process."""

    url: str

    @property
    def engine(self) -> Engine:
        found = _ENGINES.get(self.url)
        if found is None:
            found = _ENGINES[self.url] = open_engine(self.url, migrate=False)
        return found

    def days(self, since: date | None, until: date | None) -> list[date]:
        return history_days(self.engine, since, until)

    def read_day(self, day: date) -> dict[str, list[Any]]:
        return read_day(self.engine, day)

    def write_rescored(self, rows: list[dict[str, Any]]) -> int:
        return write_rescored(self.engine, rows, datetime.now(UTC))

    def read_rescored(
        self, since: date | None = None, until: date | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        return read_rescored(self.engine, since, until)
