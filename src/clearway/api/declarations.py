"""Declarations over HTTP: filers submit and read their own, officers read
queues and record outcomes, partner agencies record findings."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Engine

from clearway.api.context import Context, Ctx, Text, Who, jsonable
from clearway.api.scope import foreign_masters, resolve_filer
from clearway.clearance import Admission, Submission
from clearway.declarations.intake import RawRecord
from clearway.declarations.models import Declaration, MasterFiling
from clearway.errors import ErrorDetail, InputError, NotFound, ValidationFailed, format_value
from clearway.observability import ACKNOWLEDGED, REJECTIONS, request_id
from clearway.store.outcomes import OutcomeRow, record_outcomes
from clearway.store.parties import record_finding
from clearway.store.queue import QueueFilter, read_queue
from clearway.store.reading import get_declaration
from clearway.store.report import declaration_report
from clearway.store.status import filing_states
from clearway.wiring import confirm_item_classification

__all__ = ["document_submission", "router"]

router = APIRouter()

# The submit body, for the OpenAPI document only: the handler reads the raw
# bytes and validates each record itself (one record's error never loses
# the others), so FastAPI must not parse it into a model.
_SUBMISSION = TypeAdapter(Declaration | MasterFiling | list[Declaration | MasterFiling])
_COMPONENTS = "#/components/schemas/{model}"


def document_submission(app: FastAPI) -> None:
    """Describe POST /api/declarations's body in ``app``'s OpenAPI document
    (its models among the components), so clients and fuzzers see it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        schema = _SUBMISSION.json_schema(ref_template=_COMPONENTS)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(schema.pop("$defs", {}))
        document["paths"]["/api/declarations"]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


class OutcomeRequest(BaseModel):
    """What an intervention found."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["seized", "duty_corrected", "data_corrected", "cleared"]
    reason: Text = Field(min_length=1, max_length=512)


class ClassificationRequest(BaseModel):
    """An officer's word on an item line's HS code."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "correct", "inspection"]
    hs: Annotated[str, Field(pattern=r"^[0-9]{6,10}$")] | None = None
    note: Text = Field(default="", max_length=512)


class FindingRequest(BaseModel):
    """A partner agency's finding."""

    model_config = ConfigDict(extra="forbid")

    finding: Literal["admissible", "refused", "sampled"]
    note: Text = Field(min_length=1, max_length=4000)


def _refusal(position: int, document: Any, error: ErrorDetail) -> dict[str, Any]:
    ref = document.get("declaration_id") if isinstance(document, dict) else None
    return {
        "position": position,
        "declaration_id": ref if isinstance(ref, str) else None,
        "errors": [error.as_dict()],
    }


