"""The ledger in the database: a tiled RFC 9162 tree, appended in batches.

Tiles follow C2SP tlog-tiles: a tile at tile level L holds up to 256 hashes
of tree level 8L; full tiles never change, the rightmost one grows. Any
perfect-subtree hash is read from one tile (hashing up to 128 of its hashes),
so proofs need O(log n) tile reads and never the whole tree. Each batch
(entries, changed tiles, a newly signed checkpoint) is one transaction; the
checkpoint's size is the primary key, so two writers cannot both extend the
same tree (compare-and-swap on the tree head).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.dialects import postgresql, sqlite

from clearway.errors import NotFound
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.ledger.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
)
from clearway.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, parse_checkpoint
from clearway.ledger.recording import assessment_events, check_events, filing_events, leaves
from clearway.store.bulk import bulk_insert
from clearway.store.schema import (
    declarations,
    ledger_checkpoints,
    ledger_entries,
    ledger_tiles,
)

__all__ = [
    "LedgerEntry",
    "TileReader",
    "append_entries",
    "latest_checkpoint",
    "prove",
    "record_events",
    "verify_log",
]

TILE_WIDTH = 256
HASH = 32


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    event_id: str
    event_type: str
    leaf: bytes
    declaration_id: int | None = None


@dataclass(slots=True)
class TileReader:
    """Perfect-subtree hashes read from tiles, with the tiles cached."""

    conn: Connection
    tiles: dict[tuple[int, int], bytearray] = field(default_factory=dict)
    # Hashes of levels between stored ones, computed once: a proof's siblings
    # inside one tile share their subtrees with the next proof's.
    computed: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def tile(self, level: int, index: int) -> bytearray:
        key = (level, index)
        found = self.tiles.get(key)
        if found is None:
            data = self.conn.execute(
                select(ledger_tiles.c.data).where(
                    ledger_tiles.c.level == level, ledger_tiles.c.idx == index
                )
            ).scalar()
            found = bytearray(data or b"")
            self.tiles[key] = found
        return found

    def node(self, level: int, index: int) -> bytes:
        if level % 8 == 0:
            tile = self.tile(level // 8, index // TILE_WIDTH)
            offset = (index % TILE_WIDTH) * HASH
            found = bytes(tile[offset : offset + HASH])
            if len(found) != HASH:
                raise NotFound(
                    f"ledger tile {level // 8}/{index // TILE_WIDTH} lacks node {level}/{index}"
                )
            return found
        key = (level, index)
        cached = self.computed.get(key)
        if cached is None:
            if len(self.computed) > 1_000_000:
                self.computed.clear()
            cached = node_hash(self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1))
            self.computed[key] = cached
        return cached

    def put(self, level: int, index: int, digest: bytes) -> tuple[int, int]:
        """Record the hash of tree node (level, index), a multiple-of-8 level."""
        key = (level // 8, index // TILE_WIDTH)
        tile = self.tile(*key)
        offset = (index % TILE_WIDTH) * HASH
        if len(tile) != offset:
            raise RuntimeError(f"tile {key} has {len(tile)} bytes, expected {offset}")
        tile.extend(digest)
        return key


def latest_checkpoint(conn: Connection) -> tuple[int, bytes, str] | None:
    row = conn.execute(
        select(ledger_checkpoints.c.size, ledger_checkpoints.c.root, ledger_checkpoints.c.note)
        .order_by(ledger_checkpoints.c.size.desc())
        .limit(1)
    ).first()
    return (row.size, row.root, row.note) if row else None


def _upsert_tiles(conn: Connection, changed: dict[tuple[int, int], bytes]) -> None:
    if not changed:
        return
    rows = [
        {"level": level, "idx": index, "data": data} for (level, index), data in changed.items()
    ]
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(ledger_tiles)
        conn.execute(
            pg.on_conflict_do_update(
                index_elements=["level", "idx"], set_={"data": pg.excluded.data}
            ),
            rows,
        )
    else:
        lite = sqlite.insert(ledger_tiles)
        conn.execute(
            lite.on_conflict_do_update(
                index_elements=["level", "idx"], set_={"data": lite.excluded.data}
            ),
            rows,
        )


def _extend_level_zero(reader: TileReader, size: int, hashes: list[bytes]) -> set[tuple[int, int]]:
    """Write new leaf hashes into the level-0 tiles, a tile at a time."""
    changed: set[tuple[int, int]] = set()
    done = 0
    while done < len(hashes):
        index = size + done
        key = (0, index // TILE_WIDTH)
        tile = reader.tile(*key)
        if len(tile) != (index % TILE_WIDTH) * HASH:
            raise RuntimeError(
                f"tile {key} has {len(tile)} bytes, expected {(index % TILE_WIDTH) * HASH}"
            )
        take = min(TILE_WIDTH - index % TILE_WIDTH, len(hashes) - done)
        tile.extend(b"".join(hashes[done : done + take]))
        changed.add(key)
        done += take
    return changed


# The right edge of the trees this process appended last, by (size, root):
# the size and root identify the tree, so an edge found here is the edge of
# the stored tree whoever wrote it; another writer's tree misses and is read
# from the tiles. Saves rebuilding partial right-edge nodes on every append.
_EDGES: dict[tuple[int, bytes], list[bytes]] = {}
_LEDGER_LOCK = 0x636C_6C65_6467  # "clledg"


def _edge(size: int, root: bytes | None, reader: TileReader) -> CompactRange:
    peaks = _EDGES.get((size, root or b""))
    if peaks is not None:
        return CompactRange(size, list(peaks))
    return CompactRange.at(size, reader.node)


def _remember(edge: CompactRange, root: bytes) -> None:
    if len(_EDGES) > 16:
        _EDGES.clear()
    _EDGES[(edge.size, root)] = list(edge.peaks)


def append_entries(
    conn: Connection,
    entries: Sequence[LedgerEntry],
    signer: NoteSigner,
    when: datetime | None = None,
) -> Checkpoint:
    """Append ``entries`` and sign the new checkpoint, inside the caller's
    transaction. Returns the checkpoint; the indices are size - len(entries)
    onward, in order."""
    if conn.dialect.name == "postgresql":
        # One sequencer: writers queue here until the one ahead commits, then
        # read its head. Without it, a writer that read the old head could
        # find the tiles already extended by another (SQLite's writers are
        # serialised by BEGIN IMMEDIATE).
        conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _LEDGER_LOCK})
    head = latest_checkpoint(conn)
    size = head[0] if head else 0
    reader = TileReader(conn)
    edge = _edge(size, head[1] if head else None, reader)
    hashes = [sha256(b"\x00" + entry.leaf).digest() for entry in entries]  # leaf_hash, inlined
    changed = _extend_level_zero(reader, size, hashes)
    for level, node_index, digest in edge.extend(hashes):
        changed.add(reader.put(level, node_index, digest))
    rows = [
        {
            "idx": size + k,
            "event_id": entry.event_id,
            "event_type": entry.event_type,
            "declaration_id": entry.declaration_id,
            "leaf": entry.leaf,
        }
        for k, entry in enumerate(entries)
    ]
    bulk_insert(conn, ledger_entries, rows)
    _upsert_tiles(conn, {key: bytes(reader.tiles[key]) for key in changed})
    checkpoint = Checkpoint.issue(signer.name, edge.size, edge.root(), signer)
    _remember(edge, checkpoint.root)
    conn.execute(
        ledger_checkpoints.insert().values(
            size=checkpoint.size,
            root=checkpoint.root,
            note=checkpoint.note,
            issued_at=when or datetime.now(UTC),
        )
    )
    return checkpoint


def record_batch(
    conn: Connection,
    keys: LedgerKeys,
    houses: Sequence[dict[str, Any]],
    masters: Sequence[dict[str, Any]],
    assessments: Sequence[dict[str, Any]],
    when: datetime,
    checked: Sequence[dict[str, Any]] = (),
    extra: Sequence[tuple[Event, int | None]] = (),
) -> Checkpoint | None:
    """Put a written batch's events on the ledger (same transaction), with
    ``extra`` events (the sequencer's decisions and raises, with the
    declaration row each concerns), under one signed checkpoint."""
    subjects = {row["id"]: f"{row['filer_id']}/{row['ref']}" for row in houses}
    unknown = {row["declaration_id"] for row in [*assessments, *checked]} - set(subjects)
    if unknown:
        subjects.update(
            (r.id, f"{r.filer_id}/{r.ref}")
            for r in conn.execute(
                select(declarations.c.id, declarations.c.filer_id, declarations.c.ref).where(
                    declarations.c.id.in_(unknown)
                )
            )
        )
    events = filing_events("declaration", houses) + filing_events("master", masters)
    events += assessment_events(assessments, subjects)
    events += check_events(checked, subjects, when)
    events += [event for event, _ in extra]
    if not events:
        return None
    owners = (
        [row["id"] for row in houses]
        + [None] * len(masters)
        + [row["declaration_id"] for row in [*assessments, *checked]]
        + [owner for _, owner in extra]
    )
    entries = [
        LedgerEntry(e.event_id, e.type, leaf, owner)
        for e, leaf, owner in zip(events, leaves(events, keys), owners, strict=True)
    ]
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
    entries = [
        LedgerEntry(e.event_id, e.type, leaf, owner)
        for e, leaf, owner in zip(events, leaves(events, keys), owners, strict=True)
    ]
    return append_entries(conn, entries, keys.signer, when)


@dataclass(frozen=True, slots=True)
class Proof:
    index: int
    leaf: bytes
    size: int
    hashes: list[bytes]
    checkpoint: str


def prove(engine: Engine, event_id: str) -> Proof:
    """An inclusion proof of an event against the latest checkpoint."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaf).where(
                ledger_entries.c.event_id == event_id
            )
        ).first()
        if row is None:
            raise NotFound(f"ledger event {event_id!r} not found.")
        head = latest_checkpoint(conn)
        if head is None:  # pragma: no cover - an entry always comes with a checkpoint
            raise NotFound("the ledger has no checkpoint yet.")
        size, _, note = head
        return Proof(
            row.idx, row.leaf, size, inclusion_proof(row.idx, size, TileReader(conn).node), note
        )


