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
    sql, positional, names, converters = _prepared(conn, table, tuple(rows[0]))
    take = itemgetter(*names)
    params: list[Any] = []
    for row in rows:
        values = list(take(row)) if len(names) > 1 else [row[names[0]]]
        for index, processor in converters:
            values[index] = processor(values[index])
        params.append(tuple(values) if positional else dict(zip(names, values, strict=True)))
    conn.exec_driver_sql(sql, params)


_Prepared = tuple[str, bool, list[str], list[tuple[int, Any]]]
_statements: dict[tuple[str, str, tuple[str, ...]], _Prepared] = {}


def _prepared(conn: Connection, table: Table, keys: tuple[str, ...]) -> _Prepared:
    """The INSERT for these columns compiled once per dialect: compiling
    costs more than writing a small batch."""
    dialect = conn.dialect
    cache_key = (dialect.name, table.name, keys)
    found = _statements.get(cache_key)
    if found is not None:
        return found
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = list(compiled.positiontup or ()) if compiled.positional else list(keys)
    converters = [
        (index, processor)
        for index, name in enumerate(names)
        # Bytes go to both drivers as they are; SQLAlchemy's binary wrapper
        # only costs a call per row.
        if not isinstance(table.c[name].type, LargeBinary)
        and (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    found = (str(compiled), bool(compiled.positional), names, converters)
    _statements[cache_key] = found
    return found


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
