"""Re-scoring and learning over history, from the store or from Parquet,
on this machine or on Spark: what ``clearway history rescore`` and
``clearway risk train --engine spark`` call.

Both engines run :func:`~clearway.history.rescoring.rescore_day` and
:func:`~clearway.history.rescoring.labelled_day` on whole filing days; only
who runs them, and where, differs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from clearway.history.parquet import parquet_days, read_parquet_day, write_parquet_days
from clearway.history.rescoring import (
    DAY_ROWS,
    HistoryConfig,
    labelled_day,
    labelled_frame,
    rescore_day,
)
from clearway.risk.training import LabelledFrame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from sqlalchemy import Engine

__all__ = [
    "History",
    "RescoreReport",
    "day_tables",
    "export_history",
    "history_days_of",
    "labelled_history_frame",
    "read_history_day",
    "rescore_history",
    "store_engine",
]


@cache
def store_engine(url: str) -> Engine:
    """One engine (and pool) per store for the whole process: a run reads
    day after day, and a Spark worker reuses it across its tasks."""
    from clearway.store import open_engine

    return open_engine(url)


@dataclass(frozen=True, slots=True)
class History:
    """Where history is read from or re-scored lanes written to: the store
    at ``database_url``, or the Parquet folder at ``parquet``."""

    database_url: str | None = None
    parquet: Path | None = None

    def __post_init__(self) -> None:
        if (self.database_url is None) == (self.parquet is None):
            raise ValueError("a history is either a store or a Parquet folder")

    def describe(self) -> str:
        return str(self.parquet) if self.parquet else "the store"


def history_days_of(history: History, since: date | None, until: date | None) -> list[date]:
    """The filing days of ``history`` within ``since`` and ``until``."""
    if history.parquet is not None:
        return parquet_days(history.parquet, since, until)
    from clearway.store.history import history_days

    assert history.database_url is not None
    return history_days(store_engine(history.database_url), since, until)


def read_history_day(history: History, day: date) -> pa.Table:
    """One filing day of ``history`` as :data:`DAY_ROWS`."""
    if history.parquet is not None:
        return read_parquet_day(history.parquet, day, DAY_ROWS)
    from clearway.store.history import read_day

    assert history.database_url is not None
    return read_day(store_engine(history.database_url), day)


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
    from clearway.store.history import write_rescored

    assert target.database_url is not None
    return write_rescored(store_engine(target.database_url), table, datetime.now(UTC))


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


def rescore_history(
    source: History,
    target: History,
    config: HistoryConfig,
    since: date | None = None,
    until: date | None = None,
    spark: SparkSession | None = None,
) -> RescoreReport:
    """Re-score every filing day of ``source`` within ``since`` and
    ``until`` and write the lanes to ``target``, day by day, on this
    machine or, given a session, on Spark."""
    started = time.perf_counter()
    days = history_days_of(source, since, until)
    if spark is not None:
        from clearway.history.spark import rescore_on_spark

        report = rescore_on_spark(spark, source, target, config, days)
    else:
        report = RescoreReport("local")
        for rows in day_tables(source, days):
            table = rescore_day(rows, config)
            report.days += 1
            report.declarations += write_rescored_day(target, table)
            report.lanes += lane_counts(table)
    report.seconds = time.perf_counter() - started
    return report


def labelled_history_frame(
    source: History,
    config: HistoryConfig,
    since: date | None = None,
    until: date | None = None,
    spark: SparkSession | None = None,
) -> LabelledFrame:
    """The declarations of ``source`` with a recorded outcome as rows to
    learn from, features computed day by day on this machine or on Spark;
    the same rows in the same order either way."""
    days = history_days_of(source, since, until)
    if spark is not None:
        from clearway.history.spark import labelled_on_spark

        return labelled_frame([labelled_on_spark(spark, source, config, days)])
    return labelled_frame([labelled_day(rows, config) for rows in day_tables(source, days)])


def export_history(
    source: History, target: Path, since: date | None = None, until: date | None = None
) -> tuple[int, int]:
    """Copy ``source``'s history (documents and outcomes) to a Parquet
    folder, day by day: what a Spark cluster reads. Returns (days, rows)."""
    days = rows = 0
    for count in write_parquet_days(
        day_tables(source, history_days_of(source, since, until)), target
    ):
        days += 1
        rows += count
    return days, rows
