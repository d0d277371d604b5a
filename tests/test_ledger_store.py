"""The ledger in the store: batched appends into tiles, proofs from tiles,
verification that finds every edit, removal, reordering and truncation, and
the events the pipeline writes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from clearway.clearance import DutyOptions, Stages
from clearway.duty import load_book
from clearway.ledger import (
    CompactRange,
    NoteSigner,
    leaf_hash,
    load_or_create_keys,
    verify_consistency,
    verify_inclusion,
)
from clearway.ledger.merkle import reference_root
from clearway.ledger.note import parse_checkpoint
from clearway.store import writing
from clearway.store.ledger import LedgerEntry, append_entries, prove, prove_consistency, verify_log
from clearway.store.ledger_reading import event_fields
from clearway.store.schema import ledger_checkpoints, ledger_entries, ledger_tiles
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_ledger_core import spec_path, spec_subproof

SIGNER = NoteSigner.generate("customs.example/test-log")


def append(engine: Engine, start: int, count: int) -> None:
    with writing(engine).begin() as conn:
        append_entries(
            conn,
            [
                LedgerEntry(f"e{i}", "test.event", f"leaf {i}".encode())
                for i in range(start, start + count)
            ],
            SIGNER,
        )


def test_batches_across_tile_boundaries_prove_and_verify(engine: Engine) -> None:
    sizes = [1, 2, 253, 300, 1, 700]  # crosses level-0 tiles and completes level-8 nodes
    start = 0
    for count in sizes:
        append(engine, start, count)
        start += count
    edge = CompactRange()
    for i in range(start):
        edge.append(leaf_hash(f"leaf {i}".encode()))
    proof = prove(engine, "e600")
    checkpoint = parse_checkpoint(proof.checkpoint, SIGNER.verifier)
    assert (checkpoint.size, checkpoint.root) == (start, edge.root())
    verify_inclusion(leaf_hash(b"leaf 600"), 600, start, proof.hashes, checkpoint.root)
    old = CompactRange()
    for i in range(256):
        old.append(leaf_hash(f"leaf {i}".encode()))
    verify_consistency(256, start, prove_consistency(engine, 256, start), old.root(), edge.root())
    report = verify_log(engine, SIGNER.verifier, chunk=97)
    assert report.ok, report.problems
    assert report.size == start


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=5), st.data())
def test_stored_tree_matches_rfc9162_in_memory(
    engine: Engine, batches: list[int], data: st.DataObject
) -> None:
    """Appended through the store (SQLite and PostgreSQL) in random batches,
    the stored tree has the roots and proofs of the spec's recursions over
    all the leaf hashes held in memory."""
    with engine.begin() as conn:
        for table in (ledger_entries, ledger_tiles, ledger_checkpoints):
            conn.execute(delete(table))
    hashes: list[bytes] = []
    for count in batches:
        append(engine, len(hashes), count)
        hashes += [leaf_hash(f"leaf {i}".encode()) for i in range(len(hashes), len(hashes) + count)]
        with engine.connect() as conn:
            root = conn.execute(
                select(ledger_checkpoints.c.root).where(ledger_checkpoints.c.size == len(hashes))
            ).scalar_one()
        assert root == reference_root(hashes)
    size = len(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = prove(engine, f"e{index}")
    assert (proof.index, proof.size) == (index, size)
    assert proof.hashes == spec_path(index, hashes)
    old = data.draw(st.integers(min_value=1, max_value=size), label="old size")
    assert prove_consistency(engine, old, size) == spec_subproof(old, hashes, True)
    assert verify_log(engine, SIGNER.verifier, chunk=97).ok


def test_concurrent_writers_append_one_after_another(engine: Engine) -> None:
    """Four writers appending at once (what the API's workers do): none
    fails, every entry is in the log once, the log verifies."""
    import threading

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for round_ in range(15):
                start = 10_000 * n + 20 * round_
                append(engine, start, 1 + (n + round_) % 20)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = sum(1 + (n + r) % 20 for n in range(4) for r in range(15))
    report = verify_log(engine, SIGNER.verifier, chunk=97)
    assert report.ok, report.problems
    assert report.size == expected
    with engine.connect() as conn:
        assert len(set(conn.execute(select(ledger_entries.c.event_id)).scalars())) == expected


def test_same_tree_size_cannot_be_checkpointed_twice(engine: Engine) -> None:
    append(engine, 0, 3)
    with engine.connect() as conn:
        note = conn.execute(select(ledger_checkpoints.c.note)).scalar_one()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            ledger_checkpoints.insert().values(
                size=3, root=b"\x00" * 32, note=note, issued_at=datetime.now(UTC)
            )
        )


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "truncate"])
def test_tampering_is_reported_by_index(engine: Engine, tamper: str) -> None:
    append(engine, 0, 300)
    with engine.begin() as conn:
        if tamper == "edit":
            conn.execute(
                update(ledger_entries)
                .where(ledger_entries.c.idx == 42)
                .values(leaf=b"leaf 42 edited")
            )
        elif tamper == "delete":
            conn.execute(delete(ledger_entries).where(ledger_entries.c.idx == 42))
        elif tamper == "reorder":
            conn.execute(
                update(ledger_entries).where(ledger_entries.c.idx == 42).values(leaf=b"leaf 43")
            )
            conn.execute(
                update(ledger_entries).where(ledger_entries.c.idx == 43).values(leaf=b"leaf 42")
            )
        else:
            conn.execute(delete(ledger_entries).where(ledger_entries.c.idx >= 250))
    report = verify_log(engine, SIGNER.verifier)
    assert not report.ok
    text = "\n".join(report.problems)
    expected = {
        "edit": "event 42 was changed",
        "delete": "events 42..42 are missing",
        "reorder": "event 43 was changed",
        "truncate": "truncated",
    }[tamper]
    assert expected in text
    if tamper == "reorder":
        assert "event 42 was changed" in text


def test_pipeline_writes_events_with_commitments(engine: Engine, tmp_path: Path) -> None:
    keys = load_or_create_keys(tmp_path / "ledger.key", "customs.example/clearway")
    assert oct((tmp_path / "ledger.key").stat().st_mode & 0o777) == "0o600"
    assert load_or_create_keys(tmp_path / "ledger.key", "customs.example/clearway") == keys
    doc = f.declaration()
    amended = f.clone(doc)
    amended["consignee"]["name"] = "Anna Schmidt-Meyer"
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc, f.master([doc["transport"]["tracking_number"]])))
    ingest_files(engine, [path], stages=Stages(duty=DutyOptions(load_book()), ledger=keys))
    path.write_bytes(f.jsonl(amended))
    ingest_files(engine, [path], stages=Stages(duty=DutyOptions(load_book()), ledger=keys))
    with engine.connect() as conn:
        types = [
            t
            for (t,) in conn.execute(
                select(ledger_entries.c.event_type).order_by(ledger_entries.c.idx)
            )
        ]
        leaves = [bytes(leaf) for (leaf,) in conn.execute(select(ledger_entries.c.leaf))]
    assert types == [
        "declaration.filed",
        "master.filed",
        "duty.assessed",
        "declaration.amended",
        "duty.assessed",
    ]
    assert not any(doc["declaration_id"].encode() in leaf or b"Anna" in leaf for leaf in leaves)
    assert verify_log(engine, keys.signer.verifier).ok
    event = f"declaration.amended:mkt-1/{doc['declaration_id']}:v2"
    _, _, fields = event_fields(engine, event)
    assert fields["consignee"]["name"] == "Anna Schmidt-Meyer"
    with pytest.raises(Exception, match="signs log"):
        load_or_create_keys(tmp_path / "ledger.key", "other.example/log")
