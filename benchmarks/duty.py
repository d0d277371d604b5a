"""Duty assessment benchmark: declarations assessed per second in batch.

    .venv/bin/python benchmarks/duty.py --declarations 200000

Simulated traffic is validated and shaped (not timed), turned into the
assessment's arrays (timed: "arrays"), then assessed in batches (timed:
"assessment"), in one process and then in one process per core side by side,
each on its share, as the pipeline's workers do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from clearway.declarations.batch import prepare_batch  # noqa: E402
from clearway.declarations.intake import IntakeLimits, read_records  # noqa: E402
from clearway.duty import DutyInput, assess, duty_input, load_book  # noqa: E402
from traffic import simulated  # noqa: E402

DAY = date(2026, 11, 2)


def traffic(n: int) -> Path:
    return simulated(n, seed=9, prefix="duty-traffic")


def _measure(path: Path, share: int, shares: int, batch: int) -> tuple[int, float, float]:
    """In one process: shape this share of the traffic (not timed), then time
    building the arrays and assessing them, in batches. Returns (count,
    seconds for arrays, seconds for assessment)."""
    records = list(read_records([path], IntakeLimits()))[share::shares]
    houses = [
        h
        for start in range(0, len(records), 5000)
        for h in prepare_batch(records[start : start + 5000]).houses
    ]
    book = load_book()
    assess(book, duty_input([(h.columns, h.items) for h in houses[:100]], DAY))  # warm up
    started = time.perf_counter()
    batches: list[DutyInput] = [
        duty_input([(h.columns, h.items) for h in houses[s : s + batch]], DAY)
        for s in range(0, len(houses), batch)
    ]
    built = time.perf_counter()
    for arrays in batches:
        assess(book, arrays)
    done = time.perf_counter()
    return len(houses), built - started, done - built


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--declarations", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=50_000)
    args = parser.parse_args()
    path = traffic(args.declarations)

    count, build, run = _measure(path, 0, 1, args.batch)
    print(
        f"1 process, {count:,} declarations: arrays {count / build:,.0f}/s, "
        f"assessment {count / run:,.0f}/s, both {count / (build + run):,.0f}/s"
    )

    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        results = list(
            pool.map(_measure, [path] * cores, range(cores), [cores] * cores, [args.batch] * cores)
        )
    total = sum(r[0] for r in results)
    # The processes ran side by side: the slowest one's time is the wall time.
    wall = max(r[1] + r[2] for r in results)
    print(
        f"{cores} processes, {total:,} declarations: arrays + assessment "
        f"{total / wall:,.0f} declarations/s"
    )
    print(
        json.dumps(
            {
                "assess_per_s_1_process": round(count / run),
                "arrays_and_assess_per_s_1_process": round(count / (build + run)),
                "arrays_and_assess_per_s_all_cores": round(total / wall),
            }
        )
    )


if __name__ == "__main__":
    main()
