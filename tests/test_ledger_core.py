"""The ledger's core against RFC 9162 (a naive reference written from the
spec's text, and pymerkle as an independent oracle), the tiled log over an
in-memory store, the C2SP signed-note reference vector, cosignatures,
witnesses and selective disclosure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearway.errors import NotFound
from clearway.ledger import (
    Checkpoint,
    CompactRange,
    Disclosure,
    DisclosureBundle,
    Event,
    NoteError,
    NoteSigner,
    NoteVerifier,
    ProofError,
    Witness,
    WitnessRefusal,
    consistency_proof,
    encode_leaf,
    find_split_view,
    inclusion_proof,
    leaf_hash,
    published,
    verify_bundle,
    verify_consistency,
    verify_inclusion,
)
from clearway.ledger import log as tiled
from clearway.ledger.log import LedgerEntry, TileStore
from clearway.ledger.merkle import EMPTY_ROOT, node_hash, reference_root
from clearway.ledger.note import (
    COSIGNATURE_V1,
    add_signature_lines,
    cosign,
    open_note,
    parse_checkpoint,
    sign_note,
    verify_cosignature,
)
from clearway.ledger.witness import decode_add_checkpoint, encode_add_checkpoint

VECTORS = json.loads((Path(__file__).parent / "assets" / "signed_note_vectors.json").read_text())


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"event {i}".encode()) for i in range(n)]


def source(hashes: list[bytes]):
    return lambda level, index: reference_root(hashes[index << level : (index + 1) << level])


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def spec_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) exactly as RFC 9162 §2.1.3.1 writes it."""
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*spec_path(m, d[:k]), reference_root(d[k:])]
    return [*spec_path(m - k, d[k:]), reference_root(d[:k])]


