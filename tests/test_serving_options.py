"""How `clearway serve` runs uvicorn: what it passes is what uvicorn takes."""

from __future__ import annotations

import inspect

import uvicorn

from clearway.api.serving import uvicorn_options
from clearway.settings import Settings


def test_workers_have_a_minute_to_answer_the_supervisors_health_ping() -> None:
    # uvicorn's default, 5 s, killed every worker still starting on a
    # loaded 2-core machine, and the replacements too.
    options = uvicorn_options(Settings())
    assert options["timeout_worker_healthcheck"] == 60
    assert set(options) <= set(inspect.signature(uvicorn.run).parameters)


def _nodelay_of_accepted(apply: bool) -> int:
    """TCP_NODELAY of a connection accepted on a listening socket made as
    uvicorn makes it for its worker processes (``proto`` 0)."""
    import asyncio
    import socket

    from clearway.api.serving import _no_delay

    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if apply:
                _no_delay(transport)  # type: ignore[arg-type]
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def run() -> None:
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.bind(("127.0.0.1", 0))
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        _, writer = await asyncio.open_connection(*listening.getsockname())
        while not seen:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(run())
    return seen[0]


def test_answers_are_sent_at_once_under_several_workers() -> None:
    # asyncio leaves Nagle's algorithm on for such a socket: each answer
    # then waited ~40 ms for the client's delayed ACK.
    assert _nodelay_of_accepted(apply=False) == 0
    assert _nodelay_of_accepted(apply=True) == 1
