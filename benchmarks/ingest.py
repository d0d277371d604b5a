"""Intake benchmark: clearway's batched pipeline against a row-at-a-time reference.

    .venv/bin/python benchmarks/ingest.py --declarations 1000000

Simulated traffic (cached in benchmarks/out/) is parsed, validated and
stored into a fresh SQLite file (a) by ``clearway.clearance`` (the one write path)
with worker processes and batched transactions, and (b) by a straightforward
reference: ``json.loads``, ``Declaration.model_validate``, one INSERT and one
commit per declaration, as a service acknowledging each filing would do. The
reference runs on the first ``--reference`` declarations (it is slow) and
reports its rate, twice: with Python's sqlite3 defaults (rollback journal,
synchronous=FULL: an fsync per commit) and with the settings clearway uses
(WAL, synchronous=NORMAL). The ratio is given against both.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from clearway.clearance import DutyOptions, Stages  # noqa: E402
from clearway.declarations import Declaration, MasterFiling, validate_record  # noqa: E402
from clearway.duty import load_book  # noqa: E402
from clearway.ledger import load_or_create_keys  # noqa: E402
from clearway.settings import Settings, default_workers  # noqa: E402
from clearway.store import open_engine  # noqa: E402
from clearway.wiring import ingest_files, stages_from_settings  # noqa: E402
from traffic import simulated  # noqa: E402

SDN = HERE.parents[1] / "shared" / "data" / "sanctions" / "sdn.csv"


def traffic(n: int) -> Path:
    return simulated(n, seed=42, prefix="traffic")


def clearway_path(
    path: Path, db: Path, workers: int, batch: int, stages: bool, every: bool = False
) -> tuple[int, float]:
    engine = open_engine(f"sqlite:///{db}")
    run = Stages()
    if every:
        # What `clearway ingest` runs: every stage, HS suggestions and
        # lanes included, with the shared SDN list as the screening list.
        settings = Settings(
            database_url=f"sqlite:///{db}",
            ledger_key_file=str(db.with_suffix(".key")),
            screening_sdn_file=str(SDN) if SDN.is_file() else None,
            classifier_model_file=str(db.with_suffix(".none.npz")),
            risk_model_file=str(db.with_suffix(".none.json")),
        )
        run = stages_from_settings(settings, engine)
    elif stages:
        run = Stages(
            duty=DutyOptions(load_book()),
            ledger=load_or_create_keys(db.with_suffix(".key"), "bench.example/log"),
            screening_list=str(SDN) if SDN.is_file() else None,
        )
    started = time.perf_counter()
    report = ingest_files(engine, [path], workers=workers, batch_size=batch, stages=run)
    elapsed = time.perf_counter() - started
    assert report.rejected == 0, report.first_rejections[:3]
    return report.accepted, elapsed


# What --stage-cpu times: (module or class, attribute, stage). Each wrapper
# counts its own CPU less that of the timed calls inside it, so the stages
# add up to the run's CPU; "other" is the rest (file reading, the tick's
# transaction, queue bookkeeping).
_TIMED = (
    ("clearway.clearance.service", "prepare_batch", "decode + validate"),
    ("clearway.clearance.stages", "check_parties", "screening + routing"),
    ("clearway.clearance.stages", "duty_input", "duty"),
    ("clearway.clearance.stages", "assess", "duty"),
    ("clearway.clearance.stages", "check_houses", "HS suggestions"),
    ("clearway.clearance.stages", "risk_frame", "risk features"),
    ("clearway.classification.loading", "builtin_classifier", "one-off: classifier fit"),
    ("clearway.parties.checks", "index_of", "one-off: screening index"),
    ("clearway.parties.checks", "read_ofac_csv", "one-off: screening list read"),
    ("clearway.clearance.sequencer:Sequencer", "_reload", "sequencer: reload state"),
    ("clearway.clearance.sequencer:Sequencer", "_decide", "sequencer: decide"),
    ("clearway.store.clearance", "plan_filings", "store: plan versions"),
    ("clearway.store.filings", "_insert_versions", "store: bulk inserts"),
    ("clearway.store.filings", "bulk_insert", "store: bulk inserts"),
    ("clearway.store.filings", "write_assessments", "store: bulk inserts"),
    ("clearway.store.filings", "write_party_checks", "store: bulk inserts"),
    ("clearway.store.filings", "write_item_classifications", "store: bulk inserts"),
    ("clearway.store.filings", "carriers_for", "store: rollup"),
    ("clearway.store.filings", "roll_up_batch", "store: rollup"),
    ("clearway.store.filings", "check_catalogue", "store: catalogue check"),
    ("clearway.store.filings", "resolve_batch", "store: party resolution"),
    ("clearway.store.ledger", "batch_entries", "ledger: leaves"),
    ("clearway.store.ledger", "append_entries", "ledger: tree + checkpoint"),
)


def stage_cpu(path: Path, db: Path, batch: int) -> tuple[int, float, float, dict[str, float]]:
    """Every stage in this one process (no workers), timing each stage's CPU."""
    spent: dict[str, float] = {}
    inner = [0.0]

    def timed(function: Any, label: str) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outer, inner[0] = inner[0], 0.0
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                total = time.process_time() - started
                spent[label] = spent.get(label, 0.0) + total - inner[0]
                inner[0] = outer + total

        return wrapper

    undo = []
    for where, name, label in _TIMED:
        module, _, cls = where.partition(":")
        owner = importlib.import_module(module)
        if cls:
            owner = getattr(owner, cls)
        original = owner.__dict__[name] if cls else getattr(owner, name)
        setattr(owner, name, timed(original, label))
        undo.append((owner, name, original))
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        filings, _ = clearway_path(path, db, 0, batch, False, every=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)
    spent["other"] = cpu - sum(spent.values())
    return filings, cpu, wall, spent


