"""Crash safety: bulk intake (CLI and HTTP) killed with SIGKILL at random
points, ten times each, then restarted. Every declaration acknowledged
before a kill is stored exactly once, the ledger verifies, and submitting
the whole input again completes with no duplicates."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from clearway.federation.transport import post
from clearway.store import open_engine
from clearway.store.participants import add_participant
from clearway.store.schema import declarations, intake_queue
from tests import factories as f
from tests.test_cli import clearway

KILLS = 10
RUN = [sys.executable, "-c", "from clearway.cli import main; main()"]


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    env.update(
        CLEARWAY_DATABASE_URL=url,
        CLEARWAY_BATCH_SIZE="40",
        CLEARWAY_CLASSIFIER_MODEL_FILE="none.npz",
        CLEARWAY_RISK_MODEL_FILE="none.json",
        COLUMNS="200",
    )
    return env


def _documents(n: int, filer: str = "mkt-1") -> list[dict]:
    return [
        f.declaration(
            declaration_id=f"K{k:06d}",
            filer={"id": filer, "role": "marketplace", "name": "Crash Market"},
        )
        for k in range(n)
    ]


def _stored(url: str) -> tuple[dict[str, int], int]:
    """Rows per declaration id, stored or durably queued (an acknowledged
    filing the sequencer has not decided yet is in the intake queue), and
    how many rows in all."""
    engine = open_engine(url)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for table in (declarations, intake_queue):
            for ref, n in conn.execute(
                select(table.c.ref, func.count()).group_by(table.c.ref)
            ).all():
                counts[str(ref)] = counts.get(str(ref), 0) + int(n)
    engine.dispose()
    return counts, sum(counts.values())


def _queued(url: str) -> int:
    engine = open_engine(url)
    with engine.connect() as conn:
        found = int(conn.execute(select(func.count()).select_from(intake_queue)).scalar_one())
    engine.dispose()
    return found


def _kill(process: subprocess.Popen[bytes]) -> None:
    # The whole process group, workers included: what a crash of the host does.
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _verified(folder: Path, url: str) -> None:
    done = clearway("ledger", "verify", cwd=folder, url=url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ledger verified" in done.stdout


def test_cli_intake_survives_sigkill(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    docs = _documents(10_000)
    url = f"sqlite:///{tmp_path / 'clearway.db'}"
    assert clearway("db", "upgrade", cwd=tmp_path, url=url).returncode == 0
    refs = [d["declaration_id"] for d in docs]
    stored_prefix = 0  # what the loader knows is stored: it resumes after it
    cut_short = 0
    for round_number in range(KILLS):
        part = tmp_path / f"part-{round_number}.jsonl"
        part.write_bytes(f.jsonl(*docs[stored_prefix:]))
        errors = tmp_path / f"errors-{round_number}.txt"
        sink = errors.open("wb")
        process = subprocess.Popen(
            [*RUN, "ingest", str(part), "--acknowledge", "--workers", "2"],
            cwd=tmp_path,
            env=_env(url),
            stdout=subprocess.PIPE,
            stderr=sink,
            start_new_session=True,
        )
        acknowledged: list[int] = []

        def read(stream: object = process.stdout, into: list[int] = acknowledged) -> None:
            for line in stream:  # type: ignore[attr-defined]
                if line.startswith(b'{"acknowledged"'):
                    into.append(orjson.loads(line)["acknowledged"])

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Kill at a random point while batches are being committed: after
        # the first acknowledgement of this run (the workers have started).
        deadline = time.monotonic() + 120
        while not acknowledged and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.2))
        assert process.poll() is None, errors.read_text()[-3000:]
        _kill(process)
        sink.close()
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        done = max(acknowledged, default=0)
        cut_short += stored_prefix + done < len(docs)
        stored_prefix += done
        counts, _ = _stored(url)
        # Everything acknowledged in any run is stored, once.
        assert all(counts.get(ref) == 1 for ref in refs[:stored_prefix])
        assert all(n == 1 for n in counts.values())
    assert stored_prefix > 0, "no batch was acknowledged before any kill"
    assert cut_short >= KILLS - 1, "the kills must land while batches are being committed"
    # The whole input again: stored filings are duplicates, the rest is stored.
    source = tmp_path / "all.jsonl"
    source.write_bytes(f.jsonl(*docs))
    final = clearway("ingest", str(source), "--json", cwd=tmp_path, url=url, settings=_env(url))
    assert final.returncode == 0, final.stderr
    report = orjson.loads(final.stdout)
    assert report["duplicate"] >= stored_prefix
    assert report["accepted"] + report["duplicate"] == len(docs)
    counts, rows = _stored(url)
    assert rows == len(docs)
    assert set(counts) == set(refs)
    _verified(tmp_path, url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(folder: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [*RUN, "serve", "--port", str(port)],
        cwd=folder,
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).close()
            return process
        except OSError:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)


@pytest.fixture
def api_store(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'clearway.db'}"
    engine = open_engine(url)
    key = add_participant(engine, "Crash Market", "marketplace", filer_id="mkt-1").key
    engine.dispose()
    return url, key


def test_http_intake_survives_sigkill(tmp_path: Path, api_store: tuple[str, str]) -> None:
    url, key = api_store
    rng = random.Random(1124)
    docs = _documents(5000)
    refs = [d["declaration_id"] for d in docs]
    busy_at_kill = 0
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    acknowledged: set[str] = set()
    position = 0
    for _ in range(KILLS):
        port = _free_port()
        server = _serve(tmp_path, url, port)
        stop = threading.Event()
        first_ack = threading.Event()

        def submit(
            start: int = position,
            port: int = port,
            stop: threading.Event = stop,
            first_ack: threading.Event = first_ack,
        ) -> None:
            # Round and round the input until the kill: a faster API must not
            # run out of work before it (stored filings come back duplicate).
            nonlocal position
            at = start
            while not stop.is_set():
                part = docs[at : at + 20]
                try:
                    reply = post(
                        f"http://127.0.0.1:{port}/api/declarations", orjson.dumps(part), headers
                    )
                except OSError:
                    return
                # 200: decided; 202: durably queued, decided later. Both
                # are acknowledgements.
                if reply.status in (200, 202):
                    answer = orjson.loads(reply.body)
                    assert answer["accepted"] + answer["duplicate"] == len(part)
                    acknowledged.update(d["declaration_id"] for d in part)
                    at = (at + len(part)) % len(docs)
                    position = at
                    first_ack.set()

        client = threading.Thread(target=submit, daemon=True)
        client.start()
        # Wait for this server's first acknowledgement (its first tick loads
        # the stages: seconds on a loaded machine), then kill at a random
        # moment of the traffic that follows: a fixed delay killed slow
        # servers before they had acknowledged anything.
        assert first_ack.wait(timeout=120), "the server acknowledged nothing in 120 s"
        time.sleep(rng.uniform(0.0, 1.5))
        busy_at_kill += client.is_alive()
        _kill(server)
        stop.set()
        client.join(timeout=30)
        counts, _ = _stored(url)
        assert all(counts.get(ref) == 1 for ref in acknowledged)
        assert all(n == 1 for n in counts.values())
    assert acknowledged, "no submission was acknowledged before any kill"
    assert busy_at_kill == KILLS, "every kill must land while submissions are under way"
    # Resubmit everything: what was stored comes back as duplicates, the rest is stored.
    port = _free_port()
    server = _serve(tmp_path, url, port)
    try:
        for at in range(0, len(docs), 100):
            reply = post(
                f"http://127.0.0.1:{port}/api/declarations",
                orjson.dumps(docs[at : at + 100]),
                headers,
            )
            assert reply.status in (200, 202), reply.body
        # The sequencer decides what the killed servers had queued, and the rest.
        deadline = time.monotonic() + 120
        while _queued(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _queued(url) == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
    counts, rows = _stored(url)
    assert rows == len(docs)
    assert set(counts) == set(refs)
    _verified(tmp_path, url)
