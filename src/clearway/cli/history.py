"""``clearway history ...``: re-score stored history with today's rules and
model, on this machine or on Spark, and copy it to Parquet for a cluster."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, parse_day, settings_from_environment

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from clearway.history.runs import History

__all__ = ["EngineName", "history_app", "history_of", "session_for"]

history_app = typer.Typer(
    help="Stored history: re-score it, export it for Spark.", no_args_is_help=True
)


class EngineName(StrEnum):
    local = "local"
    spark = "spark"


ENGINE = typer.Option(
    help="local: this process; spark: Apache Spark (pip install 'clearway[spark]')."
)
MASTER = typer.Option(help="Spark master URL (default: local mode on this machine).")
CORES = typer.Option(min=1, help="Cores for Spark's local mode (default: all).")
SINCE = typer.Option(help="First filing day (YYYY-MM-DD; default: the first).")
UNTIL = typer.Option(help="Last filing day (YYYY-MM-DD; default: the last).")
HISTORY = typer.Option(
    "--history",
    help="Read history from this Parquet folder (clearway history export) instead of the store.",
)


def history_of(parquet: Path | None) -> History:
    """The Parquet folder when one is named, else the configured store."""
    from clearway.history.runs import History
    from clearway.store.history import StoreHistory

    if parquet is not None:
        return History(parquet=parquet)
    return History(store=StoreHistory(settings_from_environment().database_url))


def session_for(engine: EngineName, master: str | None, cores: int | None) -> SparkSession | None:
    """A Spark session for ``--engine spark``, with a clear error when
    pyspark is not installed."""
    if engine is EngineName.local:
        return None
    try:
        from clearway.history.spark import spark_session
    except ImportError as exc:
        from clearway.errors import InputError

        raise InputError(
            "--engine spark needs pyspark and pyarrow: pip install 'clearway[spark]'"
        ) from exc
    return spark_session(master, cores)


@history_app.command("rescore")
def rescore(
    engine: Annotated[EngineName, ENGINE] = EngineName.local,
    since: Annotated[str | None, SINCE] = None,
    until: Annotated[str | None, UNTIL] = None,
    history: Annotated[Path | None, HISTORY] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the lanes to this Parquet folder instead of the store."),
    ] = None,
    master: Annotated[str | None, MASTER] = None,
    cores: Annotated[int | None, CORES] = None,
) -> None:
    """Score every filing day again with the rules and model in use (as of
    today), a day as one batch, and write each declaration's score, lane and
    reasons (a re-run day replaces its earlier result). Prints the lanes;
    the last line is the same as JSON."""
    from clearway.history.rescoring import HistoryConfig
    from clearway.history.runs import History, rescore_history
    from clearway.store.history import StoreHistory

    settings = settings_from_environment()
    config = HistoryConfig.from_settings(settings, datetime.now(UTC).date())
    source = history_of(history)
    target = History(parquet=out) if out else History(store=StoreHistory(settings.database_url))
    report = rescore_history(
        source,
        target,
        config,
        parse_day(since, "--since"),
        parse_day(until, "--until"),
        session_for(engine, master, cores),
    )
    table = Table("lane", "declarations")
    for lane, count in sorted(report.lanes.items()):
        table.add_row(lane, f"{count:,}")
    console.print(
        f"re-scored {report.declarations:,} declarations of {report.days} days "
        f"from {source.describe()} into {target.describe()} "
        f"with {report.engine} in {report.seconds:.1f} s"
    )
    console.print(table)
    sys.stdout.write(orjson.dumps(report.as_dict()).decode() + "\n")


@history_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(file_okay=False, help="Parquet folder to write.")],
    since: Annotated[str | None, SINCE] = None,
    until: Annotated[str | None, UNTIL] = None,
) -> None:
    """Copy the stored history (current filings and their outcomes) to a
    Parquet folder, one folder per filing day: what a Spark cluster reads
    with --history."""
    from clearway.history.runs import export_history

    days, rows = export_history(
        history_of(None), out, parse_day(since, "--since"), parse_day(until, "--until")
    )
    console.print(f"wrote {rows:,} declarations of {days} days to {out}")
    sys.stdout.write(orjson.dumps({"days": days, "declarations": rows}).decode() + "\n")
