"""Refusing a NUL character anywhere in a request's URL, before routing.

A path parameter or query value holding ``%00`` reaches the store as text
with a NUL, which PostgreSQL refuses with an error (a 500); no identifier
clearway issues or accepts holds one (intake refuses them), so such a
request can only be a probe. It is answered 400 in the one error shape.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RefuseNulInUrl"]


class RefuseNulInUrl:
    """ASGI middleware: 400 for any URL whose path or query holds a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"]
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            answer = JSONResponse(
                {
                    "ok": False,
                    "errors": [
                        {
                            "code": "nul_character",
                            "field": "url",
                            "message": "must not contain the NUL character (%00).",
                        }
                    ],
                    "status": 400,
                },
                status_code=400,
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)