def _records(
    body: bytes, filer_id: str | None, store: Engine
) -> tuple[list[RawRecord], list[dict[str, Any]]]:
    """The body (one declaration or a list) as records; those filed under
    another filer id than the caller's, and masters under a master
    reference another carrier filed, are refused here, never stored.
    Whatever shape a document has, it is a record (validation names what
    is wrong with it) or refused alone: the others of the body go on."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from exc
    documents = parsed if isinstance(parsed, list) else [parsed]
    taken = foreign_masters(store, documents, filer_id)
    records: list[RawRecord] = []
    refused: list[dict[str, Any]] = []
    for position, document in enumerate(documents, start=1):
        filer = document.get("filer") if isinstance(document, dict) else None
        filer = filer.get("id") if isinstance(filer, dict) else None
        if filer is not None and filer != filer_id:
            refused.append(
                _refusal(
                    position,
                    document,
                    ErrorDetail(
                        "filer.id",
                        "forbidden_filer",
                        f"must be your filer id {filer_id!r}. Got {format_value(filer)}.",
                    ),
                )
            )
            continue
        if position in taken:
            refused.append(taken[position])
            continue
        try:
            payload = orjson.dumps(document)
        except orjson.JSONEncodeError:
            # orjson writes at most 255 levels (it reads 1024): no filing
            # nests deeper than a few.
            refused.append(
                _refusal(
                    position,
                    document,
                    ErrorDetail("", "too_deep", "must nest at most 255 levels of JSON."),
                )
            )
            continue
        records.append(RawRecord("api", position, payload))
    return records, refused


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused before it is read when it is larger than ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputError(f"the body is {int(declared)} bytes; at most {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(f"the body is over {limit} bytes; at most {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


def _prepared(
    ctx: Context, body: bytes, filer_id: str | None
) -> tuple[list[dict[str, Any]], Admission]:
    """Parse and validate the body (CPU work, in a thread): what is refused
    here, and what the service admits."""
    records, refused = _records(body, filer_id, ctx.store)
    return refused, ctx.service.prepare(records, source="api", request_id=request_id.get())


@router.post("/api/declarations")
async def submit(request: Request, who: Who, ctx: Ctx) -> Response:
    """Submit one declaration or a list. Each is validated and durably
    queued (idempotent by filer, declaration id and content), then decided
    by the sequencer. Answers 200 with each declaration's status (and, to
    officers, its lane) when decided within the configured bound, else 202
    with a status URL per declaration; 422 lists every rejected record's
    errors (what was accepted stays accepted); 429 when the queue is full."""
    started = time.perf_counter()
    ctx.policy.require(who, "submit")
    body = await _body(request, ctx.settings.max_json_document_bytes)
    # Parsing and validation are work for a thread; the store's part is
    # the service's group commit (one transaction for every request waiting
    # then): the event loop only reads the body and waits.
    refused, admission = await run_in_threadpool(_prepared, ctx, body, who.filer_id)
    if not ctx.service.running:
        ctx.service.start()
    submission = await ctx.service.acknowledge(admission)
    ACKNOWLEDGED.observe(time.perf_counter() - started)
    for rejection in [*refused, *(r.as_dict() for r in submission.rejections)]:
        for error in rejection["errors"]:
            REJECTIONS.labels(error["code"]).inc()
    decided = await ctx.service.until_decided(
        submission.queued, ctx.settings.decision_wait_ms / 1000
    )
    officer = ctx.policy.may(who, "read_queue")
    keys = [(r.filer_id, r.ref) for r in submission.receipts if r.kind == "house"]
    # Undecided filings are "received" (or duplicates): only a decision
    # has a status worth a read of the store.
    states = (
        await run_in_threadpool(filing_states, ctx.store, keys, officer) if decided and keys else {}
    )
    status, answer = _submitted(submission, refused, states, decided=decided, officer=officer)
    return Response(answer, status_code=status, media_type="application/json")


def _submitted(
    submission: Submission,
    refused: list[dict[str, Any]],
    states: dict[tuple[str, str], dict[str, Any]],
    *,
    decided: bool,
    officer: bool,
) -> tuple[int, bytes]:
    """The answer to a submission, as JSON: each declaration's status (from
    ``states``, "received" where it has none) and status URL; lanes only for
    ``officer``s (customs controls are not announced to filers)."""
    houses = [r for r in submission.receipts if r.kind == "house"]
    rejected = refused + [r.as_dict() for r in submission.rejections]
    answers = []
    for receipt in houses:
        found = states.get((receipt.filer_id, receipt.ref), {"status": "received"})
        answer: dict[str, Any] = {
            "declaration_id": receipt.ref,
            "status": "duplicate" if receipt.status == "duplicate" else found["status"],
            "status_url": f"/api/declarations/{receipt.ref}/status",
        }
        if officer and "lane" in found:
            answer["lane"] = found["lane"]
        answers.append(answer)
    status = 422 if rejected else (200 if decided else 202)
    result: dict[str, Any] = {
        "ok": not rejected,
        "accepted": sum(r.status == "queued" for r in submission.receipts),
        "duplicate": sum(r.status == "duplicate" for r in submission.receipts),
        "rejected": len(rejected),
        "decided": decided,
        "declarations": answers,
        "errors": [
            {**e, "field": f"[{r['position']}].{e['field']}"} for r in rejected for e in r["errors"]
        ],
        "status": status,
    }
    if officer:
        result["lanes"] = {a["declaration_id"]: a["lane"] for a in answers if "lane" in a}
    return status, orjson.dumps(result)


@router.get("/api/declarations/{declaration_id}/status")
def declaration_status(
    declaration_id: str,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Where a submitted declaration stands: received (queued), accepted,
    assessed, referral_open or released; officers also see its lane and
    score. A filer asks about its own; an officer names the filer, or is
    answered for the one stored declaration of that id."""
    ctx.policy.require(who, "read_declarations")
    officer = ctx.policy.may(who, "read_queue")
    owner = filer if officer and filer else who.filer_id
    if owner is None:
        # Among the declarations in the caller's scope: 404 when none has
        # the id, 400 when several filers used it.
        owner = resolve_filer(ctx.store, ctx.policy, who, declaration_id, filer)
    found = filing_states(ctx.store, [(owner, declaration_id)], officer).get(
        (owner, declaration_id)
    )
    if found is None:
        raise NotFound(f"declaration {declaration_id!r} not found.")
    return {"declaration_id": declaration_id, **found}


