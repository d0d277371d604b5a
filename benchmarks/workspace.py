"""Workspace benchmark: server time of the officer workspace's pages on a
store of about 1 M declarations.

    .venv/bin/python benchmarks/workspace.py --declarations 1000000

Builds the store once (kept in benchmarks/out/workspace-N.db): simulated
traffic, 100,000 declarations a day, through `clearway ingest`'s every
stage (validation, parties, classification, duty, risk, ledger), then the
red lane's inspection outcomes from the simulation's labels and one review
of the filers as trusted operators (what `clearway demo` does). Then it
signs in and times each page in-process (handler, templates and database,
through the ASGI test transport; no network), 15 times each after one
warm-up, and prints the median, p95 and maximum per page.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from clearway.settings import Settings  # noqa: E402
from traffic import OUT  # noqa: E402


def _build(settings: Settings, n: int) -> None:
    from clearway.cli.demo_week import enrol_operators, inspect_red_lane
    from clearway.simulate import SimulationConfig, write_simulation
    from clearway.store import open_engine
    from clearway.wiring import ingest_files, stages_from_settings

    engine = open_engine(settings.database_url)
    days = max(1, n // 100_000)
    traffic, truth = OUT / f"workspace-{n}.jsonl", OUT / f"workspace-{n}-truth.csv"
    if not traffic.exists():
        started = time.perf_counter()
        write_simulation(SimulationConfig(days=days, per_day=n // days, seed=5), traffic, truth)
        print(f"simulated {n:,} declarations in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    report = ingest_files(
        engine,
        [traffic],
        batch_size=settings.batch_size,
        workers=settings.workers,
        stages=stages_from_settings(settings, engine),
    )
    elapsed = time.perf_counter() - started
    print(
        f"ingested {report.accepted:,} filings with every stage in {elapsed:,.0f} s "
        f"({report.accepted / elapsed:,.0f}/s)",
        flush=True,
    )
    print(f"inspected {inspect_red_lane(engine, truth):,} red-lane declarations", flush=True)
    print(f"operator tier changes: {enrol_operators(engine)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    db = OUT / f"workspace-{args.declarations}.db"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        ledger_key_file=str(OUT / f"workspace-{args.declarations}.key"),
        classifier_model_file=str(OUT / "none.npz"),
        risk_model_file=str(OUT / "none.json"),
        workers=2,
    )
    if not db.exists():
        _build(settings, args.declarations)

    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from clearway.api import create_app
    from clearway.cli.demo_week import demo_officer
    from clearway.store import open_engine
    from clearway.store.schema import declarations

    engine = open_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(declarations.c.current)).scalar_one()
    password = demo_officer(engine)
    client = TestClient(create_app(settings, engine=engine))
    client.post("/signin", data={"username": "officer", "password": password})
    queue = client.get("/queue").text
    first = re.search(r'href="(/declarations/[^"]+)"', queue)
    assert first, "the red queue is empty"
    declaration = first.group(1).replace("&amp;", "&")
    operators = re.search(r'href="(/operators/[^"]+)"', client.get("/operators").text)
    pages = {
        "queue (red, by score)": "/queue",
        "queue (red, rule filter)": "/queue?lane=red&rule=counterfeit-brand-price",
        "queue (yellow, origin CN, by value, page 5)": (
            "/queue?lane=yellow&origin=CN&sort=value&page=5"
        ),
        "queue (any lane, origin CN, by value): stress": "/queue?lane=&origin=CN&sort=value",
        "declaration": declaration,
        "dashboard (last 7 days)": "/dashboard",
        "CSV export (lanes)": "/dashboard/lanes.csv",
        "operators": "/operators",
        "rules": "/rules",
    }
    if operators:
        pages["operator"] = operators.group(1)
    print(f"store: {stored:,} current declarations ({db})")
    print(f"{'page':<48} {'median':>8} {'p95':>8} {'max':>8}  (ms, server time in-process)")
    for name, path in pages.items():
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:<48} {statistics.median(times):8.0f} {p95:8.0f} {times[-1]:8.0f}")


if __name__ == "__main__":
    main()
