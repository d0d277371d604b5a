"""Enrichment benchmark: declarations per second through the pure
enrichment stages in batch.

    .venv/bin/python benchmarks/enrichment.py --declarations 200000

Simulated traffic is validated and shaped (not timed). Then, batch by batch
(2,000 declarations, the intake default), timed per stage: restricted-party
screening of seller and consignee against the SDN list
(../shared/data/sanctions/, skipped when absent) with partner-agency routing,
and HS suggestion with the misclassification signal for every item line. In
one process, then in one process per core side by side, each on its share,
as the intake workers run them. The store-side steps (product catalogue,
party resolution) run inside the write transaction and are part of
benchmarks/ingest.py --stages.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from clearway.classification.loading import builtin_classifier  # noqa: E402
from clearway.classification.misclassification import check_houses  # noqa: E402
from clearway.declarations.batch import PreparedHouse, prepare_batch  # noqa: E402
from clearway.declarations.intake import IntakeLimits, read_records  # noqa: E402
from clearway.parties.checks import check_parties, screening_index  # noqa: E402
from traffic import simulated  # noqa: E402

SDN = HERE.parents[1] / "shared" / "data" / "sanctions" / "sdn.csv"
BATCH = 2000


def _measure(path: Path, share: int, shares: int) -> tuple[int, int, float, float]:
    """Shape this share (not timed), then time each stage over its batches.
    Returns (declarations, items, seconds parties, seconds classification)."""
    records = list(read_records([path], IntakeLimits()))[share::shares]
    batches: list[list[PreparedHouse]] = [
        prepare_batch(records[start : start + BATCH]).houses
        for start in range(0, len(records), BATCH)
    ]
    index = screening_index(str(SDN)) if SDN.is_file() else None
    classifier = builtin_classifier()
    check_houses(classifier, batches[0][:50])
    started = time.perf_counter()
    for houses in batches:
        check_parties(houses, index)
    parties = time.perf_counter()
    for houses in batches:
        check_houses(classifier, houses)
    done = time.perf_counter()
    count = sum(len(b) for b in batches)
    items = sum(len(h.items) for b in batches for h in b)
    return count, items, parties - started, done - parties


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--declarations", type=int, default=200_000)
    args = parser.parse_args()
    path = simulated(args.declarations, seed=21, prefix="enrich-traffic")
    if not SDN.is_file():
        print(f"no SDN list at {SDN}: screening skipped (routing still runs)")

    count, items, parties, classes = _measure(path, 0, 1)
    print(
        f"1 process, {count:,} declarations ({items:,} items): screening + routing "
        f"{count / parties:,.0f}/s, classification {count / classes:,.0f}/s "
        f"({items / classes:,.0f} items/s), all {count / (parties + classes):,.0f}/s"
    )
    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        results = list(pool.map(_measure, [path] * cores, range(cores), [cores] * cores))
    count = sum(r[0] for r in results)
    slowest = max(r[2] + r[3] for r in results)
    print(
        f"{cores} processes side by side, {count:,} declarations: all enrichment "
        f"{count / slowest:,.0f}/s (slowest share)"
    )


if __name__ == "__main__":
    main()
