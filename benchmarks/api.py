"""API benchmark: single-declaration submit latency at a fixed request rate
and at saturation, and bulk submit throughput, against `clearway serve` on
127.0.0.1.

    .venv/bin/python benchmarks/api.py --rate 500 --seconds 20 --workers 2 \
        --connections 32 --database postgresql://postgres@127.0.0.1/bench

Starts `clearway serve` on a fresh store (SQLite, or the PostgreSQL database
named by ``--database``, emptied first) with a marketplace participant,
then, from this process (the load generator): (1) posts one declaration per
request at ``--rate`` requests/s, open loop (requests are sent on schedule
whether or not earlier ones have returned, so slowness shows as latency,
not as a lower rate), and reports latency percentiles from send to the
answer; (2) with ``--connections N``, closed loop: N connections each post
the next declaration as soon as the last is answered, which measures the
rate at saturation; (3) posts lists of ``--bulk`` declarations, two at a
time, and reports declarations/s. (1) and (2) run against a server that
answers at acknowledgement (durably queued) and one that waits for the
decision. The server's CPU seconds per request (every worker process) are
printed with each figure: on a shared machine they move less than the
wall-clock figures.

The closed loop speaks HTTP/1.1 itself over asyncio streams (each request
in one write; asyncio sets TCP_NODELAY), so that the load generator's own
cost stays well below the server's: an HTTP client library in Python costs
as much per request as the server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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


def _empty(database_url: str) -> None:
    """Drop every table of the PostgreSQL benchmark database: a fresh store."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and its children (the server's
    workers), from /proc: 0 where there is none."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        # utime, stime are fields 14 and 15 of stat (12 and 13 after the name).
        total += (int(fields[11]) + int(fields[12])) / tick
        pending.extend(int(c) for c in children)
    return total


def _start(
    folder: Path,
    port: int,
    workers: int,
    database_url: str | None = None,
    log: Path | None = None,
    wait_ms: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    if database_url and database_url.startswith("postgresql"):
        _empty(database_url)
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
        stderr=log.open("ab") if log else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return server, key


def _warm(port: int, key: str, docs: list[dict]) -> None:
    """Wait until the server has decided a first filing: the sequencer has
    loaded its stages' files (classifier, rules, model) and every worker has
    answered, so that start-up is not measured as latency."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        first = {**docs[0], "declaration_id": f"{docs[0]['declaration_id']}-warm"}
        client.post("/api/declarations", content=orjson.dumps(first), headers=headers)
        while time.perf_counter() - started < 300:
            state = client.get(
                f"/api/declarations/{first['declaration_id']}/status", headers=headers
            )
            if state.json().get("status") not in (None, "received"):
                break
            time.sleep(0.2)
    print(f"server ready: first filing decided after {time.perf_counter() - started:.1f} s")


# Closed-loop bodies sent so far, over every run of this process.
_SENT = itertools.count()


def _unique(docs: list[dict], i: int) -> bytes:
    """The ``i``-th body of the closed loop: a document with a declaration id
    of its own (the open loop and the bulk lists send the same documents,
    and a resent one would be a cheap duplicate)."""
    doc = docs[1 + i % (len(docs) - 1)]
    return orjson.dumps({**doc, "declaration_id": f"{doc['declaration_id']}-c{i}"})


async def _closed(
    port: int, key: str, docs: list[dict], connections: int, seconds: float, what: str, pid: int
) -> None:
    """``connections`` keep-alive connections, each posting the next
    declaration as soon as the last is answered, for ``seconds``."""
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    head = (
        "POST /api/declarations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        "Content-Length: {length}\r\n\r\n"
    )

    async def one_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float
    ) -> None:
        try:
            while time.perf_counter() < deadline:
                body = _unique(docs, next(_SENT))
                started = time.perf_counter()
                writer.write(head.format(length=len(body)).encode() + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                codes[int(status_line.split()[1])] += 1
        finally:
            writer.close()

    # Opened one at a time, before the clock starts: a burst of connections
    # is all accepted by whichever server worker wakes first (asyncio accepts
    # every pending connection on a wake-up), leaving the others idle. A
    # balancer, or clients arriving over time, spread them.
    opened = []
    for _ in range(connections):
        opened.append(await asyncio.open_connection("127.0.0.1", port))
        await asyncio.sleep(0.02)
    cpu = _cpu_seconds(pid)
    start = time.perf_counter()
    await asyncio.gather(*(one_connection(r, w, start + seconds) for r, w in opened))
    wall = time.perf_counter() - start
    cpu = _cpu_seconds(pid) - cpu
    ms = np.array(latencies) * 1000
    ok = codes[200] + codes[202]
    print(
        f"single submit, {what}, closed loop, {connections} connections: "
        f"{ok / wall:,.0f}/s answered (answers {dict(sorted(codes.items()))}): "
        f"p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
        f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.0f} ms; "
        f"server CPU {cpu:.1f} s, {1000 * cpu / max(len(latencies), 1):.2f} ms per request; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )


async def _single(
    port: int,
    key: str,
    docs: list[dict],
    rate: float,
    seconds: float,
    what: str = "decision",
    pid: int | None = None,
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
        cpu = _cpu_seconds(pid) if pid else 0.0
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(docs[1 + i % (len(docs) - 1)])))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
        cpu = (_cpu_seconds(pid) if pid else 0.0) - cpu
    ms = np.array(latencies) * 1000
    print(
        f"single submit, {what}, at {rate:.0f}/s offered ({total / wall:,.0f}/s achieved, "
        f"{failures} failed, answers {dict(sorted(codes.items()))}): "
        f"p50 {np.percentile(ms, 50):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms, "
        f"p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.0f} ms; "
        f"server CPU {cpu:.1f} s, {1000 * cpu / max(total, 1):.2f} ms per request; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
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
    parser.add_argument(
        "--connections", type=int, default=0, help="also a closed loop over this many connections"
    )
    parser.add_argument(
        "--database", help="PostgreSQL URL of a database the benchmark may empty (default SQLite)"
    )
    parser.add_argument("--no-open", action="store_true", help="skip the open loop")
    parser.add_argument("--server-log", type=Path, help="keep the servers' stderr here")
    args = parser.parse_args()
    docs = _documents(int(args.rate * args.seconds) + args.bulk_total + 1)
    single, bulk = (
        docs[: int(args.rate * args.seconds) + 1],
        docs[int(args.rate * args.seconds) + 1 :],
    )
    print(
        f"machine: {os.cpu_count()} cores; server workers: {args.workers}; "
        f"store: {'PostgreSQL' if args.database else 'SQLite'}"
    )
    # Two fresh servers: one answering at acknowledgement (durably queued),
    # one waiting up to 1 s for the decision; the second also takes lists.
    for what, wait_ms in (("acknowledgement", 0), ("decision", 1000)):
        with tempfile.TemporaryDirectory() as folder:
            server, key = _start(
                Path(folder), args.port, args.workers, args.database, args.server_log, wait_ms
            )
            try:
                _warm(args.port, key, docs)
                if not args.no_open:
                    asyncio.run(
                        _single(args.port, key, single, args.rate, args.seconds, what, server.pid)
                    )
                if args.connections:
                    asyncio.run(
                        _closed(
                            args.port, key, docs, args.connections, args.seconds, what, server.pid
                        )
                    )
                if what == "decision" and args.bulk_total:
                    _bulk(args.port, key, bulk, args.bulk)
            finally:
                server.terminate()
                server.wait()


if __name__ == "__main__":
    main()
