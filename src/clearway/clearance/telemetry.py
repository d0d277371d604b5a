"""What a sequencer tick tells operators: its size and duration, each
filing's decision latency and lane per office (Prometheus), and one JSON
log line per decided filing carrying the id of the request that filed it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from clearway import observability as obs
from clearway.clearance.ports import QueuedFiling
from clearway.clearance.sequencer import TickResult

__all__ = ["record_tick"]

_log = logging.getLogger("clearway.sequencer")


def record_tick(peeked: Sequence[QueuedFiling], result: TickResult, started: float) -> None:
    """Observe one tick that decided ``peeked`` (begun at ``started``, a
    ``time.perf_counter()``)."""
    obs.TICK_SECONDS.observe(time.perf_counter() - started)
    obs.TICK_FILINGS.observe(len(peeked))
    now = datetime.now(UTC)
    queued = {(f.filer_id, f.ref): f for f in peeked if f.kind == "house"}
    for queued_filing in peeked:
        obs.DECISION_SECONDS.observe((now - queued_filing.received_at).total_seconds())
    logs = _log.isEnabledFor(logging.INFO)
    for decided in result.decided:
        outcome = decided.lane or decided.status
        obs.DECIDED.labels(decided.office, outcome).inc()
        if not logs:
            continue
        filing = queued.get((decided.filer_id, decided.ref))
        _log.info(
            "decided",
            extra={
                "request_id": filing.request_id if filing else None,
                "filer_id": decided.filer_id,
                "ref": decided.ref,
                "status": decided.status,
                "version": decided.version,
                "lane": decided.lane,
                "office": decided.office,
                "selected_by": decided.selected_by,
                "decision_ms": round((now - filing.received_at).total_seconds() * 1000, 1)
                if filing
                else None,
            },
        )