def spec_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) exactly as RFC 9162 §2.1.4.1 writes it."""
    if m == len(d):
        return [] if b else [reference_root(d)]
    k = _split(len(d))
    if m <= k:
        return [*spec_subproof(m, d[:k], b), reference_root(d[k:])]
    return [*spec_subproof(m - k, d[k:], False), reference_root(d[:k])]


def test_empty_tree_and_small_trees() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT
    a, b, c = leaves(3)
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert reference_root([a]) == a
    assert reference_root([a, b]) == node_hash(a, b)
    # Three leaves split 2 + 1; the lone leaf is never duplicated.
    assert reference_root([a, b, c]) == node_hash(node_hash(a, b), c)


def test_roots_match_pymerkle_for_1_to_200_leaves() -> None:
    pymerkle = pytest.importorskip("pymerkle")
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    edge = CompactRange()
    for n in range(1, 201):
        entry = f"event {n}".encode()
        tree.append_entry(entry)
        edge.append(leaf_hash(entry))
        assert edge.root() == tree.get_root(), n


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_inclusion_proofs(size: int, data: st.DataObject) -> None:
    hashes = leaves(size)
    root = reference_root(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = inclusion_proof(index, size, source(hashes))
    assert proof == spec_path(index, hashes)
    verify_inclusion(hashes[index], index, size, proof, root)
    for wrong in (
        lambda: verify_inclusion(hashes[index], index, size, proof, leaf_hash(b"other")),
        lambda: verify_inclusion(leaf_hash(b"other"), index, size, proof, root),
        lambda: (
            verify_inclusion(hashes[index], (index + 1) % size, size, proof, root)
            if size > 1
            else (_ for _ in ()).throw(ProofError("same"))
        ),
        lambda: verify_inclusion(hashes[index], index, size, [*proof, root], root),
        lambda: verify_inclusion(hashes[index], size, size, proof, root),
    ):
        with pytest.raises(ProofError):
            wrong()
    if proof:
        flipped = bytearray(proof[0])
        flipped[0] ^= 1
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, [bytes(flipped), *proof[1:]], root)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_consistency_proofs(new: int, data: st.DataObject) -> None:
    hashes = leaves(new)
    old = data.draw(st.integers(min_value=1, max_value=new))
    proof = consistency_proof(old, new, source(hashes))
    assert proof == spec_subproof(old, hashes, True)
    old_root, new_root = reference_root(hashes[:old]), reference_root(hashes)
    verify_consistency(old, new, proof, old_root, new_root)
    with pytest.raises(ProofError):
        verify_consistency(old, new, proof, leaf_hash(b"x"), new_root)
    with pytest.raises(ProofError):
        verify_consistency(old, new, proof, old_root, leaf_hash(b"x"))
    if proof:
        with pytest.raises(ProofError):
            verify_consistency(old, new, proof[:-1], old_root, new_root)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=600))
def test_compact_range_rebuilt_from_nodes(size: int) -> None:
    hashes = leaves(size)
    assert CompactRange.at(size, source(hashes)).root() == reference_root(hashes)


def test_signed_note_reference_vector() -> None:
    verifier = NoteVerifier.from_vkey(VECTORS["vkey"])
    signer = NoteSigner.from_skey(VECTORS["skey"])
    assert verifier.vkey() == VECTORS["vkey"]
    assert verifier.key_id.hex() == "c74f20a3"
    note = sign_note(VECTORS["text"], signer)
    assert note == VECTORS["text"] + "\n" + VECTORS["signature_line"] + "\n"
    assert open_note(note, verifier) == VECTORS["text"]
    with pytest.raises(NoteError):
        open_note(note.replace("cryptography", "cryptographY"), verifier)
    for broken in (
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc",
    ):
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(broken)


def test_checkpoint_round_trip_and_every_byte_matters() -> None:
    log = NoteSigner.generate("customs.example/log")
    checkpoint = Checkpoint.issue("customs.example/log", 42, hashlib.sha256(b"r").digest(), log)
    assert checkpoint.note.startswith("customs.example/log\n42\n")
    parsed = parse_checkpoint(checkpoint.note, log.verifier)
    assert (parsed.size, parsed.root) == (42, checkpoint.root)
    text_end = len(checkpoint.body)
    for position in range(text_end):
        mutated = bytearray(checkpoint.note.encode())
        mutated[position] ^= 1
        with pytest.raises((NoteError, UnicodeDecodeError)):
            parse_checkpoint(mutated.decode(), log.verifier)


def test_cosignature_v1() -> None:
    log = NoteSigner.generate("customs.example/log")
    witness = NoteSigner.generate("marketplace.example/witness", COSIGNATURE_V1)
    checkpoint = Checkpoint.issue("customs.example/log", 7, leaf_hash(b"r"), log)
    note = add_signature_lines(checkpoint.note, [cosign(checkpoint, witness, 1_763_000_000)])
    assert verify_cosignature(note, witness.verifier) == 1_763_000_000
    assert (
        witness.verifier.key_id
        == hashlib.sha256(b"marketplace.example/witness\n\x04" + witness.verifier.public).digest()[
            :4
        ]
    )
    forged = note.replace("\n7\n", "\n8\n")
    with pytest.raises(NoteError):
        verify_cosignature(forged, witness.verifier)


def grow(signer: NoteSigner, hashes: list[bytes]) -> Checkpoint:
    return Checkpoint.issue(signer.name, len(hashes), reference_root(hashes), signer)


def test_witness_cosigns_consistent_growth_and_refuses_the_rest() -> None:
    log = NoteSigner.generate("customs.example/log")
    w = Witness(NoteSigner.generate("post.example/w", COSIGNATURE_V1), {log.name: log.verifier})
    hashes = leaves(20)
    first, second = grow(log, hashes[:8]), grow(log, hashes)
    w.add_checkpoint(first.note, 0, [], 1)
    line = w.add_checkpoint(second.note, 8, consistency_proof(8, 20, source(hashes)), 2)
    assert line.startswith("\u2014 post.example/w ")
    with pytest.raises(WitnessRefusal) as stale:
        w.add_checkpoint(second.note, 8, [], 3)
    assert stale.value.status == 409
    forked = leaves(25)
    forked[3] = leaf_hash(b"rewritten history")
    third = grow(log, forked)
    with pytest.raises(WitnessRefusal) as bad:
        w.add_checkpoint(third.note, 20, consistency_proof(20, 25, source(forked)), 4)
    assert bad.value.status == 422
    other = NoteSigner.generate("customs.example/log")
    with pytest.raises(WitnessRefusal) as unsigned:
        w.add_checkpoint(grow(other, leaves(30)).note, 20, [], 5)
    assert unsigned.value.status == 403


def test_witness_protocol_edges() -> None:
    log = NoteSigner.generate("customs.example/log")
    w = Witness(NoteSigner.generate("post.example/w", COSIGNATURE_V1), {log.name: log.verifier})
    hashes = leaves(10)
    checkpoint = grow(log, hashes)
    with pytest.raises(WitnessRefusal) as first_with_proof:
        w.add_checkpoint(checkpoint.note, 0, [b"\x00" * 32], 1)
    assert first_with_proof.value.status == 422
    with pytest.raises(WitnessRefusal) as ahead:
        w.add_checkpoint(checkpoint.note, 11, [], 1)
    assert ahead.value.status == 400
    w.add_checkpoint(checkpoint.note, 0, [], 1)
    with pytest.raises(WitnessRefusal) as stale:
        w.add_checkpoint(grow(log, leaves(12)).note, 3, [], 2)
    assert (stale.value.status, stale.value.known_size) == (409, 10)
    unknown = NoteSigner.generate("other.example/log")
    with pytest.raises(WitnessRefusal) as missing:
        w.add_checkpoint(grow(unknown, hashes).note, 0, [], 3)
    assert missing.value.status == 404


@given(
    old=st.integers(min_value=0, max_value=2**63 - 1),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=63),
)
def test_add_checkpoint_requests_round_trip(old: int, proof: list[bytes]) -> None:
    note = "customs.example/log\n5\n" + "A" * 43 + "=\n\n\u2014 customs.example/log AAAA\n"
    assert decode_add_checkpoint(encode_add_checkpoint(old, proof, note)) == (old, proof, note)


@given(body=st.binary(max_size=300))
def test_malformed_add_checkpoint_requests_are_refused_not_crashes(body: bytes) -> None:
    status = None
    try:
        old, proof, _ = decode_add_checkpoint(body)
    except WitnessRefusal as exc:
        status = exc.status
        old, proof = 0, []
    assert status in (None, 400)
    assert old >= 0
    assert all(len(h) == 32 for h in proof)


@pytest.mark.parametrize(
    "body",
    [b"", b"old 1\n", b"old -1\n\nx", b"old 01\n\nx", b"new 1\n\nx", b"old 1\nnot base64\n\nx"],
)
def test_add_checkpoint_request_errors(body: bytes) -> None:
    with pytest.raises(WitnessRefusal) as refused:
        decode_add_checkpoint(body)
    assert refused.value.status == 400


def test_quorum_and_split_view() -> None:
    log = NoteSigner.generate("customs.example/log")
    witnesses = [NoteSigner.generate(f"w{k}.example", COSIGNATURE_V1) for k in range(3)]
    hashes = leaves(10)
    checkpoint = grow(log, hashes)
    two = add_signature_lines(checkpoint.note, [cosign(checkpoint, w, 9) for w in witnesses[:2]])
    verifiers = [w.verifier for w in witnesses]
    assert published(two, log.verifier, verifiers, 2).size == 10
    with pytest.raises(NoteError, match="needs 3"):
        published(two, log.verifier, verifiers, 3)
    fork = list(hashes)
    fork[0] = leaf_hash(b"other")
    evil = grow(log, fork)
    split = find_split_view([checkpoint.note, grow(log, hashes[:5]).note, evil.note], log.verifier)
    assert split is not None
    assert (split.size, split.first, split.second) == (10, checkpoint.note, evil.note)
    assert find_split_view([checkpoint.note, checkpoint.note], log.verifier) is None


def test_disclosure_bundle_reveals_one_field_and_rejects_any_changed_byte() -> None:
    secret = b"s" * 32
    log = NoteSigner.generate("customs.example/log")
    event = Event(
        "declaration.filed:mkt-1/D1:v1",
        "declaration.filed",
        "2026-11-02T10:00:00Z",
        ("mkt-1",),
        "mkt-1/D1",
        {"destination_country": "DE", "consignee": {"name": "Anna"}, "totals": {"value": "12.50"}},
    )
    leaf = encode_leaf(event, secret, 7)
    assert b"Anna" not in leaf
    assert b"mkt-1/D1" not in leaf
    others = [leaf_hash(f"x{i}".encode()) for i in range(6)]
    hashes = [*others[:3], leaf_hash(leaf), *others[3:]]
    checkpoint = grow(log, hashes)
    bundle = DisclosureBundle(
        Disclosure.make(secret, event.event_id, "totals", event.fields["totals"]).text,
        leaf,
        3,
        inclusion_proof(3, len(hashes), source(hashes)),
        checkpoint.note,
    )
    assert verify_bundle(bundle, log.verifier) == ("totals", {"value": "12.50"})
    data = bundle.as_json()
    assert verify_bundle(DisclosureBundle.from_json(data), log.verifier)[0] == "totals"
    encoded = json.dumps(data).encode()
    rejected = 0
    for position in range(len(encoded)):
        mutated = bytearray(encoded)
        mutated[position] = mutated[position] ^ 0x01
        try:
            verify_bundle(DisclosureBundle.from_json(json.loads(mutated)), log.verifier)
        except (NoteError, ValueError, UnicodeDecodeError):
            rejected += 1
            continue
        # A flip that survives must have left the meaning intact (JSON
        # escapes, base64 padding bits): the same field and value.
        assert verify_bundle(DisclosureBundle.from_json(json.loads(mutated)), log.verifier) == (
            "totals",
            {"value": "12.50"},
        )
    assert rejected > 0.95 * len(encoded)
    forged = Disclosure.make(b"t" * 32, event.event_id, "totals", {"value": "1.00"})
    with pytest.raises(NoteError, match="not committed"):
        verify_bundle(
            DisclosureBundle(forged.text, leaf, 3, bundle.proof, checkpoint.note), log.verifier
        )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=5))
def test_extend_matches_append(batches: list[int]) -> None:
    one, many = CompactRange(), CompactRange()
    start = 0
    for count in batches:
        hashes = leaves(start + count)[start:]
        expected = [node for h in hashes for node in one.append(h) if node[0] and node[0] % 8 == 0]
        assert many.extend(hashes) == expected
        assert many.root() == one.root()
        start += count


class MemoryTileStore:
    """:class:`clearway.ledger.log.TileStore` in dicts: the log without a database."""

    def __init__(self) -> None:
        self.entries: dict[int, LedgerEntry] = {}
        self.tiles: dict[tuple[int, int], bytes] = {}
        self.checkpoints: dict[int, tuple[bytes, str]] = {}

    def lock(self) -> None:
        pass

    def latest_checkpoint(self) -> tuple[int, bytes, str] | None:
        if not self.checkpoints:
            return None
        size = max(self.checkpoints)
        return (size, *self.checkpoints[size])

    def read_checkpoints(self, after: int, limit: int) -> list[tuple[int, bytes, str]]:
        return [(s, *self.checkpoints[s]) for s in sorted(self.checkpoints) if s > after][:limit]

    def tile_levels(self) -> list[int]:
        return sorted({level for level, _ in self.tiles})

    def read_tile_lengths(self, level: int, after: int, limit: int) -> list[tuple[int, int]]:
        return sorted(
            (i, len(data)) for (lv, i), data in self.tiles.items() if lv == level and i > after
        )[:limit]

    def read_tile(self, level: int, index: int) -> bytes:
        return self.tiles.get((level, index), b"")

    def find_entry(self, event_id: str) -> tuple[int, bytes] | None:
        found = [(i, e.leaf) for i, e in self.entries.items() if e.event_id == event_id]
        return found[0] if found else None

    def read_entries(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        return [(i, self.entries[i].leaf) for i in sorted(self.entries) if i > after][:limit]

    def write_entries(self, first: int, entries: Sequence[LedgerEntry]) -> None:
        for k, entry in enumerate(entries):
            assert first + k not in self.entries
            self.entries[first + k] = entry

    def write_tiles(self, tiles: Mapping[tuple[int, int], bytes]) -> None:
        self.tiles.update(tiles)

    def write_checkpoint(self, size: int, root: bytes, note: str, issued_at: datetime) -> None:
        assert size not in self.checkpoints, "a second checkpoint of one size"
        self.checkpoints[size] = (root, note)


LOG = NoteSigner.generate("customs.example/tiled-log")


def append_events(store: TileStore, start: int, count: int, prefix: str = "") -> Checkpoint:
    batch = [
        LedgerEntry(f"e{i}", "test.event", f"{prefix}event {i}".encode())
        for i in range(start, start + count)
    ]
    return tiled.append(store, batch, LOG, datetime(2026, 11, 2, tzinfo=UTC))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=6), st.data())
def test_tiled_log_matches_rfc9162_in_memory(batches: list[int], data: st.DataObject) -> None:
    """Appended in random batches, the tiles give the roots and proofs that
    the spec's own recursions give over all the leaf hashes, whether the
    right edge is remembered or read back from the tiles."""
    store = MemoryTileStore()
    # Each example its own leaves: trees of one size differ between examples,
    # as the logs of two databases in one process do.
    prefix = data.draw(st.text(max_size=3), label="leaf prefix")
    hashes: list[bytes] = []
    sizes: list[int] = []
    for count in batches:
        if data.draw(st.booleans(), label="forget the right edge"):
            tiled._EDGES.clear()
        checkpoint = append_events(store, len(hashes), count, prefix)
        hashes += [
            leaf_hash(f"{prefix}event {i}".encode())
            for i in range(len(hashes), len(hashes) + count)
        ]
        assert (checkpoint.size, checkpoint.root) == (len(hashes), reference_root(hashes))
        sizes.append(len(hashes))
    size = len(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = tiled.prove(store, f"e{index}")
    assert (proof.index, proof.size, proof.leaf) == (index, size, f"{prefix}event {index}".encode())
    assert proof.hashes == spec_path(index, hashes)
    verify_inclusion(hashes[index], index, size, proof.hashes, reference_root(hashes))
    for old in (
        data.draw(st.sampled_from(sizes), label="old checkpoint"),
        data.draw(st.integers(min_value=1, max_value=size), label="old size"),
    ):
        consistency = tiled.prove_consistency(store, old, size)
        assert consistency == spec_subproof(old, hashes, True)
        verify_consistency(
            old, size, consistency, reference_root(hashes[:old]), reference_root(hashes)
        )
    chunk = data.draw(st.integers(min_value=1, max_value=1000), label="chunk")
    report = tiled.verify(store, LOG.verifier, chunk)
    assert report.ok, report.problems
    assert (report.size, report.checkpoint_size) == (size, size)


def test_tiled_log_reports_a_changed_tile_and_a_forged_checkpoint() -> None:
    store = MemoryTileStore()
    append_events(store, 0, 300)
    tile = bytearray(store.tiles[(0, 1)])
    tile[5] ^= 1
    store.tiles[(0, 1)] = bytes(tile)
    store.checkpoints[300] = (leaf_hash(b"forged"), store.checkpoints[300][1])
    problems = "\n".join(tiled.verify(store, LOG.verifier).problems)
    assert "event 256 was changed or moved" in problems
    assert "checkpoint at size 300 does not match" in problems
    with pytest.raises(NotFound):
        tiled.prove(store, "e300")


def test_tiled_log_reports_every_tile_level_and_length() -> None:
    """Tiles above level 0 are checked node by node, and every tile must be
    exactly as long as the tree needs: no stray, short, long or missing one."""
    store = MemoryTileStore()
    append_events(store, 0, 600)  # two full level-0 tiles, two level-8 nodes in tile 1/0
    assert len(store.tiles[(1, 0)]) == 2 * 32
    clean = dict(store.tiles)
    tile = bytearray(clean[(1, 0)])
    tile[40] ^= 1
    store.tiles[(1, 0)] = bytes(tile)
    problems = tiled.verify(store, LOG.verifier, 97).problems
    assert problems == ["tile 1/0 holds a wrong hash for tree node 8/1"]
    store.tiles = {**clean, (0, 2): clean[(0, 2)] + b"\x00" * 32}
    problems = tiled.verify(store, LOG.verifier).problems
    assert problems == ["tile 0/2 holds 2848 bytes, the tree needs 2816"]
    store.tiles = {**clean, (2, 0): b"\x00" * 32, (1, 5): b"\x00" * 32}
    problems = tiled.verify(store, LOG.verifier).problems
    assert problems == ["tile 1/5 is not part of the tree", "tile 2/0 is not part of the tree"]
    store.tiles = {k: v for k, v in clean.items() if k != (1, 0)}
    problems = tiled.verify(store, LOG.verifier).problems
    assert problems == [
        "tile 1/0 lacks tree node 8/0",
        "tile 1/0 lacks tree node 8/1",
        "tiles 1/0..0 are missing",
    ]


def test_verify_checks_every_checkpoint_and_refuses_unsigned_events() -> None:
    store = MemoryTileStore()
    append_events(store, 0, 3)
    append_events(store, 3, 4)
    root, note = store.checkpoints[3]
    forged = NoteSigner.generate(LOG.name)
    store.checkpoints[3] = (root, Checkpoint.issue(LOG.name, 3, root, forged).note)
    problems = tiled.verify(store, LOG.verifier).problems
    assert len(problems) == 1
    assert problems[0].startswith("checkpoint at size 3: ")
    store.checkpoints[3] = (root, note)
    del store.checkpoints[7]
    assert tiled.verify(store, LOG.verifier).problems == [
        "events 3..6 are under no signed checkpoint (appended without the log's key)"
    ]
    store.checkpoints.clear()
    assert tiled.verify(store, LOG.verifier).problems == [
        "log holds 7 events but no checkpoint: none of them is signed"
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=4),
    st.sampled_from(["leaf", "tile", "root", "note"]),
    st.data(),
)
def test_every_single_byte_change_is_detected(
    batches: list[int], target: str, data: st.DataObject
) -> None:
    """LEDGER.md's goal: 100% of single-byte mutations of stored leaves,
    tiles, checkpoint roots or signed notes are reported."""
    store = MemoryTileStore()
    size = 0
    for count in batches:
        append_events(store, size, count)
        size += count
    assert tiled.verify(store, LOG.verifier).ok
    if target == "leaf":
        index = data.draw(st.sampled_from(sorted(store.entries)), label="entry")
        old = store.entries[index]
        store.entries[index] = LedgerEntry(
            old.event_id, old.event_type, _flip(old.leaf, data), old.declaration_id
        )
    elif target == "tile":
        key = data.draw(st.sampled_from(sorted(store.tiles)), label="tile")
        store.tiles[key] = _flip(store.tiles[key], data)
    else:
        at = data.draw(st.sampled_from(sorted(store.checkpoints)), label="checkpoint")
        root, note = store.checkpoints[at]
        if target == "root":
            store.checkpoints[at] = (_flip(root, data), note)
        else:
            changed = _flip(note.encode(), data)
            store.checkpoints[at] = (root, changed.decode("utf-8", "replace"))
            if store.checkpoints[at][1] == note:
                return  # the change was not valid UTF-8 text: no such row can be stored
    assert not tiled.verify(store, LOG.verifier, 97).ok


def _flip(value: bytes, data: st.DataObject) -> bytes:
    position = data.draw(st.integers(min_value=0, max_value=len(value) - 1), label="byte")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    changed = bytearray(value)
    changed[position] ^= mask
    return bytes(changed)


def test_a_note_with_text_outside_ascii_is_refused_not_a_crash() -> None:
    checkpoint = Checkpoint.issue(LOG.name, 3, leaf_hash(b"r"), LOG)
    body, signature = checkpoint.note.rsplit(" ", 1)
    with pytest.raises(NoteError, match="signature is not base64"):
        parse_checkpoint(f"{body} \u00e9{signature}", LOG.verifier)
    with pytest.raises(NoteError, match="verifier key material is not base64"):
        NoteVerifier.from_vkey(LOG.verifier.vkey()[:-2] + "\u00e9=")
