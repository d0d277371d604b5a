"""What operators see of a running node: Prometheus metrics and structured
JSON logs, with the request id of an HTTP submission carried to the
sequencer's decision of it.

Metrics are the ``prometheus_client`` library's. Under several server
worker processes each process writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (``clearway serve`` sets one up before the
workers start) and ``/metrics`` adds them up; without it (one process, the
CLI, tests) they live in this process's registry. What is a level rather
than a count (the queue's depth) is read from the store when scraped, so
every worker answers the same.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = [
    "ACKNOWLEDGED",
    "CONTENT_TYPE_LATEST",
    "DECIDED",
    "DECISION_SECONDS",
    "REJECTIONS",
    "TICK_FILINGS",
    "TICK_SECONDS",
    "JsonFormatter",
    "configure_logging",
    "metrics_text",
    "new_request_id",
    "request_id",
]

# Buckets from 1 ms to 10 s: an acknowledgement is milliseconds, a decision
# at most a few seconds when the queue is deep.
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

ACKNOWLEDGED = Histogram(
    "clearway_acknowledgement_seconds",
    "POST /api/declarations: from the request's arrival to its filings durably queued.",
    buckets=_LATENCY,
)
DECISION_SECONDS = Histogram(
    "clearway_decision_seconds",
    "From a filing's receipt to the sequencer's decision of it (lane committed).",
    buckets=_LATENCY,
)
DECIDED = Counter(
    "clearway_filings_decided",
    "House filings decided, by arrival office and lane (status when no risk stage runs).",
    ["office", "lane"],
)
REJECTIONS = Counter(
    "clearway_rejections",
    "Refused records and requests, by error code (the code of the one JSON error shape).",
    ["code"],
)
TICK_FILINGS = Histogram(
    "clearway_sequencer_tick_filings",
    "Filings decided per sequencer tick (one transaction, one signed checkpoint).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
)
TICK_SECONDS = Histogram(
    "clearway_sequencer_tick_seconds",
    "Duration of a sequencer tick: stages, decisions and the transaction.",
    buckets=_LATENCY,
)


class _Levels(Collector):
    """Gauges read at scrape time (the queue's depth): the store knows them,
    whichever process answers."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        for name, value in self.read().items():
            gauge = GaugeMetricFamily(f"clearway_{name}", _LEVELS.get(name, name))
            gauge.add_metric([], value)
            yield gauge


_LEVELS = {
    "intake_queue_depth": "Filings waiting in the durable intake queue.",
}


def metrics_text(levels: Callable[[], dict[str, float]] | None = None) -> bytes:
    """The Prometheus exposition of every metric of this node (every worker
    process's, when the server runs several), plus ``levels`` read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    text = generate_latest(counted)
    if levels is not None:
        read = CollectorRegistry()
        read.register(_Levels(levels))
        text += generate_latest(read)
    return text


# The request being served (or whose filings are being decided); in every
# log line written meanwhile.
request_id: ContextVar[str | None] = ContextVar("clearway_request_id", default=None)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id(offered: str | None) -> str:
    """The id a client offered (X-Request-Id), when it is a plausible one,
    else a new random one: a client's id joins its logs and ours."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request
    id when there is one, and every ``extra`` field of the call."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str = "info") -> None:
    """Send clearway's logs (and the server's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("clearway", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