@router.get("/api/declarations/{declaration_id}")
def read_declaration(
    declaration_id: str,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """A declaration with what the caller's role may read of it."""
    ctx.policy.require(who, "read_declarations")
    owner = resolve_filer(ctx.store, ctx.policy, who, declaration_id, filer)
    try:
        view, report = declaration_report(ctx.store, declaration_id, owner)
    except NotFound:
        raise NotFound(f"declaration {declaration_id!r} not found.") from None
    found = filing_states(ctx.store, [(view.filer_id, view.ref)], with_lanes=False)
    report["status"] = found.get((view.filer_id, view.ref), {}).get("status", "accepted")
    return ctx.policy.redact(who, report, declaration_id)


@router.get("/api/queue")
def queue(
    who: Who,
    ctx: Ctx,
    lane: Annotated[str, Query(pattern="^(green|yellow|red|black)$")] = "red",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Declarations in a lane, riskiest first, with their reasons."""
    ctx.policy.require(who, "read_queue")
    rows, _ = read_queue(ctx.store, QueueFilter(lane=lane), limit=limit)
    return {"lane": lane, "declarations": rows}


@router.post("/api/declarations/{declaration_id}/outcome")
def outcome(
    declaration_id: str,
    body: OutcomeRequest,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Record what an intervention found (it feeds `clearway risk train`)."""
    ctx.policy.require(who, "record_outcome")
    view = get_declaration(ctx.store, declaration_id, filer)
    row = OutcomeRow(view.ref, body.outcome, body.reason, view.filer_id)
    recorded, problems = record_outcomes(ctx.store, [row], datetime.now(UTC))
    if problems:
        raise ValidationFailed("the outcome was not recorded", details=problems)
    return {"declaration_id": view.ref, "outcome": body.outcome, "recorded": recorded}


@router.post("/api/declarations/{declaration_id}/items/{item_line}/classification", status_code=201)
def classification(
    declaration_id: str,
    item_line: int,
    body: ClassificationRequest,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Confirm or correct an item line's HS code (or record that an
    inspection found it correct): audited, on the ledger, and learned by
    the classifier as a precedent from the next batch on."""
    ctx.policy.require(who, "record_outcome")
    # Scoped as the other declaration endpoints: 404 outside the caller's
    # scope, 400 naming ``filer`` when the id is ambiguous.
    owner = resolve_filer(ctx.store, ctx.policy, who, declaration_id, filer)
    view = get_declaration(ctx.store, declaration_id, owner)
    row = confirm_item_classification(
        ctx.store,
        ctx.settings,
        ctx.stages.ledger,
        view,
        item_line,
        body.action,
        officer=who.name,
        note=body.note,
        hs=body.hs,
    )
    return jsonable(
        {"declaration_id": view.ref, **{k: v for k, v in row.items() if k != "declaration_id"}}
    )


@router.post("/api/declarations/{declaration_id}/findings", status_code=201)
def findings(
    declaration_id: str,
    body: FindingRequest,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """A partner agency's finding on a declaration routed to it (another
    filer's declaration of the same id, not routed to it, is not in the way)."""
    ctx.policy.require(who, "record_findings")
    owner = resolve_filer(ctx.store, ctx.policy, who, declaration_id, filer)
    try:
        view, report = declaration_report(ctx.store, declaration_id, owner)
    except NotFound:
        raise NotFound(f"declaration {declaration_id!r} not found.") from None
    # Outside the agency's scope it answers 404, as reads do.
    ctx.policy.redact(who, report, declaration_id)
    row = record_finding(
        ctx.store,
        view.row_id,
        who.agency or who.name,
        body.finding,
        body.note,
        datetime.now(UTC),
    )
    return jsonable({k: v for k, v in row.items() if k != "declaration_id"})
