"""What every request passes before any endpoint sees it: a limit on its
body, and the headers that tell browsers how to treat every answer.

Bodies: one table says how many bytes each endpoint takes; a declared
Content-Length over it is refused with 413 before one byte of the body is
read, and a body sent without a length (chunked) is counted as it streams
in and refused as soon as it passes the limit. Nothing is buffered before
authentication beyond that limit. A body that stops arriving (a client
holding a request open one byte at a time) is refused with 408.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearway.settings import Settings

__all__ = ["BodyLimit", "SecurityHeaders", "body_limits"]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    path: re.Pattern[str]
    limit: int


def body_limits(settings: Settings) -> Callable[[str, str], int]:
    """Bytes of body each endpoint takes, by method and path: the intake
    its configured document size, the rules page a rules file, everything
    else (sign-in, witness, inbox, referrals, outcomes...) small forms and
    JSON objects."""
    routes = (
        _Route("POST", re.compile(r"/api/declarations"), settings.max_json_document_bytes),
        # The form carries the rules text, URL-encoded (up to 3 bytes a byte).
        _Route("POST", re.compile(r"/rules"), 3 * settings.max_rules_bytes + 4096),
    )
    default = settings.max_request_bytes

    def limit(method: str, path: str) -> int:
        for route in routes:
            if route.method == method and route.path.fullmatch(path):
                return route.limit
        return default

    return limit


def _message(limit: int) -> str:
    return f"the request body is larger than this endpoint takes ({limit} bytes)"


class BodyLimit:
    """Refuse a body larger than its endpoint takes (413, the one error
    shape), or one that stops arriving for ``idle_s`` seconds (408); either
    way the connection is closed after the answer, unread rest and all."""

    def __init__(
        self, app: ASGIApp, limits: Callable[[str, str], int], idle_s: float = 30.0
    ) -> None:
        self.app = app
        self.limits = limits
        self.idle_s = idle_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits(scope["method"], scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _refuse(send, limit)
                return
        received = 0
        complete = False
        refused = False

        async def counted() -> Message:
            nonlocal received, complete, refused
            if complete:
                # After the body, the app only listens for the client leaving.
                return await receive()
            try:
                with anyio.fail_after(self.idle_s):
                    message = await receive()
            except TimeoutError:
                refused = True
                raise HTTPException(
                    408, f"the request body stopped arriving for {self.idle_s:g} s"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    # Raised where the endpoint (or FastAPI for it) reads the
                    # body; the app's handler answers it in the one shape.
                    refused = True
                    raise HTTPException(413, _message(limit))
            return message

        async def closing(message: Message) -> None:
            if refused and message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, counted, closing)


async def _refuse(send: Send, limit: int) -> None:
    error = {"code": "too_large", "field": "", "message": _message(limit)}
    body = orjson.dumps({"ok": False, "errors": [error], "status": 413})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot
                # carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The workspace serves every script and style from /static and has no
# inline script or style attribute: nothing else may run or load.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's interactive documentation loads Swagger UI and ReDoc from their
# CDN and starts them with an inline script: allowed on those pages only,
# which show nothing from the store.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")
_COMMON = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Content-Security-Policy, framing, sniffing and referrer headers on
    every answer (an endpoint's own value of one of them wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (_DOCS_CSP if scope["path"] in _DOCS else _CSP).encode()
        added = (*_COMMON, (b"content-security-policy", csp))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in added if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
