"""The ledger's rows: :class:`SqlTileStore` keeps the tiled log of
:mod:`clearway.ledger.log` in ``ledger_entries``, ``ledger_tiles`` and
``ledger_checkpoints``, and the functions below open it on a connection or
engine and call the core (hashing, tiles, proofs and verification live
there).

The checkpoint's size is the table's primary key, so two writers cannot both
checkpoint the same tree size; on PostgreSQL an advisory lock also queues
appenders (SQLite's writers are serialised by BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from clearway.ledger import log as tiled
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.ledger.log import LedgerEntry, Proof, VerifyReport
from clearway.ledger.note import Checkpoint, NoteSigner, NoteVerifier
from clearway.ledger.recording import batch_entries
from clearway.ledger.recording import entries as event_entries
from clearway.store.bulk import bulk_insert
from clearway.store.schema import (
    declarations,
    ledger_checkpoints,
    ledger_entries,
    ledger_tiles,
)

__all__ = [
    "LedgerEntry",
    "SqlTileStore",
    "TileReader",
    "append_entries",
    "latest_checkpoint",
    "prove",
    "prove_consistency",
    "record_batch",
    "record_events",
    "verify_log",
]

_LEDGER_LOCK = 0x636C_6C65_6467  # "clledg"


def _bytes(value: Any) -> bytes:
    # A value edited in place (SQLite keeps whatever type it is given) may
    # come back as text or a number: hand over what is there, to be compared.
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


class SqlTileStore:
    """:class:`clearway.ledger.log.TileStore` on one connection, inside the
    transaction its caller holds."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock(self) -> None:
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _LEDGER_LOCK})

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        row = self.conn.execute(
            select(ledger_checkpoints.c.size, ledger_checkpoints.c.root, ledger_checkpoints.c.note)
            .order_by(ledger_checkpoints.c.size.desc())
            .limit(1)
        ).first()
        return (row.size, row.root, row.note) if row else None

    def read_checkpoints(self, after: int, limit: int) -> list[tuple[int, bytes, str]]:
        rows = self.conn.execute(
            select(ledger_checkpoints.c.size, ledger_checkpoints.c.root, ledger_checkpoints.c.note)
            .where(ledger_checkpoints.c.size > after)
            .order_by(ledger_checkpoints.c.size)
            .limit(limit)
        )
        return [(r.size, _bytes(r.root), str(r.note)) for r in rows]

    def tile_levels(self) -> list[int]:
        return list(self.conn.execute(select(ledger_tiles.c.level).distinct()).scalars())

    def read_tile_lengths(self, level: int, after: int, limit: int) -> list[tuple[int, int]]:
        rows = self.conn.execute(
            select(ledger_tiles.c.idx, func.length(ledger_tiles.c.data))
            .where(ledger_tiles.c.level == level, ledger_tiles.c.idx > after)
            .order_by(ledger_tiles.c.idx)
            .limit(limit)
        )
        return [(int(index), int(length or 0)) for index, length in rows]

    def read_tile(self, level: int, index: int) -> bytes:
        data = self.conn.execute(
            select(ledger_tiles.c.data).where(
                ledger_tiles.c.level == level, ledger_tiles.c.idx == index
            )
        ).scalar()
        return _bytes(data or b"")

    def find_entry(self, event_id: str) -> tuple[int, bytes] | None:
        row = self.conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaf).where(
                ledger_entries.c.event_id == event_id
            )
        ).first()
        return None if row is None else (row.idx, row.leaf)

    def read_entries(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        rows = self.conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaf)
            .where(ledger_entries.c.idx > after)
            .order_by(ledger_entries.c.idx)
            .limit(limit)
        ).all()
        return [(r.idx, _bytes(r.leaf)) for r in rows]

    def write_entries(self, first: int, entries: Sequence[LedgerEntry]) -> None:
        rows = [
            {
                "idx": first + k,
                "event_id": entry.event_id,
                "event_type": entry.event_type,
                "declaration_id": entry.declaration_id,
                "leaf": entry.leaf,
            }
            for k, entry in enumerate(entries)
        ]
        bulk_insert(self.conn, ledger_entries, rows)

    def write_tiles(self, tiles: Mapping[tuple[int, int], bytes]) -> None:
        if not tiles:
            return
        rows = [
            {"level": level, "idx": index, "data": data} for (level, index), data in tiles.items()
        ]
        # The rightmost tile of each level grows: replace it in place.
        upsert: Insert
        if self.conn.dialect.name == "postgresql":
            pg = postgresql.insert(ledger_tiles)
            upsert = pg.on_conflict_do_update(
                index_elements=["level", "idx"], set_={"data": pg.excluded.data}
            )
        else:
            lite = sqlite.insert(ledger_tiles)
            upsert = lite.on_conflict_do_update(
                index_elements=["level", "idx"], set_={"data": lite.excluded.data}
            )
        self.conn.execute(upsert, rows)

    def write_checkpoint(self, size: int, root: bytes, note: str, issued_at: datetime) -> None:
        self.conn.execute(
            ledger_checkpoints.insert().values(size=size, root=root, note=note, issued_at=issued_at)
        )


