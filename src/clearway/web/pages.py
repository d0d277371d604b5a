"""The officer workspace's pages: sign-in, the targeting queue, a
declaration with everything known about it, and officers' actions. Each
handler parses, calls one store function and renders a template.

Handlers that read a form are ``async`` (the form is read from the
socket); what they then do (scrypt, the store) runs in a worker thread so
that the event loop keeps answering every other request."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from clearway.classification.listing import listing_text
from clearway.classification.loading import classifier_for
from clearway.classification.neighbours import evidence_lines
from clearway.errors import ClearwayError, NotAuthenticated, TooManyAttempts
from clearway.ledger.events import Disclosure
from clearway.settings import Settings
from clearway.store.confirmations import read_confirmations
from clearway.store.decisions import decide
from clearway.store.ledger import prove
from clearway.store.queue import SORTS, QueueFilter, read_queue
from clearway.store.reading import get_declaration
from clearway.store.report import officer_report
from clearway.store.users import WebUser, sign_out
from clearway.web.accounts import SignInLimits, begin_sign_in, sign_in
from clearway.web.session import (
    COOKIE,
    SIGN_IN_COOKIE,
    Officer,
    check_csrf,
    context_of,
    is_https,
    read_form,
    set_sign_in_cookie,
    sign_in_token,
    sign_in_token_matches,
    templates,
)
from clearway.wiring import confirm_item_classification, screening_warning

__all__ = ["router"]

_FILINGS = ("declaration.filed", "declaration.amended")

router = APIRouter(include_in_schema=False)

PAGE = 50
Text = Annotated[str | None, Query(max_length=128)]
# Signing in hashes the password (scrypt: CPU and memory on purpose). At
# most this many hash at once, in their own threads; the others wait on the
# event loop, holding no thread, so that a burst of sign-ins (or a guessing
# attack) cannot take every core from the requests being answered.
_HASHING = anyio.CapacityLimiter(max(1, (os.cpu_count() or 1) // 2))


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/queue", failed: bool = False) -> Response:
    return _signin_form(request, next, "Unknown user or wrong password." if failed else None)


def _signin_form(
    request: Request,
    target: str,
    error: str | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in page, with the form's token and its cookie."""
    token = sign_in_token(request)
    response = templates.TemplateResponse(
        request,
        "signin.html",
        {"next": target, "error": error, "csrf": token, "user": None},
        status_code=status,
        headers=headers,
    )
    set_sign_in_cookie(request, response, token)
    return response


