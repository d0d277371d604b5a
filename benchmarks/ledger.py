"""Ledger benchmark: durable batched append, submission-to-checkpoint
latency, receipt verification, proofs, and `ledger verify` in bounded memory.

    .venv/bin/python benchmarks/ledger.py --leaves 1000000

Leaves are ~300-byte event leaves with 12 salted commitments each (built
once, not timed in the append figure). The store is a fresh SQLite file in
WAL mode with synchronous=FULL, so every batch commit is fsynced.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from sqlalchemy import event  # noqa: E402

from clearway.ledger import (  # noqa: E402
    Event,
    NoteSigner,
    encode_leaf,
    inclusion_proof,
    leaf_hash,
    published,
    verify_inclusion,
)
from clearway.ledger.note import COSIGNATURE_V1, add_signature_lines, cosign  # noqa: E402
from clearway.store import open_engine, writing  # noqa: E402
from clearway.store.ledger import (  # noqa: E402
    LedgerEntry,
    TileReader,
    append_entries,
    latest_checkpoint,
    verify_log,
)

SECRET = b"k" * 32


def leaves(count: int) -> list[bytes]:
    template = {
        "destination_country": "DE",
        "filer": {"id": "mkt-1", "role": "marketplace"},
        "consignee": {"name": "Anna Schmidt", "country": "DE"},
        "items": [{"description": "cotton t-shirt", "hs_code": "610910"}],
        "totals": {"value": "12.50", "currency": "EUR"},
        "incoterm": "DDP",
        "transport": {"mode": "air"},
        "seller": {"name": "Shenzhen Co"},
        "marketplace": {"name": "Shopzilla"},
        "filed_at": "2026-11-02T10:00:00Z",
        "vat_collected": "2.38",
        "duty_paid_at_sale": True,
    }
    out = []
    for i in range(count):
        out.append(
            encode_leaf(
                Event(
                    f"e{i}",
                    "declaration.filed",
                    "2026-11-02T10:00:00Z",
                    ("mkt-1",),
                    f"mkt-1/D{i}",
                    template,
                ),
                SECRET,
            )
        )
    return out


def durable_engine(path: Path) -> Any:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{path}")

    def full_sync(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=FULL")

    event.listen(engine, "connect", full_sync)
    engine.dispose()
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=4096)
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    signer = NoteSigner.generate("customs.example/bench")
    witnesses = [NoteSigner.generate(f"w{k}.example/witness", COSIGNATURE_V1) for k in range(2)]
    results: dict[str, float] = {}

    sample = leaves(min(args.leaves, 200_000))
    started = time.perf_counter()
    leaves(20_000)
    results["commitments_per_s"] = 20_000 / (time.perf_counter() - started)

    engine = durable_engine(out / "ledger.db")
    started = time.perf_counter()
    done = 0
    while done < args.leaves:
        count = min(args.batch, args.leaves - done)
        batch = [
            LedgerEntry(f"e{done + k}", "declaration.filed", sample[(done + k) % len(sample)])
            for k in range(count)
        ]
        with writing(engine).begin() as conn:
            append_entries(conn, batch, signer)
        done += count
    seconds = time.perf_counter() - started
    results["append_per_s"] = done / seconds
    print(
        f"durable append: {done:,} leaves in {seconds:.1f} s = {done / seconds:,.0f}/s "
        f"(batches of {args.batch}, fsync per commit)"
    )

    # Submission to signed checkpoint: events arrive steadily at about half
    # the append rate; the sequencer flushes every 500 ms or 4,096 events.
    rate = results["append_per_s"] / 2
    latencies: list[float] = []
    pending: list[float] = []
    next_flush = time.perf_counter() + 0.5
    end = time.perf_counter() + 10
    k = 0
    while time.perf_counter() < end:
        now = time.perf_counter()
        due = int((now - (end - 10)) * rate) - k
        for _ in range(max(0, due)):
            pending.append(time.perf_counter())
            k += 1
        if pending and (len(pending) >= args.batch or now >= next_flush):
            batch = [
                LedgerEntry(f"l{k}-{i}", "declaration.filed", sample[i % len(sample)])
                for i in range(len(pending))
            ]
            with writing(engine).begin() as conn:
                append_entries(conn, batch, signer)
            committed = time.perf_counter()
            latencies.extend(committed - t for t in pending)
            pending = []
            next_flush = committed + 0.5
        else:
            time.sleep(0.001)
    latencies.sort()
    results["checkpoint_p50_s"] = latencies[len(latencies) // 2]
    results["checkpoint_p99_s"] = latencies[int(len(latencies) * 0.99)]
    print(
        f"submission to signed checkpoint at {rate:,.0f} events/s: "
        f"p50 {results['checkpoint_p50_s']:.3f} s, p99 {results['checkpoint_p99_s']:.3f} s"
    )

    with engine.connect() as conn:
        size, root, note = latest_checkpoint(conn) or (0, b"", "")
        reader = TileReader(conn)
        picks = [random.randrange(size) for _ in range(20_000)]
        leaf_of = {i: leaf_hash(sample[i % len(sample)]) for i in picks if i < args.leaves}
        started = time.perf_counter()
        proofs = 0
        for index in picks:
            if index not in leaf_of:
                continue
            proof = inclusion_proof(index, size, reader.node)
            verify_inclusion(leaf_of[index], index, size, proof, root)
            proofs += 1
        results["proofs_per_s"] = proofs / (time.perf_counter() - started)
    print(
        f"inclusion proof build (from tiles) + verify: {results['proofs_per_s']:,.0f}/s "
        f"at size {size:,}"
    )

    from clearway.ledger.note import parse_checkpoint

    checkpoint = parse_checkpoint(note, signer.verifier)
    cosigned = add_signature_lines(note, [cosign(checkpoint, w, 1_763_900_000) for w in witnesses])
    index = next(iter(leaf_of))
    proof = inclusion_proof(index, size, TileReader(engine.connect()).node)
    verifiers = [w.verifier for w in witnesses]
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        cp = published(cosigned, signer.verifier, verifiers, 2)
        verify_inclusion(leaf_of[index], index, size, proof, cp.root)
    results["receipt_verify_ms"] = (time.perf_counter() - started) / runs * 1000
    print(
        f"receipt verification (checkpoint + 2 cosignatures + inclusion): "
        f"{results['receipt_verify_ms']:.3f} ms"
    )

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = verify_log(engine, signer.verifier)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert report.ok, report.problems[:5]
    results["verify_per_s"] = report.size / seconds
    results["verify_peak_rss_growth_mb"] = (after - before) / 1024
    print(
        f"ledger verify: {report.size:,} leaves in {seconds:.1f} s "
        f"({report.size / seconds:,.0f}/s); peak memory grew {(after - before) / 1024:.0f} MB"
    )
    print(f"commitments (12 fields per event): {results['commitments_per_s']:,.0f} events/s")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))


if __name__ == "__main__":
    main()
