"""The log over tiles: batched appends, proofs and verification, with storage
behind :class:`TileStore`.

Tiles follow C2SP tlog-tiles: a tile at tile level L holds up to 256 hashes
of tree level 8L; full tiles never change, the rightmost one grows. Any
perfect-subtree hash is read from one tile (hashing up to 128 of its hashes),
so proofs need O(log n) tile reads and never the whole tree. Each batch
(entries, changed tiles, a newly signed checkpoint) is written through one
:class:`TileStore`, i.e. in one transaction of the caller's; the store
refuses a second checkpoint of one size, so two writers cannot both extend
the same tree (compare-and-swap on the tree head).

The store holds rows of plain bytes; everything computed from them (leaf
hashes, tile contents, the tree head, proofs, verification) is here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from hashlib import sha256
from typing import Any, Protocol, TypeVar

from clearway.errors import NotFound
from clearway.ledger.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
)
from clearway.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier, parse_checkpoint

__all__ = [
    "HASH",
    "TILE_WIDTH",
    "LedgerEntry",
    "Proof",
    "TileReader",
    "TileStore",
    "VerifyReport",
    "append",
    "prove",
    "prove_consistency",
    "verify",
]

TILE_WIDTH = 256
HASH = 32
_Row = TypeVar("_Row", bound=tuple[Any, ...])


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One event to append: its id and type (kept beside the leaf for
    lookups), the leaf bytes, and the declaration row it concerns."""

    event_id: str
    event_type: str
    leaf: bytes
    declaration_id: int | None = None


class TileStore(Protocol):
    """What the log needs of its storage, all inside one transaction that the
    caller holds (the SQL one is :class:`clearway.store.ledger.SqlTileStore`).
    Tiles are keyed by (tile level, tile index); hashes, leaves and notes go
    in and come out as stored, never interpreted."""

    def lock(self) -> None:
        """Make every other appender wait until this transaction ends, so
        that one reading the head after it sees this append's tiles."""

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        """(size, root, signed note) of the largest checkpoint; None before the first."""

    def read_checkpoints(self, after: int, limit: int) -> Sequence[tuple[int, bytes, str]]:
        """Up to ``limit`` stored (size, root, signed note) with size above
        ``after``, by size."""

    def tile_levels(self) -> Sequence[int]:
        """Every tile level that has a stored tile."""

    def read_tile_lengths(self, level: int, after: int, limit: int) -> Sequence[tuple[int, int]]:
        """Up to ``limit`` (tile index, bytes stored) of tile level ``level``
        with index above ``after``, by index."""

    def read_tile(self, level: int, index: int) -> bytes:
        """The stored tile; empty when there is none."""

    def find_entry(self, event_id: str) -> tuple[int, bytes] | None:
        """(index, leaf) of the entry of ``event_id``; None when not stored."""

    def read_entries(self, after: int, limit: int) -> Sequence[tuple[int, bytes]]:
        """Up to ``limit`` stored (index, leaf) with index above ``after``, by index."""

    def write_entries(self, first: int, entries: Sequence[LedgerEntry]) -> None:
        """Insert ``entries`` at indices ``first`` onward."""

    def write_tiles(self, tiles: Mapping[tuple[int, int], bytes]) -> None:
        """Insert or replace each tile."""

    def write_checkpoint(self, size: int, root: bytes, note: str, issued_at: datetime) -> None:
        """Insert a checkpoint; fail when one of ``size`` is stored already."""


@dataclass(slots=True)
class TileReader:
    """Perfect-subtree hashes read from tiles, with the tiles cached."""

    store: TileStore
    tiles: dict[tuple[int, int], bytearray] = field(default_factory=dict)
    # Hashes of levels between stored ones, computed once: a proof's siblings
    # inside one tile share their subtrees with the next proof's.
    computed: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def tile(self, level: int, index: int) -> bytearray:
        key = (level, index)
        found = self.tiles.get(key)
        if found is None:
            found = bytearray(self.store.read_tile(level, index))
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


def _edge(size: int, root: bytes | None, reader: TileReader) -> CompactRange:
    peaks = _EDGES.get((size, root or b""))
    if peaks is not None:
        return CompactRange(size, list(peaks))
    return CompactRange.at(size, reader.node)


def _remember(edge: CompactRange, root: bytes) -> None:
    if len(_EDGES) > 16:
        _EDGES.clear()
    _EDGES[(edge.size, root)] = list(edge.peaks)


