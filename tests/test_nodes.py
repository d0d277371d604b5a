"""Two clearway nodes on 127.0.0.1: a customs node (the log) and a
marketplace's node that witnesses the customs log over HTTP (C2SP
tlog-witness) and subscribes to the events on its declarations."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from clearway.federation.transport import post
from clearway.ledger import NoteVerifier, published
from clearway.ledger.keys import load_or_create_keys
from clearway.ledger.note import Checkpoint
from clearway.ledger.witness import encode_add_checkpoint
from tests import factories as f
from tests.test_cli import clearway


@dataclass
class Node:
    folder: Path
    url: str
    base: str
    settings: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = clearway(*args, cwd=self.folder, url=self.url, settings=self.settings)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=10) as answer:
            return bytes(answer.read())


_SERVE = "from clearway.cli import main; main()"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    started: list[subprocess.Popen[bytes]] = []
    made = []
    for name, origin in (("customs", "customs.a.example/log"), ("market", "market.b.example/log")):
        folder = tmp_path / name
        folder.mkdir()
        port = _free_port()
        url = f"sqlite:///{folder / 'clearway.db'}"
        settings = {
            "CLEARWAY_LEDGER_ORIGIN": origin,
            "CLEARWAY_KEY_DIR": str(folder / "keys"),
            "CLEARWAY_CLASSIFIER_MODEL_FILE": str(folder / "none.npz"),
            "CLEARWAY_RISK_MODEL_FILE": str(folder / "none.json"),
            # The first tick loads the classifier and the screening list: on
            # a loaded machine that takes longer than the default wait.
            "CLEARWAY_DECISION_WAIT_MS": "120000",
        }
        node = Node(folder, url, f"http://127.0.0.1:{port}", settings)
        node.cli("db", "upgrade")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
        env.update(settings, CLEARWAY_DATABASE_URL=url)
        started.append(
            subprocess.Popen(
                [sys.executable, "-c", _SERVE, "serve", "--port", str(port)],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        made.append(node)
    try:
        for node in made:
            deadline = time.monotonic() + 60
            while True:
                try:
                    node.get("/api/health")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        yield made[0], made[1]
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=20)


def _submit(node: Node, key: str, refs: list[str]) -> None:
    documents = [
        f.declaration(
            declaration_id=ref,
            filer={"id": "mkt-b", "role": "marketplace", "name": "Market B"},
        )
        for ref in refs
    ]
    reply = post(
        node.base + "/api/declarations",
        orjson.dumps(documents),
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert reply.status == 200, reply.body
    assert orjson.loads(reply.body)["accepted"] == len(refs)


def _last_json(done: subprocess.CompletedProcess[str]) -> object:
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def test_second_node_witnesses_the_log_and_receives_its_events(nodes: tuple[Node, Node]) -> None:
    customs, market = nodes
    issued = _last_json(
        customs.cli(
            "participants", "add", "Market B", "--role", "marketplace", "--filer-id", "mkt-b"
        )
    )
    assert isinstance(issued, dict)
    key = issued["key"]

    # The market's node witnesses the customs log: it learns the log's key
    # from the customs node and tells the customs node its own.
    log_vkey = customs.get("/api/ledger/key").decode().strip()
    market.cli("witness", "add-log", log_vkey)
    witness_vkey = orjson.loads(market.get("/api/witness"))["vkey"]
    add_checkpoint = market.base + "/api/witness/add-checkpoint"

    # Events: the market subscribes to its declarations' events on the customs node.
    subscribed = _last_json(
        customs.cli(
            "webhooks", "add", str(issued["participant_id"]), market.base + "/api/inbox/customs-a"
        )
    )
    assert isinstance(subscribed, dict)
    market.cli("inbox", "add-sender", "customs-a", subscribed["secret"])

    _submit(customs, key, ["B-1", "B-2"])
    first = customs.cli(
        "ledger", "request-cosignature", add_checkpoint, "--witness-key", witness_vkey
    )
    assert "cosigned size" in first.stdout
    log = NoteVerifier.from_vkey(log_vkey)
    witness = NoteVerifier.from_vkey(witness_vkey)
    note = customs.get("/api/ledger/checkpoint").decode()
    size_one = published(note, log, [witness], quorum=1).size
    assert size_one > 0

    # The log grows; the witness checks a consistency proof from the size it cosigned.
    _submit(customs, key, ["B-3"])
    customs.cli("ledger", "request-cosignature", add_checkpoint, "--witness-key", witness_vkey)
    note = customs.get("/api/ledger/checkpoint").decode()
    size_two = published(note, log, [witness], quorum=1).size
    assert size_two > size_one
    assert orjson.loads(market.get("/api/witness"))["logs"] == [
        {"origin": "customs.a.example/log", "size": size_two}
    ]
    proof = orjson.loads(customs.get(f"/api/ledger/consistency?old={size_one}&new={size_two}"))
    assert proof["proof"]

    # A split view (same size, another root, validly signed) is refused, as
    # is a stale request; the 409 names the size the witness knows.
    keys = load_or_create_keys(
        customs.folder / "keys" / "ledger-customs.a.example_log.key", "customs.a.example/log"
    )
    forked = Checkpoint.issue("customs.a.example/log", size_two, b"\x01" * 32, keys.signer)
    split = post(add_checkpoint, encode_add_checkpoint(size_two, [], forked.note), {})
    assert split.status == 409
    stale = post(add_checkpoint, encode_add_checkpoint(size_one, [], forked.note), {})
    assert (stale.status, stale.content_type, stale.body) == (
        409,
        "text/x.tlog.size",
        b"%d\n" % size_two,
    )
    grown = Checkpoint.issue("customs.a.example/log", size_two + 5, b"\x02" * 32, keys.signer)
    bad_proof = post(
        add_checkpoint, encode_add_checkpoint(size_two, [b"\x03" * 32], grown.note), {}
    )
    assert bad_proof.status == 422
    stranger = Checkpoint.issue(
        "customs.a.example/log",
        1,
        b"\x04" * 32,
        load_or_create_keys(market.folder / "other.key", "customs.a.example/log").signer,
    )
    assert post(add_checkpoint, encode_add_checkpoint(0, [], stranger.note), {}).status == 403
    assert orjson.loads(market.get("/api/witness"))["logs"][0]["size"] == size_two

    # The market's node receives the events of its declarations, signed, once each.
    sent = _last_json(customs.cli("webhooks", "deliver"))
    assert isinstance(sent, dict)
    assert sent["sent"] >= 3
    assert sent["failed"] == 0
    received = _last_json(market.cli("inbox", "list"))
    assert isinstance(received, list)
    assert len(received) == sent["sent"]
    refs = {orjson.loads(r["payload"])["declaration_id"] for r in received}
    assert refs == {"B-1", "B-2", "B-3"}
    assert {r["event_type"] for r in received} >= {"declaration.filed"}
    assert _last_json(customs.cli("webhooks", "deliver")) == {"queued": 0, "sent": 0, "failed": 0}
    unsigned = post(
        market.base + "/api/inbox/customs-a",
        b'{"type": "declaration.filed"}',
        {"Clearway-Signature": "t=1,v1=00", "Idempotency-Key": "x"},
    )
    assert unsigned.status == 401