def reference_path(path: Path, db: Path, limit: int, *, wal: bool) -> tuple[int, float]:
    conn = sqlite3.connect(db, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE declarations (id INTEGER PRIMARY KEY, filer_id TEXT, ref TEXT, "
        "destination_country TEXT, total_value REAL, document TEXT, UNIQUE (filer_id, ref))"
    )
    done = 0
    started = time.perf_counter()
    with path.open("rb") as stream:
        for line in stream:
            data = json.loads(line)
            if data.get("kind") == "master":
                MasterFiling.model_validate(data)
                continue
            decl = Declaration.model_validate(data)
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO declarations (filer_id, ref, destination_country, total_value, "
                "document) VALUES (?, ?, ?, ?, ?)",
                (
                    decl.filer.id,
                    decl.declaration_id,
                    decl.destination_country,
                    float(decl.totals.value),
                    decl.model_dump_json(),
                ),
            )
            conn.execute("COMMIT")
            done += 1
            if done >= limit:
                break
    return done, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument(
        "--reference", type=int, default=50_000, help="declarations for the row-at-a-time reference"
    )
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also assess duty, screen parties and write ledger events",
    )
    parser.add_argument(
        "--all-stages",
        action="store_true",
        help="every stage `clearway ingest` runs: duty, screening, HS suggestions, lanes, ledger",
    )
    parser.add_argument(
        "--stage-cpu",
        type=int,
        default=0,
        metavar="N",
        help="also ingest N simulated filings with every stage in this one process "
        "and print the CPU per declaration of each stage",
    )
    args = parser.parse_args()

    path = traffic(args.declarations)
    assert isinstance(validate_record(path.open("rb").readline()), Declaration)
    size = path.stat().st_size
    work = HERE / "out"
    for name in ("clearway.db", "reference.db"):
        for suffix in ("", "-wal", "-shm"):
            (work / f"{name}{suffix}").unlink(missing_ok=True)

    (work / "clearway.key").unlink(missing_ok=True)
    filings, seconds = clearway_path(
        path, work / "clearway.db", args.workers, args.batch, args.stages, args.all_stages
    )
    rate = filings / seconds
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    references = {}
    for mode, wal in (("sqlite3 defaults", False), ("WAL + synchronous=NORMAL", True)):
        for suffix in ("", "-wal", "-shm"):
            (work / f"reference.db{suffix}").unlink(missing_ok=True)
        count, ref_seconds = reference_path(path, work / "reference.db", args.reference, wal=wal)
        references[mode] = (count, ref_seconds, count / ref_seconds)

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"input: {path.name}, {size / 1e9:.2f} GB, {filings:,} filings")
    stages = " + duty + screening + ledger" if args.stages else ""
    stages = " + every stage" if args.all_stages else stages
    print(
        f"clearway pipeline{stages} ({args.workers} workers, batch {args.batch}): "
        f"{filings:,} in {seconds:.1f} s = {rate:,.0f} declarations/s"
    )
    print(f"  peak memory: main {peak_self:.0f} MB, largest worker {peak_children:.0f} MB")
    summary: dict[str, float] = {"clearway_per_s": round(rate)}
    for mode, (count, ref_seconds, ref_rate) in references.items():
        print(
            f"row-at-a-time reference, {mode}: {count:,} in {ref_seconds:.1f} s = "
            f"{ref_rate:,.0f} declarations/s; clearway is {rate / ref_rate:.1f}x"
        )
        key = "defaults" if "defaults" in mode else "wal"
        summary[f"reference_{key}_per_s"] = round(ref_rate)
        summary[f"ratio_{key}"] = round(rate / ref_rate, 1)
    if args.stage_cpu:
        for suffix in ("", "-wal", "-shm", ".key"):
            (work / f"stages.db{suffix}").unlink(missing_ok=True)
        count, cpu, wall, spent = stage_cpu(traffic(args.stage_cpu), work / "stages.db", args.batch)
        print(
            f"CPU by stage, one process, {count:,} filings: {cpu:.2f} s CPU, {wall:.2f} s wall "
            f"({1000 * cpu / count:.3f} ms per declaration)"
        )
        for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"  {label:<30} {1000 * seconds / count:7.3f} ms/declaration  {seconds:6.2f} s")
        summary["stage_cpu_ms"] = round(1000 * cpu / count, 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
