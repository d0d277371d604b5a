"""History benchmark: re-scoring 10 M declarations on Spark (local mode on
this machine's cores), checked against the single-machine path.

    .venv/bin/python benchmarks/history.py --declarations 10000000

Builds the history once (kept in benchmarks/out/history-N/, the Parquet
layout of `clearway history export`): simulated traffic, 100,000
declarations a filing day, written by two processes; an inspection outcome
from the simulation's labels on a random 5% of them. Then:

1. Spark: `rescore_history` with a local-mode session on every core, from
   the Parquet history to benchmarks/out/history-N-spark/;
2. single machine: the same days in this process, to
   benchmarks/out/history-N-local/ (``--compare-days`` limits how many,
   spread over the period; default all);
3. the two outputs compared day by day, row for row.

Prints the time and rate of each, and how many rows matched.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

OUT = HERE / "out"
PER_DAY = 100_000
INSPECTED = 0.05


def _simulate_part(args: tuple[Path, date, int, int, int]) -> int:
    """Simulate ``days`` days from ``start`` into the Parquet history."""
    import orjson
    import pyarrow as pa

    from clearway.history.parquet import write_parquet_days
    from clearway.history.rescoring import DAY_ROWS
    from clearway.simulate import SimulationConfig
    from clearway.simulate.output import truth_outcome
    from clearway.simulate.traffic import simulate

    root, start, days, per_day, seed = args
    rng = random.Random(seed)
    current: date | None = None
    documents: list[str] = []
    outcomes: list[str | None] = []
    written = 0

    def flush() -> int:
        table = pa.table(
            {"day": [current] * len(documents), "document": documents, "outcome": outcomes},
            schema=DAY_ROWS,
        )
        documents.clear()
        outcomes.clear()
        return sum(write_parquet_days([table], root))

    config = SimulationConfig(days=days, per_day=per_day, seed=seed, start=start)
    for filing, truth in simulate(config):
        if truth is None:
            continue  # master filings are not declarations
        day = date.fromisoformat(truth.day)
        if current is not None and day != current:
            written += flush()
        current = day
        documents.append(orjson.dumps(filing).decode())
        inspected = rng.random() < INSPECTED
        outcomes.append(truth_outcome(list(truth.violations))[0] if inspected else None)
    if documents:
        written += flush()
    return written


def build(root: Path, n: int, per_day: int) -> None:
    days = max(1, n // per_day)
    parts = 2
    share = [days // parts + (1 if i < days % parts else 0) for i in range(parts)]
    starts = [date(2026, 1, 1) + timedelta(days=sum(share[:i])) for i in range(parts)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(parts) as pool:
        written = sum(
            pool.map(
                _simulate_part,
                [(root, starts[i], share[i], per_day, i) for i in range(parts) if share[i]],
            )
        )
    seconds = time.perf_counter() - started
    print(f"built {written:,} declarations over {days} days in {seconds:.0f} s")


def compare(local: Path, spark: Path, days: list[date]) -> tuple[int, int]:
    """Rows compared and rows equal, day by day, in (filer, ref) order."""
    from clearway.history.parquet import read_parquet_day
    from clearway.history.rescoring import RESCORED

    order = [("filer_id", "ascending"), ("ref", "ascending")]
    compared = equal = 0
    for day in days:
        a = read_parquet_day(local, day, RESCORED).sort_by(order)
        b = read_parquet_day(spark, day, RESCORED).sort_by(order)
        compared += a.num_rows
        if a.equals(b):
            equal += a.num_rows
        else:
            same = sum(x == y for x, y in zip(a.to_pylist(), b.to_pylist(), strict=False))
            equal += same
            print(f"  {day}: {a.num_rows:,} local rows, {b.num_rows:,} Spark rows, {same:,} equal")
    return compared, equal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=10_000_000)
    parser.add_argument("--per-day", type=int, default=PER_DAY)
    parser.add_argument("--cores", type=int, default=None, help="Spark cores (default: all)")
    parser.add_argument("--compare-days", type=int, default=0, help="0: every day")
    parser.add_argument("--skip-spark", action="store_true", help="reuse the Spark output")
    args = parser.parse_args()

    from clearway.history.parquet import parquet_days
    from clearway.history.rescoring import HistoryConfig
    from clearway.history.runs import History, rescore_history

    n = args.declarations
    root = OUT / f"history-{n}"
    if not root.is_dir():
        build(root, n, args.per_day)
    days = parquet_days(root)
    config = HistoryConfig(as_of=datetime.now(UTC).date())
    spark_out, local_out = OUT / f"history-{n}-spark", OUT / f"history-{n}-local"

    if not args.skip_spark:
        from clearway.history.spark import spark_session

        started = time.perf_counter()
        session = spark_session(cores=args.cores, memory="4g")
        print(f"Spark session started in {time.perf_counter() - started:.1f} s")
        report = rescore_history(
            History(parquet=root), History(parquet=spark_out), config, spark=session
        )
        session.stop()
        print(f"spark: {report.as_dict()}")

    if args.compare_days:
        step = max(1, len(days) // args.compare_days)
        chosen = days[::step][: args.compare_days]
    else:
        chosen = days
    local = History(parquet=local_out)
    report = None
    started = time.perf_counter()
    for day in chosen:
        part = rescore_history(History(parquet=root), local, config, day, day)
        report = part if report is None else report
        if report is not part:
            report.declarations += part.declarations
            report.days += part.days
            report.lanes += part.lanes
    if report is not None:
        report.seconds = time.perf_counter() - started
        print(f"local: {report.as_dict()}")
    compared, equal = compare(local_out, spark_out, chosen)
    print(f"compared {compared:,} declarations of {len(chosen)} days: {equal:,} identical")


if __name__ == "__main__":
    main()
