"""``clearway decisions ...``: the lanes decided, for analysts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from clearway._internal.csv_cells import safe_writer
from clearway.cli._common import console, parse_day, settings_from_environment

__all__ = ["decisions_app"]

decisions_app = typer.Typer(
    help="Lanes decided on declarations, for analysts.", no_args_is_help=True
)


def _csv_row(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["declaration_id"],
        row["filer_id"],
        row["version"],
        row["lane"],
        row["score"],
        row["selected_by"],
        "; ".join(row["reasons"]),
        row["decided_at"].isoformat(),
    )


@decisions_app.command("export")
def export(
    out: Annotated[Path, typer.Option(dir_okay=False, help="The CSV file to write.")],
    since: Annotated[
        str | None, typer.Option(help="First day decided (YYYY-MM-DD, UTC; default: the first).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Last day decided (YYYY-MM-DD, UTC; default: the last).")
    ] = None,
) -> None:
    """Write the lane of every current declaration version to a CSV file:
    declaration id, filer, version, lane, score, selected by, reasons and
    when it was decided (UTC), in the order decided; with --since/--until,
    those decided on those days. The last line printed is JSON."""
    from clearway.errors import InputError
    from clearway.store import open_engine
    from clearway.store.exports import DECISION_COLUMNS, read_decisions_export

    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if first and last and first > last:
        raise InputError(f"--since must not be after --until. Got {first} and {last}.")
    engine = open_engine(settings_from_environment().database_url)
    # Written beside the target and renamed at the end: a failed export
    # never leaves a CSV that looks complete.
    partial = out.with_name(out.name + ".part")
    rows = 0
    try:
        with partial.open("w", newline="", encoding="utf-8") as stream:
            writer = safe_writer(stream)
            writer.writerow(DECISION_COLUMNS)
            for chunk in read_decisions_export(engine, first, last):
                writer.writerows(_csv_row(row) for row in chunk)
                rows += len(chunk)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    console.print(f"wrote {rows:,} decisions to {out}")
    sys.stdout.write(orjson.dumps({"decisions": rows, "out": str(out)}).decode() + "\n")
