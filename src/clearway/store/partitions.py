"""Monthly partitions of the declarations on PostgreSQL.

On PostgreSQL the ``declarations`` table is partitioned by the month of
``received_at`` (migration 0019): a month's filings live in their own table
(``declarations_y2026m11``), so queries over a period read only its months,
old months can be detached and archived whole, and vacuum and index builds
work a month at a time. A ``DEFAULT`` partition catches any filing for which
no month exists yet, so a write never fails for want of one; the months
ahead are created when the store is opened (``upgrade``) and by
``clearway db partitions``, which also moves rows out of the default
partition when their month is created late.

PostgreSQL cannot keep a unique index across partitions unless it includes
the partition key, so the rule "one current version per (filer, ref)" is
kept by the writers instead: each transaction that writes declarations
first takes a transaction-level advisory lock per key (:func:`lock_keys`),
in a fixed order, so two writers of one key take turns. SQLite has no
partitions and keeps its unique indexes (one writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text

__all__ = [
    "DEFAULT_PARTITION",
    "ensure_partitions",
    "is_partitioned",
    "lock_keys",
    "maintain_partitions",
    "month_partition",
    "partitions",
]

DEFAULT_PARTITION = "declarations_default"
MONTHS_AHEAD = 3
_PARTITIONING_LOCK = 0x636C_7061_7274  # "clpart"


def month_partition(month: date) -> str:
    return f"declarations_y{month.year:04d}m{month.month:02d}"


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _bound(month: date) -> str:
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = 'declarations' AND c.relnamespace = current_schema()::regnamespace"
        )
    ).first()
    return found is not None


def partitions(conn: Connection) -> list[tuple[str, int]]:
    """The declarations' partitions, oldest month first (the default last),
    with their row counts as estimated by the planner's statistics."""
    rows = conn.execute(
        text(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'declarations'::regclass ORDER BY c.relname"
        )
    ).all()
    named = [(str(name), int(count)) for name, count in rows]
    return sorted(named, key=lambda row: (row[0] == DEFAULT_PARTITION, row[0]))


def ensure_partitions(
    conn: Connection, first: date | None = None, months_ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Create the monthly partitions missing from ``first``'s month (default:
    this month) to ``months_ahead`` months after this one; rows already in
    the default partition for a new month are moved into it. Returns the
    partitions created. Does nothing where the table is not partitioned."""
    if not is_partitioned(conn):
        return []
    # Processes opening the store at once take turns creating months.
    conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _PARTITIONING_LOCK})
    today = datetime.now(UTC).date().replace(day=1)
    month = (first or today).replace(day=1)
    last = today
    for _ in range(months_ahead):
        last = _next_month(last)
    existing = {name for name, _ in partitions(conn)}
    created: list[str] = []
    while month <= last:
        name = month_partition(month)
        if name not in existing:
            _create_month(conn, month)
            created.append(name)
        month = _next_month(month)
    return created


def _create_month(conn: Connection, month: date) -> None:
    name, lo, hi = month_partition(month), _bound(month), _bound(_next_month(month))
    has_default = conn.execute(
        text("SELECT 1 FROM pg_class WHERE relname = :name"), {"name": DEFAULT_PARTITION}
    ).first()
    stray = (
        has_default
        and conn.execute(
            text(
                f"SELECT 1 FROM {DEFAULT_PARTITION} "
                "WHERE received_at >= :lo AND received_at < :hi LIMIT 1"
            ),
            {"lo": lo, "hi": hi},
        ).first()
    )
    if not stray:
        conn.execute(
            text(
                f"CREATE TABLE {name} PARTITION OF declarations "
                f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
            )
        )
        return
    # The month's rows went to the default partition: take it out, create
    # the month, move them, put it back. Locks the table for the move.
    conn.execute(text(f"ALTER TABLE declarations DETACH PARTITION {DEFAULT_PARTITION}"))
    conn.execute(
        text(f"CREATE TABLE {name} PARTITION OF declarations FOR VALUES FROM ('{lo}') TO ('{hi}')")
    )
    window = "received_at >= :lo AND received_at < :hi"
    conn.execute(
        text(f"INSERT INTO declarations SELECT * FROM {DEFAULT_PARTITION} WHERE {window}"),
        {"lo": lo, "hi": hi},
    )
    conn.execute(text(f"DELETE FROM {DEFAULT_PARTITION} WHERE {window}"), {"lo": lo, "hi": hi})
    conn.execute(text(f"ALTER TABLE declarations ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT"))


def lock_keys(conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
    """On PostgreSQL, take a transaction-level advisory lock per (filer, ref)
    key, in a fixed order so that two writers never wait on each other in a
    cycle; released at commit or rollback. Writers of one key take turns,
    which keeps one current version per key without a unique index."""
    if conn.dialect.name != "postgresql" or not keys:
        return
    named = sorted({f"{filer}\x1f{ref}" for filer, ref in keys})
    conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "
            "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered"
        ),
        {"keys": named},
    )


def maintain_partitions(
    engine: Engine, first: date | None = None, months_ahead: int = MONTHS_AHEAD
) -> tuple[list[str], list[tuple[str, int]]]:
    """``clearway db partitions``: create the missing months (see
    :func:`ensure_partitions`); return those created and every partition
    with its estimated rows (nothing on an unpartitioned store)."""
    with engine.begin() as conn:
        created = ensure_partitions(conn, first, months_ahead)
    with engine.connect() as conn:
        return created, partitions(conn) if is_partitioned(conn) else []
