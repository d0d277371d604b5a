"""The history jobs on Apache Spark: the same replay, run by Spark's Python
workers over Arrow batches, one day (with its context, see
:func:`~clearway.history.rescoring.window_days`) per task.

From Parquet, Spark reads the day folders itself, gives each row to every
day whose context it belongs to and hands each day's group to
:func:`~clearway.history.rescoring.rescore_day` (``applyInArrow``). From the
store, the list of days is spread over the workers and each worker reads
its days' context from the database (every worker must reach it, as it
would for a JDBC read) and writes its results back there. The
driver only plans and counts. On a cluster, clearway (same version) and the
files the configuration names (rules, models, screening list) must be on
every worker, and a Parquet history on storage they all read
(``hdfs://``, ``s3a://``); see docs/history.md.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from clearway.history.rescoring import (
    CONTEXT_AFTER,
    CONTEXT_BEFORE,
    DAY_ROWS,
    LABELLED,
    RESCORED,
    HistoryConfig,
    labelled_day,
    rescore_day,
    window_days,
)
from clearway.history.sources import (
    History,
    HistoryStore,
    RescoreReport,
    lane_counts,
    read_history_day,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["labelled_on_spark", "rescore_on_spark", "spark_session"]


def spark_session(
    master: str | None = None, cores: int | None = None, memory: str = "2g"
) -> SparkSession:
    """A Spark session for the history jobs: ``master`` (a cluster's URL),
    else local mode on ``cores`` cores (all by default). Workers run this
    very Python, so clearway and its models are the driver's."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("clearway-history")
        .master(master or f"local[{cores or '*'}]")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, (cores or os.cpu_count() or 2) * 2)))
        # A re-scored day replaces only its own folder of the output.
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_schema(schema: pa.Schema) -> StructType:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


ArrowMap = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def _window(store: HistoryStore, day: date) -> pa.Table:
    history = History(store=store)
    return pa.concat_tables([read_history_day(history, d) for d in window_days(day)])


def _store_days(store: HistoryStore, config: HistoryConfig, write: bool) -> ArrowMap:
    """A ``mapInArrow`` function: for each day of its input, read the day
    and its context from the store and re-score it; with ``write``, store
    the result and pass on only the counts."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for day in batch.column("day").to_pylist():
                table = rescore_day(_window(store, day), config, day)
                if write:
                    store.write_rescored(table.to_pylist())
                    table = _counts(day, table)
                yield from table.to_batches()

    return run


def _target(rows: pa.Table) -> tuple[date, pa.Table]:
    """A group's day, and its rows as :data:`DAY_ROWS`."""
    day: date = rows.column("target")[0].as_py()
    return day, rows.select(DAY_ROWS.names).cast(DAY_ROWS)


def _rescore_group(config: HistoryConfig) -> Callable[[pa.Table], pa.Table]:
    def run(rows: pa.Table) -> pa.Table:
        day, table = _target(rows)
        return rescore_day(table, config, day)

    return run


def _labelled_group(config: HistoryConfig) -> Callable[[pa.Table], pa.Table]:
    def run(rows: pa.Table) -> pa.Table:
        day, table = _target(rows)
        return labelled_day(table, config, day)

    return run


_COUNTS = pa.schema(
    [pa.field("day", pa.date32()), pa.field("lane", pa.string()), pa.field("n", pa.int64())]
)


def _counts(day: date, table: pa.Table) -> pa.Table:
    counts = lane_counts(table)
    return pa.table(
        {
            "day": pa.array([day] * len(counts), pa.date32()),
            "lane": list(counts),
            "n": pa.array(list(counts.values()), pa.int64()),
        },
        schema=_COUNTS,
    )


def _write_batches(store: HistoryStore) -> ArrowMap:
    """A ``mapInArrow`` function storing re-scored rows (a day's rows are all
    in one partition after grouping by day); it passes on counts."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        tables = [pa.Table.from_batches([batch]) for batch in batches]
        if not tables:
            return
        rows = pa.concat_tables(tables).cast(RESCORED)
        # A day is replaced as a whole: write each once, complete.
        for day in rows.column("day").unique().to_pylist():
            table = rows.filter(pc.equal(rows.column("day"), pa.scalar(day, pa.date32())))
            store.write_rescored(table.to_pylist())
            yield from _counts(day, table).to_batches()

    return run


def _days_frame(spark: SparkSession, days: list[date]) -> DataFrame:
    # One partition per day, so that days spread evenly over the workers.
    frame = spark.createDataFrame([(day,) for day in days], "day date")
    return frame.repartition(max(1, len(days)), "day")


def _day_groups(spark: SparkSession, source: History, days: list[date]) -> DataFrame:
    """The Parquet history's rows, each with every day of ``days`` whose
    context it belongs to (column ``target``), for grouping by that day."""
    from pyspark.sql import functions

    assert source.parquet is not None
    rows = spark.read.parquet(str(source.parquet))
    day = functions.col("day")
    targets = functions.sequence(
        functions.date_sub(day, CONTEXT_AFTER), functions.date_add(day, CONTEXT_BEFORE)
    )
    return rows.withColumn("target", functions.explode(targets)).where(
        functions.col("target").isin(days)
    )


def rescore_on_spark(
    spark: SparkSession,
    source: History,
    target: History,
    config: HistoryConfig,
    days: list[date],
) -> RescoreReport:
    """Re-score ``days`` of ``source`` on Spark and write them to ``target``."""
    from pyspark.sql import functions

    report = RescoreReport("spark")
    if not days:
        return report
    if source.store is not None:
        to_store = target.store is not None
        result = _days_frame(spark, days).mapInArrow(
            _store_days(source.store, config, to_store),
            _spark_schema(_COUNTS if to_store else RESCORED),
        )
        if to_store:
            counts = result.toArrow()
            _add_counts(report, counts)
            return report
    else:
        result = (
            _day_groups(spark, source, days)
            .groupBy("target")
            .applyInArrow(_rescore_group(config), _spark_schema(RESCORED))
        )
        if target.store is not None:
            counts = result.mapInArrow(
                _write_batches(target.store), _spark_schema(_COUNTS)
            ).toArrow()
            _add_counts(report, counts)
            return report
    assert target.parquet is not None
    result.write.mode("overwrite").partitionBy("day").parquet(str(target.parquet))
    # Counted from what was written: counting the result itself would run
    # the whole job a second time.
    written = spark.read.parquet(str(target.parquet)).where(functions.col("day").isin(days))
    _add_counts(
        report, written.groupBy("day", "lane").agg(functions.count("*").alias("n")).toArrow()
    )
    return report


def _add_counts(report: RescoreReport, counts: pa.Table) -> None:
    lanes: Counter[str] = Counter()
    for row in counts.to_pylist():
        lanes[str(row["lane"])] += int(row["n"])
    report.days = len(set(counts.column("day").to_pylist()))
    report.lanes = lanes
    report.declarations = sum(lanes.values())


def labelled_on_spark(
    spark: SparkSession, source: History, config: HistoryConfig, days: list[date]
) -> pa.Table:
    """The labelled rows of ``days`` of ``source``, computed on Spark and
    gathered on the driver."""
    schema = _spark_schema(LABELLED)
    if source.store is not None:
        store = source.store

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for day in batch.column("day").to_pylist():
                    yield from labelled_day(_window(store, day), config, day).to_batches()

        result = _days_frame(spark, days).mapInArrow(run, schema)
    else:
        result = (
            _day_groups(spark, source, days)
            .groupBy("target")
            .applyInArrow(_labelled_group(config), schema)
        )
    table: pa.Table = result.toArrow()
    return table
