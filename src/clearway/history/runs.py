"""Re-scoring and learning over history, from the store or from Parquet,
on this machine or on Spark: what ``clearway history rescore``, ``clearway
risk train`` and rule backtests call.

Both engines replay filings through the sequencer
(:mod:`clearway.history.rescoring`): this machine replays the whole range
(with its context) once, Spark replays each day with its context; the
result is the same. The store is reached through :class:`HistoryStore`,
which the store implements (:class:`clearway.store.history.StoreHistory`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from clearway.history.parquet import write_parquet_days
from clearway.history.rescoring import (
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    HistoryConfig,
    labelled_frame,
    labelled_rows,
    replay_history,
    rescored_tables,
    shift_day,
)
from clearway.history.sources import (
    History,
    HistoryStore,
    RescoreReport,
    day_tables,
    history_days_of,
    lane_counts,
    read_history_day,
    rescored_of,
    write_rescored_day,
)
from clearway.risk.training import LabelledFrame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "History",
    "HistoryStore",
    "RescoreReport",
    "day_tables",
    "export_history",
    "history_days_of",
    "labelled_history_frame",
    "read_history_day",
    "rescore_history",
    "rescored_of",
]


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
        for table in rescored_tables(_with_context(source, days), config, set(days)):
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
    return labelled_frame(
        [
            labelled_rows(day, replayed)
            for day, replayed in replay_history(_with_context(source, days), config, set(days))
        ]
    )


def _with_context(source: History, days: list[date]) -> Iterator[pa.Table]:
    """The days of ``days`` with the context their results need, in order."""
    if not days:
        return iter(())
    first = shift_day(min(days), -CONTEXT_BEFORE)
    last = shift_day(max(days), CONTEXT_AFTER)
    return day_tables(source, history_days_of(source, first, last))


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