def prove_consistency(engine: Engine, old: int, new: int) -> list[bytes]:
    with engine.connect() as conn:
        return consistency_proof(old, new, TileReader(conn).node)


@dataclass(slots=True)
class VerifyReport:
    size: int = 0
    checkpoint_size: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries(conn: Connection, chunk: int) -> Iterator[tuple[int, bytes]]:
    last = -1
    while True:
        rows = conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.leaf)
            .where(ledger_entries.c.idx > last)
            .order_by(ledger_entries.c.idx)
            .limit(chunk)
        ).all()
        if not rows:
            return
        # A leaf edited in place may come back as text: hash what is there.
        yield from (
            (r.idx, r.leaf if isinstance(r.leaf, bytes) else str(r.leaf).encode()) for r in rows
        )
        last = rows[-1].idx


def verify_log(engine: Engine, log: NoteVerifier, chunk: int = 10_000) -> VerifyReport:
    """Recompute the tree from the stored events, in bounded memory, and check
    it against the tiles and every stored checkpoint (the latest's signature
    included). Every changed, removed or reordered event is reported by index."""
    report = VerifyReport()
    with engine.connect() as conn:
        checkpoints = {
            r.size: r.root
            for r in conn.execute(select(ledger_checkpoints.c.size, ledger_checkpoints.c.root))
        }
        head = latest_checkpoint(conn)
        if head is None:
            return report
        report.checkpoint_size = head[0]
        try:
            parse_checkpoint(head[2], log)
        except NoteError as exc:
            report.problems.append(f"latest checkpoint: {exc}")
        reader = TileReader(conn)
        edge = CompactRange()
        for idx, leaf in _entries(conn, chunk):
            if idx != edge.size:
                report.problems.append(
                    f"events {edge.size}..{idx - 1} are missing"
                    if idx > edge.size
                    else f"event {idx} appears twice"
                )
                if idx < edge.size:
                    continue
                while edge.size < idx:  # keep positions aligned with the tiles
                    edge.append(reader.node(0, edge.size))
            digest = leaf_hash(leaf)
            stored = bytes(
                reader.tile(0, idx // TILE_WIDTH)[
                    (idx % TILE_WIDTH) * HASH : (idx % TILE_WIDTH + 1) * HASH
                ]
            )
            if stored != digest:
                report.problems.append(
                    f"event {idx} was changed or moved: its hash is not the one in the tree"
                )
            edge.append(digest)
            if idx % TILE_WIDTH == TILE_WIDTH - 1:
                reader.tiles.pop((0, idx // TILE_WIDTH), None)
            root = checkpoints.get(edge.size)
            if root is not None and root != edge.root():
                report.problems.append(f"checkpoint at size {edge.size} does not match the events")
        report.size = edge.size
    if report.size < report.checkpoint_size:
        report.problems.append(
            f"log holds {report.size} events but the checkpoint says "
            f"{report.checkpoint_size} (truncated)"
        )
    return report
