"""The HTTP API: filers submit declarations and read their own, officers
read queues and declarations, anyone checks the ledger's checkpoint.

Each endpoint parses, asks the data-sharing policy (one place:
:class:`clearway.federation.Policy`), calls one core function and formats.
Errors use the one JSON shape of :mod:`clearway.errors`, whatever raised
them (clearway, request validation, unknown routes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from clearway import __version__
from clearway.declarations.intake import RawRecord
from clearway.errors import ClearwayError, ErrorDetail, InputError, NotFound, ValidationFailed
from clearway.federation.policy import Caller, Policy, load_policy
from clearway.pipeline import Stages, ingest_records, stages_for
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.ledger_reading import checkpoint_with_cosignatures
from clearway.store.outcomes import OutcomeRow, record_outcomes
from clearway.store.participants import authenticate
from clearway.store.parties import record_finding
from clearway.store.reading import get_declaration
from clearway.store.referrals import escalate_overdue, list_referrals, move_referral, open_referral
from clearway.store.report import declaration_report
from clearway.store.risk import read_lanes, read_queue

__all__ = ["create_app"]


def _error(status: int, code: str, message: str, field: str = "") -> JSONResponse:
    return JSONResponse(
        {
            "ok": False,
            "errors": [{"code": code, "field": field, "message": message}],
            "status": status,
        },
        status_code=status,
    )


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


class ErrorItem(BaseModel):
    code: str
    field: str
    message: str


class ErrorBody(BaseModel):
    """The one JSON error shape."""

    ok: bool
    errors: list[ErrorItem]
    status: int


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request could not be read"),
        (401, "No valid API key"),
        (403, "The caller's role may not do this"),
        (404, "Not found, or outside the caller's scope"),
        (409, "Contradicts the current state"),
        (422, "Validation failed"),
    )
}


class ReferralRequest(BaseModel):
    """A referral to open: its kind, the message to the filer, the deadline."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["rfi", "rfs", "dnl", "hold"]
    message: str = Field(min_length=1, max_length=4000)
    due_hours: float = Field(gt=0, le=24 * 30)


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


class ReferralText(BaseModel):
    """An answer or a resolution."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, datetime) else v) for k, v in row.items()}


def _documents(records: list[RawRecord]) -> list[dict[str, Any]]:
    out = []
    for record in records:
        payload = record.payload
        document = orjson.loads(payload) if isinstance(payload, bytes) else payload
        if isinstance(document, dict):
            out.append(document)
    return out


def _caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The participant behind the request's API key (401 otherwise)."""
    token = authorization.removeprefix("Bearer ").strip() if authorization else None
    store: Engine = request.app.state.store
    return authenticate(store, token)


