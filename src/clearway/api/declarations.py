"""Declarations over HTTP: filers submit and read their own, officers read
queues and record outcomes, partner agencies record findings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from clearway.api.context import Ctx, Who, jsonable
from clearway.declarations.intake import RawRecord
from clearway.errors import ErrorDetail, InputError, NotFound, ValidationFailed
from clearway.pipeline import ingest_records
from clearway.store.outcomes import OutcomeRow, record_outcomes
from clearway.store.parties import record_finding
from clearway.store.queue import QueueFilter, read_queue
from clearway.store.reading import get_declaration
from clearway.store.report import declaration_report
from clearway.store.risk import read_lanes

__all__ = ["router"]

router = APIRouter()


class OutcomeRequest(BaseModel):
    """What an intervention found."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["seized", "duty_corrected", "data_corrected", "cleared"]
    reason: str = Field(min_length=1, max_length=512)


class FindingRequest(BaseModel):
    """A partner agency's finding."""

    model_config = ConfigDict(extra="forbid")

    finding: Literal["admissible", "refused", "sampled"]
    note: str = Field(min_length=1, max_length=4000)


def _records(body: bytes, filer_id: str | None) -> tuple[list[RawRecord], list[dict[str, Any]]]:
    """The body (one declaration or a list) as records; those filed under
    another filer id than the caller's are refused here, never stored."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from exc
    documents = parsed if isinstance(parsed, list) else [parsed]
    records: list[RawRecord] = []
    refused: list[dict[str, Any]] = []
    for position, document in enumerate(documents, start=1):
        filer = document.get("filer", {}).get("id") if isinstance(document, dict) else None
        if filer is not None and filer != filer_id:
            refused.append(
                {
                    "position": position,
                    "declaration_id": document.get("declaration_id"),
                    "errors": [
                        ErrorDetail(
                            "filer.id",
                            "forbidden_filer",
                            f"must be your filer id {filer_id!r}. Got {filer!r}",
                        ).as_dict()
                    ],
                }
            )
            continue
        records.append(RawRecord("api", position, orjson.dumps(document)))
    return records, refused


def _refs(records: list[RawRecord]) -> list[str]:
    out = []
    for record in records:
        payload = record.payload
        document = orjson.loads(payload) if isinstance(payload, bytes) else payload
        if isinstance(document, dict) and "declaration_id" in document:
            out.append(str(document["declaration_id"]))
    return out


@router.post("/api/declarations")
async def submit(request: Request, who: Who, ctx: Ctx) -> JSONResponse:
    """Submit one declaration or a list: validated, stored (idempotent by
    filer and declaration id), enriched, scored and laned."""
    ctx.policy.require(who, "submit")
    body = await request.body()
    limit = ctx.settings.max_json_document_bytes
    if len(body) > limit:
        raise InputError(f"the body is {len(body)} bytes; at most {limit}")
    records, refused = _records(body, who.filer_id)
    report = ingest_records(ctx.store, records, stages=ctx.stages)
    rejected = refused + [r.as_dict() for r in report.first_rejections]
    lanes = read_lanes(ctx.store, who.filer_id, _refs(records))
    status = 200 if not rejected else 422
    result = {
        "ok": not rejected,
        "accepted": report.accepted,
        "amended": report.amended,
        "duplicate": report.duplicate,
        "rejected": report.rejected + len(refused),
        "lanes": lanes,
        "errors": [
            {**e, "field": f"[{r['position']}].{e['field']}"} for r in rejected for e in r["errors"]
        ],
        "status": status,
    }
    return JSONResponse(result, status_code=status)


@router.get("/api/declarations/{declaration_id}")
def read_declaration(
    declaration_id: str,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """A declaration with what the caller's role may read of it."""
    ctx.policy.require(who, "read_declarations")
    if who.filer_id and filer is None and not ctx.policy.may(who, "read_queue"):
        filer = who.filer_id
    try:
        _view, report = declaration_report(ctx.store, declaration_id, filer)
    except NotFound:
        raise NotFound(f"declaration {declaration_id!r} not found.") from None
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


@router.post("/api/declarations/{declaration_id}/findings", status_code=201)
def findings(declaration_id: str, body: FindingRequest, who: Who, ctx: Ctx) -> dict[str, Any]:
    """A partner agency's finding on a declaration routed to it."""
    ctx.policy.require(who, "record_findings")
    try:
        view, report = declaration_report(ctx.store, declaration_id)
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