class TileReader(tiled.TileReader):
    """:class:`clearway.ledger.log.TileReader` over a connection's tiles."""

    __slots__ = ()

    def __init__(self, conn: Connection) -> None:
        super().__init__(SqlTileStore(conn))


def latest_checkpoint(conn: Connection) -> tuple[int, bytes, str] | None:
    """(size, root, signed note) of the latest checkpoint; None before the first."""
    return SqlTileStore(conn).latest_checkpoint()


def append_entries(
    conn: Connection,
    entries: Sequence[LedgerEntry],
    signer: NoteSigner,
    when: datetime | None = None,
) -> Checkpoint:
    """Append ``entries`` and sign the new checkpoint, inside the caller's
    transaction. Returns the checkpoint; the indices are size - len(entries)
    onward, in order."""
    return tiled.append(SqlTileStore(conn), entries, signer, when or datetime.now(UTC))


def _subjects(conn: Connection, ids: Collection[int]) -> dict[int, str]:
    return {
        r.id: f"{r.filer_id}/{r.ref}"
        for r in conn.execute(
            select(declarations.c.id, declarations.c.filer_id, declarations.c.ref).where(
                declarations.c.id.in_(ids)
            )
        )
    }


def record_batch(
    conn: Connection,
    keys: LedgerKeys,
    houses: Sequence[dict[str, Any]],
    masters: Sequence[dict[str, Any]],
    assessments: Sequence[dict[str, Any]],
    when: datetime,
    checked: Sequence[dict[str, Any]] = (),
    extra: Sequence[tuple[Event, int | None]] = (),
    documents: Sequence[Mapping[str, Any]] | None = None,
) -> Checkpoint | None:
    """Put a written batch's events on the ledger (same transaction), with
    ``extra`` events (the sequencer's decisions and raises, with the
    declaration row each concerns), under one signed checkpoint;
    ``documents``: the houses' documents, decoded by the caller."""
    entries = batch_entries(
        keys,
        houses,
        masters,
        assessments,
        when,
        checked,
        extra,
        lambda ids: _subjects(conn, ids),
        documents,
    )
    if not entries:
        return None
    return append_entries(conn, entries, keys.signer, when)


def record_events(
    conn: Connection,
    keys: LedgerKeys,
    events: Sequence[Event],
    owners: Sequence[int | None],
    when: datetime,
) -> Checkpoint:
    """Put events of other stages (referrals, decisions) on the ledger, in
    the caller's transaction; ``owners`` are the declaration rows they
    concern."""
    return append_entries(conn, event_entries(events, owners, keys), keys.signer, when)


def prove(engine: Engine, event_id: str) -> Proof:
    """An inclusion proof of an event against the latest checkpoint."""
    with engine.connect() as conn:
        return tiled.prove(SqlTileStore(conn), event_id)


def prove_consistency(engine: Engine, old: int, new: int) -> list[bytes]:
    with engine.connect() as conn:
        return tiled.prove_consistency(SqlTileStore(conn), old, new)


def verify_log(engine: Engine, log: NoteVerifier, chunk: int = 10_000) -> VerifyReport:
    """:func:`clearway.ledger.log.verify` over this database, in one read."""
    with engine.connect() as conn:
        return tiled.verify(SqlTileStore(conn), log, chunk)
