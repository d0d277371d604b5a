"""What operators see: a real `clearway serve` with two worker processes
answers /metrics with every worker's counts added up (acknowledgements,
decisions per office and lane, rejections by code, the queue's depth), and
its JSON log lines follow one request id from the HTTP request to the
sequencer's decision of the filing it carried."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import orjson

from clearway.observability import JsonFormatter, new_request_id, request_id
from tests.test_event_loop import _houses, _serving


def _samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value, for the lines of an exposition."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def _log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for raw in path.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(orjson.loads(raw))
    return lines


def test_metrics_and_logs_follow_a_filing_from_request_to_decision(tmp_path: Path) -> None:
    good, bad = _houses(2)
    bad = {**bad, "destination_country": "ZZ"}
    with _serving(tmp_path, workers=2, decision_wait_ms="60000") as server:
        headers = {
            "Authorization": f"Bearer {server.filer_key}",
            "Content-Type": "application/json",
            "X-Request-Id": "req-from-market-1",
        }
        status, answer_headers, raw = server.request(
            "POST", "/api/declarations", orjson.dumps(good), headers
        )
        assert (status, orjson.loads(raw)["decided"]) == (200, True), raw
        assert answer_headers["x-request-id"] == "req-from-market-1"
        status, refused = server.call(
            server.filer_key, "POST", "/api/declarations", orjson.dumps(bad)
        )
        assert status == 422
        codes = [e["code"] for e in refused["errors"]]
        # A filer may not read the node's metrics; an officer may.
        assert server.call(server.filer_key, "GET", "/metrics")[0] == 403
        status, metric_headers, text = server.request(
            "GET", "/metrics", headers={"Authorization": f"Bearer {server.officer_key}"}
        )
        assert status == 200
        assert metric_headers["content-type"].startswith("text/plain")
        samples = _samples(text.decode())
        office = good["transport"]["arrival_office"]
        decided = {
            name: value
            for name, value in samples.items()
            if name.startswith("clearway_filings_decided_total{")
        }
        # One filing decided, in its office; whichever worker answered the
        # scrape, the sequencer's worker's count is in it.
        assert sum(decided.values()) == 1.0
        (labels,) = decided
        assert f'office="{office}"' in labels
        assert re.search(r'lane="(green|yellow|red|black)"', labels)
        assert samples["clearway_acknowledgement_seconds_count"] == 2.0
        assert samples["clearway_decision_seconds_count"] == 1.0
        assert samples["clearway_sequencer_tick_filings_count"] >= 1.0
        for code in codes:
            assert samples[f'clearway_rejections_total{{code="{code}"}}'] >= 1.0
        assert samples["clearway_intake_queue_depth"] == 0.0
    lines = _log_lines(tmp_path / "serve.log")
    request = [
        line
        for line in lines
        if line.get("logger") == "clearway.http" and line.get("request_id") == "req-from-market-1"
    ]
    assert [(r["method"], r["path"], r["status"]) for r in request] == [
        ("POST", "/api/declarations", 200)
    ]
    decision = [
        line
        for line in lines
        if line.get("logger") == "clearway.sequencer" and line.get("message") == "decided"
    ]
    assert [(d["request_id"], d["ref"], d["office"]) for d in decision] == [
        ("req-from-market-1", good["declaration_id"], office)
    ]
    assert decision[0]["lane"] in {"green", "yellow", "red", "black"}


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "clearway.x", "levelno": logging.INFO, "levelname": "INFO", "msg": "hello %s"}
    )
    record.args = ("world",)
    record.__dict__["ref"] = "D-1"
    token = request_id.set("abc")
    try:
        line = orjson.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert {k: line[k] for k in ("level", "logger", "message", "request_id", "ref")} == {
        "level": "info",
        "logger": "clearway.x",
        "message": "hello world",
        "request_id": "abc",
        "ref": "D-1",
    }


def test_a_request_id_is_the_clients_when_plausible() -> None:
    assert new_request_id("req-1.a:b_c") == "req-1.a:b_c"
    for offered in (None, "", "x" * 65, "a b", "<script>", "é"):
        made = new_request_id(offered)
        assert re.fullmatch(r"[0-9a-f]{32}", made), offered
