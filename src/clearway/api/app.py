"""The HTTP API: filers submit declarations and read their own, officers
read queues and declarations, operators read their tier, anyone checks the
ledger, other nodes ask this one to witness their logs and send it events.

Each endpoint parses, asks the data-sharing policy (one place:
:class:`clearway.federation.Policy`), calls one core function and formats.
Errors use the one JSON shape of :mod:`clearway.errors`, whatever raised
them (clearway, request validation, unknown routes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from clearway import __version__
from clearway.api import declarations, inbox, ledger, operators, referrals, screening
from clearway.api.context import ERRORS, Context, Ctx, Who
from clearway.api.guard import BodyLimit, SecurityHeaders, body_limits
from clearway.api.observe import RequestLog
from clearway.api.urls import RefuseNulInUrl
from clearway.errors import ClearwayError, Overloaded
from clearway.federation.policy import load_policy
from clearway.observability import CONTENT_TYPE_LATEST, REJECTIONS, metrics_text
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.web import add_workspace, error_page

__all__ = ["create_app"]

_HTTP_CODES = {404: "not_found", 408: "timeout", 413: "too_large"}


def _error(status: int, code: str, message: str, field: str = "") -> JSONResponse:
    return JSONResponse(
        {
            "ok": False,
            "errors": [{"code": code, "field": field, "message": message}],
            "status": status,
        },
        status_code=status,
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Before this worker takes its first connection (the others serve
    # meanwhile): its first requests would otherwise load them.
    await run_in_threadpool(app.state.context.service.warm_intake)
    yield
    # On shutdown the sequencer stops after its tick and gives up the lead,
    # so that another process of the server takes it over now rather than
    # when this one has exited.
    await run_in_threadpool(app.state.context.service.stop)


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The API over the store of ``settings``."""
    store = engine or open_engine(settings.database_url)
    app = FastAPI(
        title="clearway",
        version=__version__,
        description="Clearance and targeting for cross-border e-commerce.",
        responses=ERRORS,
        lifespan=_lifespan,
    )
    context = Context.open(settings, store, load_policy(settings.sharing_policy_file))
    app.state.context = context
    # The sequencer loop: in one process of the server at a time (the
    # others queue and wait); it loads the stages' files first.
    context.service.start()

    @app.exception_handler(ClearwayError)
    async def _clearway_error(request: Request, exc: ClearwayError) -> Response:
        if not request.url.path.startswith(("/api/", "/metrics")):
            # Rendering a template is work for a thread, not the event loop.
            return await run_in_threadpool(error_page, request, exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Overloaded) else None
        for error in exc.errors():
            REJECTIONS.labels(error["code"]).inc()
        return JSONResponse(exc.as_json(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "code": str(e.get("type", "invalid")),
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "message": str(e.get("msg", "")),
            }
            for e in exc.errors()
        ]
        for error in errors:
            REJECTIONS.labels(error["code"]).inc()
        return JSONResponse({"ok": False, "errors": errors, "status": 422}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http")
        REJECTIONS.labels(code).inc()
        return _error(exc.status_code, code, str(exc.detail))

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        """Liveness: the service answers. On the event loop itself, so it
        answers while every worker thread is busy and shows when the loop
        is not."""
        return {"ok": True, "version": __version__}

    # Response, not PlainTextResponse: FastAPI documents the error answers
    # in the route's media type, and they are the one JSON error shape.
    @app.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {
                "description": "The Prometheus text exposition format",
                "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            },
            **ERRORS,
        },
    )
    async def metrics(who: Who, ctx: Ctx) -> Response:
        """Prometheus metrics of every worker process of this node (queue
        depth, acknowledgement and decision latency, filings and lanes per
        office, rejections by error code, sequencer ticks). Needs the API
        key of a role allowed `read_metrics` (customs roles)."""
        ctx.policy.require(who, "read_metrics")

        def levels() -> dict[str, float]:
            return {"intake_queue_depth": float(ctx.service.store.pending())}

        text = await run_in_threadpool(metrics_text, levels)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    for module in (declarations, referrals, operators, ledger, inbox, screening):
        app.include_router(module.router)
    declarations.document_submission(app)
    add_workspace(app)
    app.add_middleware(RefuseNulInUrl)
    # Outermost last: every answer, a refused body's too, carries the headers.
    app.add_middleware(BodyLimit, limits=body_limits(settings), idle_s=settings.body_timeout_s)
    app.add_middleware(SecurityHeaders)
    # Around everything: every request, refused or not, has its id and its line.
    app.add_middleware(RequestLog)
    return app
