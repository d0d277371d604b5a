"""The workspace's screening pieces: the lists screened against (with the
stale-list warning), the alerts rescreens raised, the false-positive marks,
and an officer marking a hit as a false positive."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from clearway.errors import ClearwayError
from clearway.store.reading import get_declaration
from clearway.store.screening import read_alerts, read_false_positives, stored_lists
from clearway.store.users import WebUser
from clearway.web.session import Officer, check_csrf, context_of, templates
from clearway.wiring import mark_screening_false_positive, screening_from_store, screening_warning

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/screening", response_class=HTMLResponse)
def screening(request: Request, user: Officer) -> Response:
    context = context_of(request)
    imported = {row["name"]: row for row in stored_lists(context.store)}
    options = screening_from_store(context.settings, context.store)
    return templates.TemplateResponse(
        request,
        "screening.html",
        {
            "user": user,
            "active": "screening",
            "lists": options.lists if options else (),
            "imported": imported,
            "warning": screening_warning(context.settings, context.store),
            "alerts": read_alerts(context.store, 200),
            "marks": read_false_positives(context.store, 100),
        },
    )


@router.post("/declarations/{ref}/screening/false-positive")
async def mark(request: Request, ref: str, user: Officer, filer: str | None = None) -> Response:
    form = await request.form()
    check_csrf(user, form)
    return await run_in_threadpool(_mark, request, ref, user, filer, form)


def _mark(request: Request, ref: str, user: WebUser, filer: str | None, form: FormData) -> Response:
    """Record a false-positive mark (in a worker thread)."""
    context = context_of(request)
    view = get_declaration(context.store, ref, filer)
    try:
        mark_screening_false_positive(
            context.store,
            context.settings,
            declaration_row=view.row_id,
            role=str(form.get("role", "")),
            list_name=str(form.get("list_name", "")),
            entry_id=str(form.get("entry_id", "")),
            officer=user.username,
            note=str(form.get("note", "")) or "marked in the workspace",
        )
        context.refresh_stages()
        message = "false positive recorded: later screenings of this party skip this entry"
    except ClearwayError as exc:
        message = f"not done: {exc}"
    query = urlencode({"filer": view.filer_id, "done": message})
    return RedirectResponse(f"/declarations/{view.ref}?{query}", status_code=303)
