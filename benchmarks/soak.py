"""Soak: the HTTP API under steady load for a fixed time, from this process
on 127.0.0.1, with throughput, latency, errors and the server's memory
reported every interval. Stops by itself.

    .venv/bin/python benchmarks/soak.py --workers 2 --rate 100 --minutes 10 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/soak

Open loop: single-declaration submissions are sent on schedule whether or
not earlier ones returned, so an overloaded server shows as latency and
errors, not as a politely lower rate. Memory is the resident set of the
server's processes (uvicorn's parent and its workers), read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx2 as httpx
import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from api import _documents, _start  # noqa: E402


def _rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


async def _soak(port: int, key: str, docs: list[dict], rate: float, seconds: float,
                interval: float, server_pid: int) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    window: list[float] = []
    errors = 0
    all_latencies: list[float] = []
    total_errors = 0
    # What went wrong, by HTTP status or exception: a 422 is the API
    # refusing a filing, a timeout is the server falling behind.
    kinds: Counter[str] = Counter()
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=httpx.Timeout(30, pool=60)
    ) as client:

        async def one(doc: dict) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                answer = await client.post(
                    "/api/declarations", content=orjson.dumps(doc), headers=headers
                )
                ok = answer.status_code == 200
                if not ok:
                    kinds[f"HTTP {answer.status_code}: {answer.text[:120]}"] += 1
            except httpx.HTTPError as exc:
                ok = False
                kinds[type(exc).__name__] += 1
            if ok:
                window.append(time.perf_counter() - started)
            else:
                errors += 1

        print(f"{'t (s)':>6} {'sent/s':>7} {'ok/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'errors':>7} {'RSS MiB':>8}")  # fmt: skip
        start = time.perf_counter()
        next_report = start + interval
        tasks: set[asyncio.Task[None]] = set()
        sent_in_window = 0
        k = 0
        while time.perf_counter() - start < seconds:
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            doc = {**docs[k % len(docs)], "declaration_id": f"SOAK{os.getpid()}-{k}"}
            task = asyncio.create_task(one(doc))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            k += 1
            sent_in_window += 1
            if time.perf_counter() >= next_report:
                ms = np.array(window) * 1000 if window else np.array([np.nan])
                print(
                    f"{time.perf_counter() - start:6.0f} {sent_in_window / interval:7.0f} "
                    f"{len(window) / interval:7.0f} {np.percentile(ms, 50):8.1f} "
                    f"{np.percentile(ms, 99):8.1f} {errors:7d} {_rss_mib(server_pid):8.0f}",
                    flush=True,
                )
                all_latencies += window
                total_errors += errors
                window, errors, sent_in_window = [], 0, 0
                next_report += interval
        await asyncio.gather(*tasks)
        all_latencies += window
        total_errors += errors
    ms = np.array(all_latencies) * 1000
    print(
        f"total: {k:,} sent, {len(ms):,} ok ({len(ms) / seconds:,.0f}/s), {total_errors:,} errors; "
        f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms"
    )
    for kind, count in kinds.most_common(10):
        print(f"  {count:,} x {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--interval", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--server-log", type=Path, help="keep the server's stderr here")
    args = parser.parse_args()
    # Ids are made distinct per send: every submission is a new filing.
    docs = _documents(20_000)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as folder:
        server, key = _start(Path(folder), args.port, args.workers, args.database, args.server_log)
        try:
            asyncio.run(_soak(args.port, key, docs, args.rate, seconds, args.interval, server.pid))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
