"""Where history is read from and written to: the store (through
:class:`HistoryStore`, which it implements) or a Parquet folder; and what
a re-scoring run reports. Shared by both engines (:mod:`clearway.history.runs`,
:mod:`clearway.history.spark`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from clearway.history.parquet import parquet_days, read_parquet_day, write_parquet_days
from clearway.history.rescoring import DAY_ROWS, RESCORED

__all__ = [
    "History",
    "HistoryStore",
    "RescoreReport",
    "day_tables",
    "history_days_of",
    "lane_counts",
    "read_history_day",
    "rescored_of",
    "write_rescored_day",
]


class HistoryStore(Protocol):
    """What history needs of a store (plain rows; see
    :mod:`clearway.store.history`). Implementations must pickle: Spark's
    workers receive them."""

    def days(self, since: date | None, until: date | None) -> list[date]: ...

    def read_day(self, day: date) -> dict[str, list[Any]]: ...

    def write_rescored(self, rows: list[dict[str, Any]]) -> int: ...

    def read_rescored(
        self, since: date | None = None, until: date | None = None
    ) -> Iterator[list[dict[str, Any]]]: ...


@dataclass(frozen=True, slots=True)
class History:
    """Where history is read from or re-scored lanes written to: a
    ``store``, or the Parquet folder at ``parquet``."""

    store: HistoryStore | None = None
    parquet: Path | None = None

    def __post_init__(self) -> None:
        if (self.store is None) == (self.parquet is None):
            raise ValueError("a history is either a store or a Parquet folder")

    def describe(self) -> str:
        return str(self.parquet) if self.parquet else "the store"


def history_days_of(history: History, since: date | None, until: date | None) -> list[date]:
    """The filing days of ``history`` within ``since`` and ``until``."""
    if history.parquet is not None:
        return parquet_days(history.parquet, since, until)
    assert history.store is not None
    return history.store.days(since, until)


def read_history_day(history: History, day: date) -> pa.Table:
    """One filing day of ``history`` as :data:`DAY_ROWS`."""
    if history.parquet is not None:
        return read_parquet_day(history.parquet, day, DAY_ROWS)
    assert history.store is not None
    columns = history.store.read_day(day)
    return pa.table(
        {"day": pa.array([day] * len(columns["seq"]), pa.date32()), **columns}, schema=DAY_ROWS
    )


def day_tables(history: History, days: list[date]) -> Iterator[pa.Table]:
    """The days of ``history``, one table each, skipping empty days."""
    for day in days:
        rows = read_history_day(history, day)
        if rows.num_rows:
            yield rows


def write_rescored_day(target: History, table: pa.Table) -> int:
    """Store one re-scored day in ``target``, replacing what it held for it."""
    if target.parquet is not None:
        return sum(write_parquet_days([table], target.parquet))
    assert target.store is not None
    return target.store.write_rescored(table.select(RESCORED.names).to_pylist())


def rescored_of(history: History, since: date | None = None, until: date | None = None) -> pa.Table:
    """What a re-scoring run wrote to ``history`` (a store), by day, filer, ref."""
    assert history.store is not None
    parts = [
        pa.Table.from_pylist(rows, schema=RESCORED)
        for rows in history.store.read_rescored(since, until)
    ]
    return pa.concat_tables(parts) if parts else RESCORED.empty_table()


@dataclass(slots=True)
class RescoreReport:
    """What a re-scoring run did."""

    engine: str
    days: int = 0
    declarations: int = 0
    lanes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        rate = self.declarations / self.seconds if self.seconds else 0.0
        return {
            "engine": self.engine,
            "days": self.days,
            "declarations": self.declarations,
            "lanes": dict(sorted(self.lanes.items())),
            "seconds": round(self.seconds, 1),
            "per_second": round(rate, 1),
        }


def lane_counts(table: pa.Table) -> Counter[str]:
    counts = pc.value_counts(table.column("lane")).to_pylist()
    return Counter({str(c["values"]): int(c["counts"]) for c in counts})
