"""Workspace pages for the programme and the rules: operators with their
tiers, measures and history; targeting rules, edited and backtested on the
stored history before they are activated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from clearway.errors import ClearwayError, InputError
from clearway.store.operators import list_operators, operator_record
from clearway.store.users import WebUser
from clearway.web.session import Officer, check_csrf, context_of, read_form, templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/operators", response_class=HTMLResponse)
def operators(request: Request, user: Officer) -> Response:
    rows = list_operators(context_of(request).store, history=True)
    return templates.TemplateResponse(request, "operators.html", {"user": user, "rows": rows})


@router.get("/operators/{filer_id}", response_class=HTMLResponse)
def operator(request: Request, filer_id: str, user: Officer) -> Response:
    record = operator_record(context_of(request).store, filer_id, datetime.now(UTC))
    return templates.TemplateResponse(request, "operator.html", {"user": user, "op": record})


def _rules_text(request: Request) -> tuple[str, str | None]:
    """The rules in force as YAML, and the file they come from (None: built in)."""
    from importlib import resources

    path = context_of(request).settings.risk_rules_file
    if path and Path(path).exists():
        return Path(path).read_text(), path
    text = resources.files("clearway.risk").joinpath("data/rules.yaml").read_text()
    return text, path


def _render_rules(
    request: Request,
    user: WebUser,
    text: str,
    *,
    results: list[dict[str, object]] | None = None,
    total: int = 0,
    error: str | None = None,
    message: str | None = None,
    tested: str | None = None,
) -> Response:
    from clearway.risk.rules import builtin_rules, load_rules

    try:
        active = load_rules(text=_rules_text(request)[0])
    except ClearwayError:
        active = builtin_rules()
    return templates.TemplateResponse(
        request,
        "rules.html",
        {
            "user": user,
            "active": active,
            "text": text,
            "file": _rules_text(request)[1],
            "results": results,
            "total": total,
            "error": error,
            "message": message,
            "tested": tested,
        },
    )


@router.get("/rules", response_class=HTMLResponse)
def rules(request: Request, user: Officer) -> Response:
    return _render_rules(request, user, _rules_text(request)[0])


@router.post("/rules", response_class=HTMLResponse)
async def rules_action(request: Request, user: Officer) -> Response:
    """Backtest the edited rules; activate them only after a backtest of
    exactly this text."""
    form = await read_form(request)
    check_csrf(user, form)
    # A backtest re-runs the rules over the whole stored history: long
    # work, kept off the event loop.
    return await run_in_threadpool(_rules_action, request, user, form)


def _rules_action(request: Request, user: WebUser, form: FormData) -> Response:
    from clearway.history.backtest import backtest_history
    from clearway.history.rescoring import HistoryConfig
    from clearway.history.sources import History
    from clearway.risk.rules import load_rules
    from clearway.store.history import StoreHistory

    text = str(form.get("rules", "")).replace("\r\n", "\n")
    context = context_of(request)
    settings = context.settings
    try:
        size = len(text.encode())
        if size > settings.max_rules_bytes:
            raise InputError(f"the rules are {size} bytes; at most {settings.max_rules_bytes}")
        ruleset = load_rules(text=text)
        if form.get("action") == "activate":
            if form.get("tested") != _digest(text):
                raise InputError("backtest these rules before activating them")
            if not settings.risk_rules_file:
                raise InputError(
                    "no rules file is configured: set CLEARWAY_RISK_RULES_FILE to activate "
                    "rules from the workspace"
                )
            Path(settings.risk_rules_file).write_text(text)
            context.refresh_stages()
            return _render_rules(
                request,
                user,
                text,
                message=f"rules version {ruleset.version} active from the next filing",
            )
        total, stats = backtest_history(
            ruleset,
            History(store=StoreHistory(settings.database_url)),
            HistoryConfig.from_settings(settings, datetime.now(UTC).date()),
        )
    except ClearwayError as exc:
        details = getattr(exc, "details", None) or []
        reasons = "; ".join(f"{d.field}: {d.message}" for d in details)
        return _render_rules(request, user, text, error=f"{exc.message} {reasons}".strip())
    return _render_rules(
        request,
        user,
        text,
        results=[s.as_dict(total) for s in stats],
        total=total,
        tested=_digest(text),
    )


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