def _limits(settings: Settings) -> SignInLimits:
    return SignInLimits(
        per_name=settings.sign_in_max_failures,
        per_address=settings.sign_in_max_failures_per_address,
        window=timedelta(seconds=settings.sign_in_window_s),
        lockout=timedelta(seconds=settings.sign_in_lockout_s),
    )


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await read_form(request)
    target = str(form.get("next") or "/queue")
    if not target.startswith("/") or target.startswith("//"):
        target = "/queue"
    if not sign_in_token_matches(request, form):
        # Login CSRF: a form posted from another site (or one whose cookie
        # expired) signs nobody in; a fresh form is shown instead.
        stale = "The sign-in form was stale or not from this workspace: sign in again."
        return await run_in_threadpool(_signin_form, request, target, stale, status=403)
    context = context_of(request)
    username = str(form.get("username", ""))
    now = datetime.now(UTC)
    try:
        # The lockout first, in an ordinary worker thread: a locked-out
        # guess is refused without waiting for (or taking) a hashing slot.
        attempt = await run_in_threadpool(
            begin_sign_in,
            context.store,
            username,
            request.client.host if request.client else "",
            _limits(context.settings),
            now,
        )
        token = await anyio.to_thread.run_sync(
            partial(
                sign_in,
                context.store,
                username,
                str(form.get("password", "")),
                now,
                attempt=attempt,
            ),
            limiter=_HASHING,
        )
    except NotAuthenticated:
        query = urlencode({"next": target, "failed": "true"})
        return RedirectResponse(f"/signin?{query}", status_code=303)
    except TooManyAttempts as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        message = f"Too many failed sign-ins: try again in {exc.retry_after} seconds."
        return await run_in_threadpool(
            _signin_form, request, target, message, status=429, headers=headers
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        max_age=12 * 3600,
        secure=is_https(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def signout(request: Request, user: Officer) -> Response:
    check_csrf(user, await read_form(request), act=False)
    await run_in_threadpool(sign_out, context_of(request).store, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    user: Officer,
    lane: Annotated[str, Query(pattern="^(|green|yellow|red|black)$")] = "red",
    office: Text = None,
    origin: Text = None,
    marketplace: Text = None,
    carrier: Text = None,
    rule: Text = None,
    sort: Annotated[str, Query(pattern="^-?(score|filed|value)$")] = "score",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    where = QueueFilter(
        lane=lane or None,
        office=office or None,
        origin=origin or None,
        marketplace=marketplace or None,
        carrier=carrier or None,
        rule=rule or None,
    )
    rows, total = read_queue(
        context_of(request).store,
        where,
        sort=sort,  # type: ignore[arg-type]
        offset=(page - 1) * PAGE,
        limit=PAGE,
        count=True,
    )
    filters = {
        "lane": lane,
        "office": office or "",
        "origin": origin or "",
        "marketplace": marketplace or "",
        "carrier": carrier or "",
        "rule": rule or "",
    }
    return templates.TemplateResponse(
        request,
        "queue.html",
        {
            "user": user,
            "rows": rows,
            "total": total or 0,
            "page": page,
            "pages": max(1, -(-(total or 0) // PAGE)),
            "filters": filters,
            "sort": sort,
            "sorts": list(SORTS),
            "link": lambda **change: "/queue?" + urlencode({**filters, "sort": sort, **change}),
            # The newest restricted-party list too old: officers see it here.
            "screening_warning": screening_warning(
                context_of(request).settings, context_of(request).store
            ),
        },
    )


def _ledger_proof(
    request: Request, events: list[dict[str, Any]], document: dict[str, Any]
) -> dict[str, Any] | None:
    """The inclusion proof of the shown version's filing event, and one
    disclosure per field of the document the page shows, for the page's
    script to check each field against its commitment in the leaf and the
    leaf against the signed checkpoint."""
    if not events:
        return None
    context = context_of(request)
    filing = next((e for e in events if e["type"] in _FILINGS), events[0])
    proof = prove(context.store, filing["event_id"])
    keys = context.stages.ledger
    return {
        "event_id": filing["event_id"],
        "index": proof.index,
        "size": proof.size,
        "leaf": base64.b64encode(proof.leaf).decode(),
        "proof": [base64.b64encode(h).decode() for h in proof.hashes],
        "checkpoint": proof.checkpoint,
        "vkey": keys.signer.verifier.vkey() if keys else "",
        # Made from the stored document as shown: a changed field gives a
        # digest the leaf does not hold, and the badge fails naming it.
        "disclosures": [
            Disclosure.make(keys.secret, filing["event_id"], name, value).text
            for name, value in document.items()
        ]
        if keys
        else [],
    }


@router.get("/declarations/{ref}", response_class=HTMLResponse)
def declaration(
    request: Request,
    ref: str,
    user: Officer,
    filer: Text = None,
    done: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    context = context_of(request)
    book = context.stages.duty.book if context.stages.duty else None
    reasons = (
        {rule.id: rule.reason for regime in book.regimes for rule in regime.rules} if book else None
    )
    view, report = officer_report(context.store, ref, filer, reasons)
    return templates.TemplateResponse(
        request,
        "declaration.html",
        {
            "user": user,
            "view": view,
            "r": report,
            "doc": report["declaration"],
            "hs": _item_evidence(context.settings, report["declaration"].get("items") or []),
            "confirmed": read_confirmations(context.store, view.row_id),
            "proof": _ledger_proof(request, report["ledger"], report["declaration"]),
            "done": done,
        },
    )


@router.post("/declarations/{ref}/actions")
async def act(request: Request, ref: str, user: Officer, filer: Text = None) -> Response:
    form = await read_form(request)
    check_csrf(user, form)
    return await run_in_threadpool(_act, request, ref, user, filer, form)


def _act(request: Request, ref: str, user: WebUser, filer: str | None, form: FormData) -> Response:
    """Record an officer's action on a declaration (in a worker thread)."""
    context = context_of(request)
    view = get_declaration(context.store, ref, filer)
    action = str(form.get("action", ""))
    try:
        hours = float(str(form.get("due_hours") or 24))
        decide(
            context.store,
            view,
            action,
            user.username,
            str(form.get("note", "")),
            datetime.now(UTC),
            keys=context.stages.ledger,
            outcome=str(form.get("outcome")) if form.get("outcome") else None,
            due=timedelta(hours=min(max(hours, 1.0), 24 * 30)),
        )
        message = f"{action} recorded"
    except (ClearwayError, ValueError) as exc:
        message = f"not done: {exc}"
    query = urlencode({"filer": view.filer_id, "done": message})
    return RedirectResponse(f"/declarations/{view.ref}?{query}", status_code=303)


def _item_evidence(settings: Settings, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per item line, what its HS suggestion rests on (in words) and
    whether it is unsure: computed when the page is shown, not at intake."""
    if not items:
        return []
    model = classifier_for(settings.classifier_model_file, settings.classifier_precedents_file)
    texts = [
        listing_text(
            str(item.get("description") or ""),
            item.get("category_path"),
            item.get("material"),
            item.get("brand"),
        )
        for item in items
    ]
    unsure = model.suggest(texts, k=1).unsure(settings.classifier_unsure_below)
    out = []
    for found, is_unsure in zip(model.evidence(texts), unsure, strict=True):
        lines = evidence_lines(found, 2)
        out.append({"unsure": bool(is_unsure), "lines": lines})
    return out


@router.post("/declarations/{ref}/items/{line}/classification")
async def classify_item(
    request: Request, ref: str, line: int, user: Officer, filer: Text = None
) -> Response:
    form = await read_form(request)
    check_csrf(user, form)
    return await run_in_threadpool(_classify_item, request, ref, line, user, filer, form)


def _classify_item(
    request: Request, ref: str, line: int, user: WebUser, filer: str | None, form: FormData
) -> Response:
    """Confirm or correct an item line's HS code (in a worker thread)."""
    context = context_of(request)
    view = get_declaration(context.store, ref, filer)
    action = str(form.get("action", ""))
    try:
        row = confirm_item_classification(
            context.store,
            context.settings,
            context.stages.ledger,
            view,
            line,
            action,
            officer=user.username,
            note=str(form.get("note", ""))[:512],
            hs=str(form.get("hs") or "") or None,
        )
        message = f"item {line}: {action} {row['hs']} recorded"
    except ClearwayError as exc:
        message = f"not done: {exc}"
    query = urlencode({"filer": view.filer_id, "done": message})
    return RedirectResponse(f"/declarations/{view.ref}?{query}", status_code=303)
