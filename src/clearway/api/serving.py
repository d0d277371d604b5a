"""How `clearway serve` (and the demo) run the app under uvicorn: limits on
connections, so that clients who connect and then send slowly, or not at
all, cannot hold the server's connections.

Uvicorn closes an *idle* keep-alive connection, but any byte received
restarts that wait, and a new connection has no deadline at all: a client
sending one header byte every few seconds would hold its connection for
ever (slow headers, "slowloris"). Here each connection has
``header_timeout_s`` to send a complete request line and headers, counted
from when it connected or from its last answer, whatever it trickles in.
"""

from __future__ import annotations

import asyncio
import socket
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from clearway.settings import Settings

__all__ = ["HeaderDeadlineProtocol", "uvicorn_options"]

# Largest request line and headers (h11's default, said here): bigger is a 400.
MAX_HEADER_BYTES = 16_384
# How long uvicorn's supervisor waits for a worker process to answer its
# health ping before it kills and replaces it. Its default, 5 s, is shorter
# than a spawned worker's imports and start-up on a loaded 2-core machine
# (seen: every new worker killed at 5 s, replaced, killed again, the server
# never serving), and a busy worker answers late too: a worker that is
# really hung is still replaced, a minute later.
WORKER_HEALTHCHECK_S = 60


@cache
def _header_timeout_s() -> float:
    # Read in each process: uvicorn's worker processes get the protocol
    # class by name (pickled), not a configured instance of it, and they
    # read their settings from the same CLEARWAY_* environment.
    return Settings().header_timeout_s


def _no_delay(transport: asyncio.Transport) -> None:
    """Send each answer at once (TCP_NODELAY). asyncio sets it only on
    sockets whose ``proto`` says TCP, and the listening socket uvicorn
    hands its worker processes (``--workers N``) says 0: each answer's
    headers and body, written separately, then waited out Nagle's
    algorithm against the client's delayed ACK, about 40 ms a request."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HeaderDeadlineProtocol(H11Protocol):
    """HTTP/1.1 where a request's headers must be complete in time."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        if not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(
                _header_timeout_s(), self._header_deadline_passed
            )

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        # IDLE: the next request's headers have not all arrived (h11 leaves
        # that state once they have); a request being answered is left be.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound connections (the
    header deadline is read from the environment by each worker)."""
    return {
        "http": HeaderDeadlineProtocol,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": settings.max_connections,
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_S,
        # X-Forwarded-Proto and -For (from the addresses in uvicorn's
        # FORWARDED_ALLOW_IPS, 127.0.0.1 by default) only when told there is
        # a proxy that sets them: otherwise any client could claim HTTPS or
        # another address (and spread its sign-in failures over many).
        "proxy_headers": settings.trust_forwarded_proto,
    }
