"""Bulk writes shared by every table: one driver-level executemany, and ids
known before insert so child rows go in with their parents."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, LargeBinary, Table, func, insert, select, text

__all__ = ["allocate_ids", "bulk_insert", "row_dict"]


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows with the same keys through one driver-level executemany.

    The statement is compiled by SQLAlchemy for the connection's dialect and
    values pass through the column types' bind processors, as
    ``conn.execute(insert(table), rows)`` would do; what is skipped is its
    per-row parameter bookkeeping, which costs more than SQLite's own work.
    """
    if not rows:
        return
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=keys)
    names = list(compiled.positiontup or ()) if compiled.positional else keys
    dialect = conn.dialect
    converters = [
        (index, processor)
        for index, name in enumerate(names)
        # Bytes go to both drivers as they are; SQLAlchemy's binary wrapper
        # only costs a call per row.
        if not isinstance(table.c[name].type, LargeBinary)
        and (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    take = itemgetter(*names)
    params: list[Any] = []
    for row in rows:
        values = list(take(row)) if len(names) > 1 else [row[names[0]]]
        for index, processor in converters:
            values[index] = processor(values[index])
        params.append(
            tuple(values) if compiled.positional else dict(zip(names, values, strict=True))
        )
    conn.exec_driver_sql(str(compiled), params)


def allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Ids for ``count`` new rows, known before the insert so that child rows
    (items, house links) go in with one executemany. INSERT ... RETURNING
    would do it row by row on SQLite to keep the order."""
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"table": table.name, "count": count},
            ).scalars()
        )
    # SQLite: the transaction began IMMEDIATE, so no other writer can take
    # these ids before commit.
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one() + 1
    return list(range(start, start + count))


def row_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict: SQLAlchemy's keys are ``str`` subclasses
    that JSON encoders such as orjson refuse."""
    return {str(key): value for key, value in row._mapping.items()}
