"""The officer workspace: server-rendered pages over the same store and
core functions as the API (queue, declarations, actions, operators, rules,
trends). No front-end build step; every asset is served from here."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from clearway.errors import ClearwayError
from clearway.web import admin, dashboard, pages, screening
from clearway.web.session import SignInRequired, templates

__all__ = ["add_workspace", "error_page"]


def add_workspace(app: FastAPI) -> None:
    """Serve the workspace beside the API of ``app``."""
    static = Path(str(resources.files("clearway.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")
    for module in (pages, admin, dashboard, screening):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/signin?" + urlencode({"next": target}), status_code=303)


def error_page(request: Request, exc: ClearwayError) -> HTMLResponse:
    """A clearway error on a workspace page, as a page (the API answers JSON)."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {"user": None, "error": exc},
        status_code=exc.status,
    )
