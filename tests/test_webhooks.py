"""Signed webhooks to a real HTTP receiver on 127.0.0.1: only the
subscriber's declarations, signed, retried with the same idempotency key."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
from sqlalchemy import Engine

from clearway.clearance import Stages
from clearway.federation.sealing import sealer_for
from clearway.federation.transport import post
from clearway.federation.webhooks import next_attempt, sign, verify
from clearway.ledger.keys import load_or_create_keys
from clearway.settings import Settings
from clearway.store.participants import add_participant
from clearway.store.webhooks import add_subscription, deliver_webhooks, queue_webhooks
from clearway.wiring import ingest_files
from tests import factories as f


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first: ClassVar[bool] = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        failing = type(self).fail_first
        type(self).fail_first = False
        self.send_response(500 if failing else 200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    _Receiver.received = []
    _Receiver.fail_first = True
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver
    server.shutdown()
    server.server_close()


def test_signature_round_trip_and_backoff() -> None:
    body = b'{"a":1}'
    header = sign("s3cret", body, "evt-1", 1_700_000_000)
    assert verify("s3cret", body, "evt-1", header, 1_700_000_100)
    assert not verify("other", body, "evt-1", header, 1_700_000_100)
    assert not verify("s3cret", body + b" ", "evt-1", header, 1_700_000_100)
    assert not verify("s3cret", body, "evt-2", header, 1_700_000_100), "the key is signed"
    assert not verify("s3cret", body, "evt-1", header, 1_700_010_000), "too old: a replay"
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert next_attempt(1, now) - now == timedelta(seconds=2)
    assert next_attempt(30, now) - now == timedelta(hours=1)


def test_deliveries_are_signed_scoped_and_retried(
    engine: Engine, tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    shop = add_participant(engine, "shop", "marketplace", filer_id="mkt-1")
    now = datetime.now(UTC)
    sealer = sealer_for(Settings(key_dir=str(tmp_path / "keys")))
    subscription, secret = add_subscription(
        engine, shop.participant_id, url, "declaration.", now, sealer
    )
    mine = [f.declaration(), f.declaration()]
    theirs = f.declaration(filer={"id": "mkt-2", "role": "marketplace", "name": "Other"})
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*mine, theirs))
    keys = load_or_create_keys(tmp_path / "ledger.key", "customs.example/log")
    ingest_files(engine, [path], stages=Stages(ledger=keys))
    queued = queue_webhooks(engine, now)
    assert queued >= 2
    assert queue_webhooks(engine, now) == 0, "each event is queued once"
    first = deliver_webhooks(engine, post, now, sealer)
    assert first == {"sent": queued - 1, "failed": 1}
    # Not due yet: the failed one waits for its backoff.
    assert deliver_webhooks(engine, post, now, sealer) == {"sent": 0, "failed": 0}
    assert deliver_webhooks(engine, post, now + timedelta(seconds=5), sealer) == {
        "sent": 1,
        "failed": 0,
    }
    received = handler.received
    assert len(received) == queued + 1
    keys_seen = [headers["Idempotency-Key"] for headers, _ in received]
    assert keys_seen[0] == keys_seen[-1], "the retry carries the same idempotency key"
    refs = set()
    for headers, body in received:
        key = headers["Idempotency-Key"]
        assert verify(secret, body, key, headers["Clearway-Signature"], int(time.time()))
        payload = orjson.loads(body)
        assert payload["type"].startswith("declaration.")
        refs.add(payload["declaration_id"])
    assert refs == {d["declaration_id"] for d in mine}
    assert subscription > 0