Who = Annotated[Caller, Depends(_caller)]
# Ids are 64-bit integers in the store: a larger one is refused, not sent on.
ReferralId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The API over the store of ``settings``."""
    store = engine or open_engine(settings.database_url)
    policy: Policy = load_policy(settings.sharing_policy_file)
    stages: Stages = stages_for(settings, store)
    app = FastAPI(
        title="clearway",
        version=__version__,
        description="Clearance and targeting for cross-border e-commerce.",
        responses=_ERRORS,
    )
    app.state.store = store

    @app.exception_handler(ClearwayError)
    async def _clearway_error(_request: Request, exc: ClearwayError) -> JSONResponse:
        return JSONResponse(exc.as_json(), status_code=exc.status)

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
        return JSONResponse({"ok": False, "errors": errors, "status": 422}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http"
        return _error(exc.status_code, code, str(exc.detail))

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        """Liveness: the service answers."""
        return {"ok": True, "version": __version__}

    @app.post("/api/declarations")
    async def submit(request: Request, who: Who) -> JSONResponse:
        """Submit one declaration or a list: validated, stored (idempotent by
        filer and declaration id), enriched, scored and laned."""
        policy.require(who, "submit")
        body = await request.body()
        if len(body) > settings.max_json_document_bytes:
            raise InputError(
                f"the body is {len(body)} bytes; at most {settings.max_json_document_bytes}"
            )
        records, refused = _records(body, who.filer_id)
        report = ingest_records(store, records, stages=stages)
        rejected = refused + [r.as_dict() for r in report.first_rejections]
        refs = [str(d["declaration_id"]) for d in _documents(records) if "declaration_id" in d]
        lanes = read_lanes(store, who.filer_id, refs)
        result = {
            "ok": not rejected,
            "accepted": report.accepted,
            "amended": report.amended,
            "duplicate": report.duplicate,
            "rejected": report.rejected + len(refused),
            "lanes": lanes,
            "errors": [
                {**e, "field": f"[{r['position']}].{e['field']}"}
                for r in rejected
                for e in r["errors"]
            ],
            "status": 200 if not rejected else 422,
        }
        return JSONResponse(result, status_code=200 if not rejected else 422)

    @app.get("/api/declarations/{declaration_id}")
    def read_declaration(
        declaration_id: str,
        who: Who,
        filer: Annotated[str | None, Query(max_length=128)] = None,
    ) -> dict[str, Any]:
        """A declaration with what the caller's role may read of it."""
        policy.require(who, "read_declarations")
        if who.filer_id and filer is None and not policy.may(who, "read_queue"):
            filer = who.filer_id
        try:
            _view, report = declaration_report(store, declaration_id, filer)
        except NotFound:
            raise NotFound(f"declaration {declaration_id!r} not found.") from None
        return policy.redact(who, report, declaration_id)

    @app.get("/api/queue")
    def queue(
        who: Who,
        lane: Annotated[str, Query(pattern="^(green|yellow|red|black)$")] = "red",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Declarations in a lane, riskiest first, with their reasons."""
        policy.require(who, "read_queue")
        return {"lane": lane, "declarations": read_queue(store, lane, limit)}

    @app.post("/api/declarations/{declaration_id}/referrals", status_code=201)
    def refer(
        declaration_id: str,
        body: ReferralRequest,
        who: Who,
        filer: Annotated[str | None, Query(max_length=128)] = None,
    ) -> dict[str, Any]:
        """Open a referral on a declaration, addressed to its filer."""
        policy.require(who, "refer")
        view = get_declaration(store, declaration_id, filer)
        now = datetime.now(UTC)
        return _jsonable(
            open_referral(
                store,
                view.row_id,
                body.kind,
                body.message,
                who.name,
                timedelta(hours=body.due_hours),
                now,
                keys=stages.ledger,
            )
        )

    @app.get("/api/referrals")
    def referrals(
        who: Who,
        state: Annotated[
            str | None, Query(pattern="^(open|answered|escalated|closed|withdrawn)$")
        ] = None,
    ) -> dict[str, Any]:
        """Referrals: all of them for customs, one's own for a filer."""
        policy.require(who, "read_referrals")
        mine = None if policy.may(who, "refer") else (who.filer_id or "")
        return {"referrals": list_referrals(store, addressed_to=mine, state=state)}

    @app.post("/api/referrals/{referral_id}/answer")
    def answer(referral_id: ReferralId, body: ReferralText, who: Who) -> dict[str, Any]:
        """The filer's answer to a referral addressed to it."""
        policy.require(who, "answer_referrals")
        row = move_referral(
            store,
            referral_id,
            "answer",
            body.text,
            datetime.now(UTC),
            addressed_to=who.filer_id or "",
            keys=stages.ledger,
        )
        return _jsonable(row)

    @app.post("/api/referrals/{referral_id}/close")
    def close(referral_id: ReferralId, body: ReferralText, who: Who) -> dict[str, Any]:
        """Customs closes a referral with its resolution."""
        policy.require(who, "refer")
        row = move_referral(
            store, referral_id, "close", body.text, datetime.now(UTC), keys=stages.ledger
        )
        return _jsonable(row)

    @app.post("/api/referrals/escalate")
    def escalate(who: Who) -> dict[str, Any]:
        """Escalate every referral past its deadline (lane one up)."""
        policy.require(who, "refer")
        done = escalate_overdue(store, datetime.now(UTC), keys=stages.ledger)
        return {"escalated": [_jsonable(r) for r in done]}

    @app.post("/api/declarations/{declaration_id}/outcome")
    def outcome(
        declaration_id: str,
        body: OutcomeRequest,
        who: Who,
        filer: Annotated[str | None, Query(max_length=128)] = None,
    ) -> dict[str, Any]:
        """Record what an intervention found (it feeds `clearway risk train`)."""
        policy.require(who, "record_outcome")
        view = get_declaration(store, declaration_id, filer)
        row = OutcomeRow(view.ref, body.outcome, body.reason, view.filer_id)
        recorded, problems = record_outcomes(store, [row], datetime.now(UTC))
        if problems:
            raise ValidationFailed("the outcome was not recorded", details=problems)
        return {"declaration_id": view.ref, "outcome": body.outcome, "recorded": recorded}

    @app.post("/api/declarations/{declaration_id}/findings", status_code=201)
    def findings(declaration_id: str, body: FindingRequest, who: Who) -> dict[str, Any]:
        """A partner agency's finding on a declaration routed to it."""
        policy.require(who, "record_findings")
        try:
            view, report = declaration_report(store, declaration_id)
        except NotFound:
            raise NotFound(f"declaration {declaration_id!r} not found.") from None
        # Outside the agency's scope it answers 404, as reads do.
        policy.redact(who, report, declaration_id)
        row = record_finding(
            store, view.row_id, who.agency or who.name, body.finding, body.note, datetime.now(UTC)
        )
        return _jsonable({k: v for k, v in row.items() if k != "declaration_id"})

    @app.get(
        "/api/ledger/checkpoint",
        responses={200: {"content": {"text/plain": {}}, "description": "A C2SP signed note"}},
    )
    def checkpoint() -> Response:
        """The latest signed checkpoint (C2SP signed note) with its
        cosignatures: public, so anyone can verify the shared record."""
        return PlainTextResponse(checkpoint_with_cosignatures(store))

    return app