def append(
    store: TileStore, entries: Sequence[LedgerEntry], signer: NoteSigner, when: datetime
) -> Checkpoint:
    """Append ``entries`` and sign the new checkpoint, issued at ``when``,
    through ``store`` (the caller's transaction). Returns the checkpoint; the
    indices are size - len(entries) onward, in order."""
    # One sequencer: writers queue here until the one ahead commits, then
    # read its head. Without it, a writer that read the old head could find
    # the tiles already extended by another.
    store.lock()
    head = store.latest_checkpoint()
    size = head[0] if head else 0
    reader = TileReader(store)
    edge = _edge(size, head[1] if head else None, reader)
    hashes = [sha256(b"\x00" + entry.leaf).digest() for entry in entries]  # leaf_hash, inlined
    changed = _extend_level_zero(reader, size, hashes)
    for level, node_index, digest in edge.extend(hashes):
        changed.add(reader.put(level, node_index, digest))
    store.write_entries(size, entries)
    store.write_tiles({key: bytes(reader.tiles[key]) for key in changed})
    checkpoint = Checkpoint.issue(signer.name, edge.size, edge.root(), signer)
    _remember(edge, checkpoint.root)
    # Last, so that a writer that lost the race for this size fails here,
    # after doing no harm: its whole transaction is rolled back.
    store.write_checkpoint(checkpoint.size, checkpoint.root, checkpoint.note, when)
    return checkpoint


@dataclass(frozen=True, slots=True)
class Proof:
    index: int
    leaf: bytes
    size: int
    hashes: list[bytes]
    checkpoint: str


def prove(store: TileStore, event_id: str) -> Proof:
    """An inclusion proof of an event against the latest checkpoint."""
    found = store.find_entry(event_id)
    if found is None:
        raise NotFound(f"ledger event {event_id!r} not found.")
    index, leaf = found
    head = store.latest_checkpoint()
    if head is None:  # pragma: no cover - an entry always comes with a checkpoint
        raise NotFound("the ledger has no checkpoint yet.")
    size, _, note = head
    return Proof(index, leaf, size, inclusion_proof(index, size, TileReader(store).node), note)


def prove_consistency(store: TileStore, old: int, new: int) -> list[bytes]:
    """A consistency proof from tree size ``old`` to ``new``, read from tiles."""
    return consistency_proof(old, new, TileReader(store).node)


@dataclass(slots=True)
class VerifyReport:
    size: int = 0
    checkpoint_size: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _paged(
    read: Callable[[int, int], Sequence[_Row]], chunk: int, last: int = -1
) -> Iterator[_Row]:
    """Every row of a table with a key above ``last`` (the first value of a
    row), read ``chunk`` rows at a time: memory stays bounded however long
    the log."""
    while True:
        rows = read(last, chunk)
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _canonical_signatures(note: str) -> bool:
    """Whether every signature line's base64 is the one encoding of its bytes:
    decoders ignore a last character's unused bits, so without this a stored
    note could change and still verify."""
    for line in note.split("\n\n", 1)[-1].splitlines():
        blob = line.rsplit(" ", 1)[-1]
        try:
            if base64.b64encode(base64.b64decode(blob, validate=True)).decode() != blob:
                return False
        except ValueError:  # binascii.Error, or a character outside ASCII
            return False
    return True


@dataclass(slots=True)
class _Checkpoints:
    """The stored checkpoints, streamed by size beside the recomputed tree.
    Each one's note must verify under the log's key, name the row's size and
    root, and, once the tree reaches its size, hold the recomputed root."""

    rows: Iterator[tuple[int, bytes, str]]
    log: NoteVerifier
    report: VerifyReport
    pending: tuple[int, bytes, bytes | None] | None = None  # size, root column, signed root

    def advance(self) -> None:
        for size, root, note in self.rows:
            self.report.checkpoints += 1
            self.report.checkpoint_size = size
            signed: bytes | None = None
            try:
                checkpoint = parse_checkpoint(note, self.log)
            except NoteError as exc:
                self.report.problems.append(f"checkpoint at size {size}: {exc}")
            else:
                signed = checkpoint.root
                if not _canonical_signatures(note):
                    self.report.problems.append(
                        f"checkpoint at size {size}: a signature line is not canonical base64"
                    )
                if checkpoint.size != size:
                    self.report.problems.append(
                        f"checkpoint at size {size}: its signed note is of size {checkpoint.size}"
                    )
                if checkpoint.root != bytes(root):
                    self.report.problems.append(
                        f"checkpoint at size {size}: its root column is not the signed root"
                    )
            self.pending = (size, bytes(root), signed)
            return
        self.pending = None

    def reached(self, size: int, root: bytes) -> None:
        """The recomputed tree now has ``size`` events and ``root``."""
        while self.pending is not None and self.pending[0] <= size:
            at, column, signed = self.pending
            if at == size and (column != root or signed not in (None, root)):
                self.report.problems.append(f"checkpoint at size {at} does not match the events")
            self.advance()


