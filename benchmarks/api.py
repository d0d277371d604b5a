"""API benchmark: single-declaration submit latency at a fixed request rate,
and bulk submit throughput, against `clearway serve` on 127.0.0.1.

    .venv/bin/python benchmarks/api.py --rate 500 --seconds 20

Starts `clearway serve` (one uvicorn process) on a fresh SQLite store with a
marketplace participant, then, from this process (the load generator):
(1) posts one declaration per request at ``--rate`` requests/s, open loop
(requests are sent on schedule whether or not earlier ones have returned,
so slowness shows as latency, not as a lower rate), and reports latency
percentiles from send to the answer carrying the lane; (2) posts lists of
``--bulk`` declarations, two at a time, and reports declarations/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx2 as httpx
import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from traffic import simulated  # noqa: E402


def _documents(n: int) -> list[dict]:
    path = simulated(max(n, 10_000), seed=31, prefix="api-traffic")
    out = []
    with path.open("rb") as stream:
        for line in stream:
            doc = orjson.loads(line)
            if "house_refs" in doc or "items" not in doc:
                continue
            doc["filer"] = {"id": "bench-mkt", "role": "marketplace", "name": "Bench"}
            out.append(doc)
            if len(out) == n:
                break
    return out


def _start(
    folder: Path,
    port: int,
    workers: int,
    database_url: str | None = None,
    log: Path | None = None,
    wait_ms: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "CLEARWAY_DATABASE_URL": database_url or f"sqlite:///{folder / 'clearway.db'}",
        "CLEARWAY_LEDGER_KEY_FILE": str(folder / "ledger.key"),
    }
    if wait_ms is not None:
        env["CLEARWAY_DECISION_WAIT_MS"] = str(wait_ms)
    add = subprocess.run(
        [
            sys.executable,
            "-c",
            "from clearway.cli import main; main()",
            "participants",
            "add",
            "Bench",
            "--role",
            "marketplace",
            "--filer-id",
            "bench-mkt",
        ],
        env=env,
        cwd=folder,
        capture_output=True,
        check=True,
    )
    key = orjson.loads(add.stdout.strip().splitlines()[-1])["key"]
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from clearway.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb") if log else subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return server, key


async def _single(
    port: int, key: str, docs: list[dict], rate: float, seconds: float, what: str = "decision"
) -> None:
    """Post one declaration per request, open loop; time each answer. With
    the server waiting 0 ms for decisions each answer is the acknowledgement
    (202, durably queued); otherwise a 200 carries the decision and a 202
    means the decision took longer than the server's bound."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    codes: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=httpx.Timeout(60, pool=120)
    ) as client:
        await client.post("/api/declarations", content=orjson.dumps(docs[0]), headers=headers)

        async def one(doc: dict) -> None:
            nonlocal failures
            started = time.perf_counter()
            try:
                answer = await client.post(
                    "/api/declarations", content=orjson.dumps(doc), headers=headers
                )
            except httpx.HTTPError:
                # Refused or dropped under overload: counted, not timed.
                failures += 1
                return
            latencies.append(time.perf_counter() - started)
            codes[answer.status_code] += 1
            if answer.status_code not in (200, 202):
                failures += 1

        total = int(rate * seconds)
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(docs[1 + i % (len(docs) - 1)])))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    print(
        f"single submit, {what}, at {rate:.0f}/s offered ({total / wall:,.0f}/s achieved, "
        f"{failures} failed, answers {dict(sorted(codes.items()))}): "
        f"p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
        f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.0f} ms"
    )


def _bulk(port: int, key: str, docs: list[dict], size: int) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [orjson.dumps(docs[s : s + size]) for s in range(0, len(docs), size)]
    started = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        accepted = decided = 0
        for body in bodies:
            answer = client.post("/api/declarations", content=body, headers=headers)
            if "accepted" not in answer.json():
                raise SystemExit(f"bulk submit refused: {answer.status_code} {answer.text[:300]}")
            accepted += answer.json()["accepted"]
            decided += answer.json()["accepted"] if answer.status_code == 200 else 0
    elapsed = time.perf_counter() - started
    print(
        f"bulk submit, lists of {size:,}: {accepted:,} accepted ({decided:,} answered "
        f"with the decision), {accepted / elapsed:,.0f} declarations/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    # Lists of 400 (~0.5 MB) fit the default intake document limit
    # (max_json_document_bytes); lists of 2,000 are refused with 413.
    parser.add_argument("--bulk", type=int, default=400)
    parser.add_argument("--bulk-total", type=int, default=40_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1, help="API worker processes")
    args = parser.parse_args()
    docs = _documents(int(args.rate * args.seconds) + args.bulk_total + 1)
    single, bulk = (
        docs[: int(args.rate * args.seconds) + 1],
        docs[int(args.rate * args.seconds) + 1 :],
    )
    print(f"machine: {os.cpu_count()} cores; server workers: {args.workers}")
    # Two fresh servers: one answering at acknowledgement (durably queued),
    # one waiting up to 1 s for the decision; the second also takes lists.
    for what, wait_ms in (("acknowledgement", 0), ("decision", 1000)):
        with tempfile.TemporaryDirectory() as folder:
            server, key = _start(Path(folder), args.port, args.workers, wait_ms=wait_ms)
            try:
                asyncio.run(_single(args.port, key, single, args.rate, args.seconds, what))
                if what == "decision":
                    _bulk(args.port, key, bulk, args.bulk)
            finally:
                server.terminate()
                server.wait()


if __name__ == "__main__":
    main()
