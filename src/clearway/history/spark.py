"""The history jobs on Apache Spark: the same day functions, run by Spark's
Python workers over Arrow batches.

From Parquet, Spark reads the day folders itself and hands each day to
:func:`~clearway.history.rescoring.rescore_day` (``applyInArrow`` on the
day's group). From the store, the list of days is spread over the workers
and each worker reads its days from the database (every worker must reach
it, as it would for a JDBC read) and writes its results back there. The
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
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from clearway.history.rescoring import (
    LABELLED,
    RESCORED,
    HistoryConfig,
    labelled_day,
    rescore_day,
)
from clearway.history.runs import (
    History,
    RescoreReport,
    lane_counts,
    read_history_day,
    store_engine,
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


def _store_days(url: str, config: HistoryConfig, write: bool) -> ArrowMap:
    """A ``mapInArrow`` function: for each day of its input, read the day
    from the store and re-score it; with ``write``, store the result and
    pass on only the counts."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from clearway.store.history import read_day, write_rescored

        for batch in batches:
            for day in batch.column("day").to_pylist():
                table = rescore_day(read_day(store_engine(url), day), config)
                if write:
                    write_rescored(store_engine(url), table, datetime.now(UTC))
                    table = _counts(day, table)
                yield from table.to_batches()

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


def _write_batches(url: str) -> ArrowMap:
    """A ``mapInArrow`` function storing re-scored rows (a day's rows are all
    in one partition after grouping by day); it passes on counts."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from clearway.store.history import write_rescored

        tables = [pa.Table.from_batches([batch]) for batch in batches]
        if not tables:
            return
        rows = pa.concat_tables(tables).cast(RESCORED)
        # A day is replaced as a whole: write each once, complete.
        for day in rows.column("day").unique().to_pylist():
            table = rows.filter(pc.equal(rows.column("day"), pa.scalar(day, pa.date32())))
            write_rescored(store_engine(url), table, datetime.now(UTC))
            yield from _counts(day, table).to_batches()

    return run


def _days_frame(spark: SparkSession, days: list[date]) -> DataFrame:
    # One partition per day, so that days spread evenly over the workers.
    frame = spark.createDataFrame([(day,) for day in days], "day date")
    return frame.repartition(max(1, len(days)), "day")


def _day_groups(spark: SparkSession, source: History, days: list[date]) -> DataFrame:
    """The Parquet history's rows of ``days``, for grouping by day."""
    from pyspark.sql import functions

    assert source.parquet is not None
    rows = spark.read.parquet(str(source.parquet))
    return rows.where(functions.col("day").isin(days))


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
    if source.database_url is not None:
        to_store = target.database_url is not None
        result = _days_frame(spark, days).mapInArrow(
            _store_days(source.database_url, config, to_store),
            _spark_schema(_COUNTS if to_store else RESCORED),
        )
        if to_store:
            counts = result.toArrow()
            _add_counts(report, counts)
            return report
    else:
        result = (
            _day_groups(spark, source, days)
            .groupBy("day")
            .applyInArrow(lambda rows: rescore_day(rows, config), _spark_schema(RESCORED))
        )
        if target.database_url is not None:
            counts = result.mapInArrow(
                _write_batches(target.database_url), _spark_schema(_COUNTS)
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
    if source.database_url is not None:
        url = source.database_url

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for day in batch.column("day").to_pylist():
                    history = History(database_url=url)
                    yield from labelled_day(read_history_day(history, day), config).to_batches()

        result = _days_frame(spark, days).mapInArrow(run, schema)
    else:
        result = (
            _day_groups(spark, source, days)
            .groupBy("day")
            .applyInArrow(lambda rows: labelled_day(rows, config), schema)
        )
    table: pa.Table = result.toArrow()
    return table