def _check_node(reader: TileReader, level: int, index: int, digest: bytes) -> str | None:
    """Compare a recomputed perfect-subtree hash with the one in its tile."""
    try:
        stored = reader.node(level, index)
    except NotFound:
        return f"tile {level // 8}/{index // TILE_WIDTH} lacks tree node {level}/{index}"
    if stored != digest:
        return (
            f"tile {level // 8}/{index // TILE_WIDTH} holds a wrong hash for tree node "
            f"{level}/{index}"
        )
    if index % TILE_WIDTH == TILE_WIDTH - 1:
        # A tile is complete once its last node is checked: drop it to bound memory.
        reader.tiles.pop((level // 8, index // TILE_WIDTH), None)
    return None


def _check_tile_lengths(store: TileStore, size: int, chunk: int, report: VerifyReport) -> None:
    """Every tile a tree of ``size`` leaves has, of exactly its length, and no
    other: the contents were compared node by node while streaming."""
    levels = set(store.tile_levels())
    level = 0
    while size >> (8 * level):
        levels.add(level)
        level += 1
    for level in sorted(levels):
        nodes = size >> (8 * level) if level >= 0 else 0  # a negative level is forged
        expected = -(-nodes // TILE_WIDTH)
        seen = 0
        for index, length in _paged(
            partial(store.read_tile_lengths, level),
            chunk,
            -(2**63),
        ):
            if index >= expected or index < 0:
                report.problems.append(f"tile {level}/{index} is not part of the tree")
                continue
            if index > seen:
                report.problems.append(f"tiles {level}/{seen}..{index - 1} are missing")
            seen = index + 1
            want = min(TILE_WIDTH, nodes - index * TILE_WIDTH) * HASH
            if length != want:
                report.problems.append(
                    f"tile {level}/{index} holds {length} bytes, the tree needs {want}"
                )
        if seen < expected:
            report.problems.append(f"tiles {level}/{seen}..{expected - 1} are missing")


def verify(store: TileStore, log: NoteVerifier, chunk: int = 10_000) -> VerifyReport:
    """Recompute the tree from the stored events, in bounded memory, and check
    it against every tile and every stored checkpoint: each checkpoint's
    signature, the size and root its signed note holds, and that root against
    the tree recomputed to that size. Every changed, removed, reordered or
    unsigned event is reported by index.

    What this proves, and what it cannot (a consistent earlier prefix with
    its own checkpoints), is in docs/security.md."""
    report = VerifyReport()
    head = store.latest_checkpoint()
    signed_size = head[0] if head else 0
    checkpoints = _Checkpoints(_paged(store.read_checkpoints, chunk), log, report)
    checkpoints.advance()
    reader = TileReader(store)
    edge = CompactRange()

    def add(digest: bytes) -> None:
        index = edge.size
        for level, node_index, node in edge.extend([digest]):
            problem = _check_node(reader, level, node_index, node)
            if problem:
                report.problems.append(problem)
        if index % TILE_WIDTH == TILE_WIDTH - 1:
            # A level-0 tile is read once, in order: drop it to bound memory.
            reader.tiles.pop((0, index // TILE_WIDTH), None)
        pending = checkpoints.pending
        if pending is not None and pending[0] <= edge.size:
            # The root only where a checkpoint is: O(log n) hashes, not per event.
            checkpoints.reached(edge.size, edge.root())

    for idx, leaf in _paged(store.read_entries, chunk):
        if idx > edge.size and idx >= signed_size:
            # Not aligned: a forged index may be far past any real tree.
            report.problems.append(f"event {idx} lies past the signed tree of {signed_size}")
            continue
        if idx != edge.size:
            report.problems.append(
                f"events {edge.size}..{idx - 1} are missing"
                if idx > edge.size
                else f"event {idx} appears twice"
            )
            if idx < edge.size:
                continue
            while edge.size < idx:  # keep positions aligned with the tiles
                try:
                    add(reader.node(0, edge.size))
                except NotFound:
                    add(sha256(b"").digest())  # a missing tile is reported below
        digest = leaf_hash(leaf)
        tile = reader.tile(0, idx // TILE_WIDTH)
        if bytes(tile[(idx % TILE_WIDTH) * HASH : (idx % TILE_WIDTH + 1) * HASH]) != digest:
            report.problems.append(
                f"event {idx} was changed or moved: its hash is not the one in the tree"
            )
        add(digest)
    report.size = edge.size
    while checkpoints.pending is not None:  # checkpoints of sizes past the events
        checkpoints.advance()
    if report.size and not report.checkpoints:
        report.problems.append(
            f"log holds {report.size} events but no checkpoint: none of them is signed"
        )
    elif report.size < report.checkpoint_size:
        report.problems.append(
            f"log holds {report.size} events but the checkpoint says "
            f"{report.checkpoint_size} (truncated)"
        )
    elif report.size > report.checkpoint_size:
        report.problems.append(
            f"events {report.checkpoint_size}..{report.size - 1} are under no signed "
            "checkpoint (appended without the log's key)"
        )
    _check_tile_lengths(store, report.size, chunk, report)
    return report
