"""History as Parquet: one folder per filing day (``day=YYYY-MM-DD/``, the
Hive layout Spark reads and writes), so that a day is read without scanning
the others and a re-scored day replaces only its own folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from clearway.errors import InputError

__all__ = ["parquet_days", "read_parquet_day", "write_parquet_days"]

_PREFIX = "day="


def parquet_days(root: Path, since: date | None = None, until: date | None = None) -> list[date]:
    """The days a Parquet history holds, in order, within ``since`` and
    ``until`` (both included)."""
    if not root.is_dir():
        raise InputError(
            f"{root}: no such folder; a Parquet history is a folder of day=... folders"
        )
    days: list[date] = []
    for entry in root.iterdir():
        if not (entry.is_dir() and entry.name.startswith(_PREFIX)):
            continue  # Spark's _SUCCESS marker and the like
        try:
            day = date.fromisoformat(entry.name.removeprefix(_PREFIX))
        except ValueError as exc:
            raise InputError(f"{entry}: not a day folder (day=YYYY-MM-DD)") from exc
        if (since is None or day >= since) and (until is None or day <= until):
            days.append(day)
    return sorted(days)


def read_parquet_day(root: Path, day: date, schema: pa.Schema) -> pa.Table:
    """One day of a Parquet history, in ``schema`` (its ``day`` column
    comes from the folder name)."""
    folder = root / f"{_PREFIX}{day.isoformat()}"
    files = sorted(folder.glob("*.parquet"))
    stored = [name for name in schema.names if name != "day"]
    # ParquetFile, not the dataset API: its background threads can outlive
    # the interpreter and abort the process at exit (apache/arrow#36980).
    parts = [pq.ParquetFile(file).read(columns=stored) for file in files]
    table = pa.concat_tables(parts) if parts else pa.table({name: [] for name in stored})
    table = table.append_column("day", pa.array([day] * table.num_rows, pa.date32()))
    return table.select(schema.names).cast(schema)


def write_parquet_days(tables: Iterable[pa.Table], root: Path) -> Iterator[int]:
    """Write day tables (each of one day) under ``root``, replacing the
    folders of the days written; yields each day's row count."""
    root.mkdir(parents=True, exist_ok=True)
    for table in tables:
        if table.num_rows == 0:
            yield 0
            continue
        days = table.column("day").unique().to_pylist()
        if len(days) != 1:
            raise ValueError(f"a day table must hold one day; got {len(days)}")
        folder = root / f"{_PREFIX}{days[0].isoformat()}"
        # Written aside, then swapped in: a reader never sees half a day.
        fresh = root / f".{folder.name}.{os.getpid()}.new"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        pq.write_table(table.drop_columns(["day"]), fresh / "part-0.parquet")
        stale = root / f".{folder.name}.{os.getpid()}.old"
        if folder.exists():
            folder.rename(stale)
        fresh.rename(folder)
        shutil.rmtree(stale, ignore_errors=True)
        yield table.num_rows
