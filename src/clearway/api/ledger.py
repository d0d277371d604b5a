"""The shared ledger over HTTP, public so that anyone can verify it: the
latest checkpoint with its cosignatures, the log's key, inclusion and
consistency proofs; and this node as a witness of other nodes' logs
(C2SP tlog-witness ``add-checkpoint``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from clearway.api.context import Context, Ctx
from clearway.errors import InputError, NotFound
from clearway.ledger.witness import WitnessRefusal
from clearway.store.ledger import latest_checkpoint, prove, prove_consistency
from clearway.store.ledger_reading import checkpoint_with_cosignatures
from clearway.store.witnessing import list_witnessed_logs, witness_checkpoint

__all__ = ["router"]

router = APIRouter()

_TEXT: dict[str, Any] = {"content": {"text/plain": {}}}
Size = Annotated[int, Query(ge=1, le=2**63 - 1)]


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@router.get("/api/ledger/checkpoint", responses={200: {**_TEXT, "description": "A signed note"}})
def checkpoint(ctx: Ctx) -> Response:
    """The latest signed checkpoint (C2SP signed note) with its
    cosignatures: public, so anyone can verify the shared record."""
    return PlainTextResponse(checkpoint_with_cosignatures(ctx.store))


@router.get("/api/ledger/key", responses={200: {**_TEXT, "description": "A vkey"}})
def key(ctx: Ctx) -> Response:
    """The log's verifier key (signed-note vkey), for witnesses and readers."""
    keys = ctx.stages.ledger
    if keys is None:  # pragma: no cover - the API always runs the ledger stage
        raise InputError("this node keeps no ledger")
    return PlainTextResponse(keys.signer.verifier.vkey() + "\n")


@router.get("/api/ledger/consistency")
def consistency(ctx: Ctx, old: Size, new: Size) -> dict[str, Any]:
    """A consistency proof between two tree sizes (RFC 9162 section 2.1.4),
    base64 hashes: what a monitor checks between two checkpoints."""
    with ctx.store.connect() as conn:
        head = latest_checkpoint(conn)
    size = head[0] if head else 0
    if not old <= new <= size:
        raise NotFound(f"no consistency proof from size {old} to {new}: the tree is at {size}.")
    proof = prove_consistency(ctx.store, old, new) if old < new else []
    return {"old": old, "new": new, "proof": [_b64(h) for h in proof]}


@router.get("/api/ledger/events/{event_id}/proof")
def inclusion(event_id: str, ctx: Ctx) -> dict[str, Any]:
    """An event's leaf and inclusion proof (RFC 9162 section 2.1.3) against
    the latest checkpoint. Leaves hold salted commitments, not data."""
    proof = prove(ctx.store, event_id)
    return {
        "event_id": event_id,
        "index": proof.index,
        "tree_size": proof.size,
        "leaf": _b64(proof.leaf),
        "proof": [_b64(h) for h in proof.hashes],
        "checkpoint": checkpoint_with_cosignatures(ctx.store, proof.size),
    }


@router.get("/api/witness")
def witness(ctx: Ctx) -> dict[str, Any]:
    """This node as a witness: its name, cosigning key and the logs it
    witnesses, each at the size it last cosigned."""
    return {
        "name": ctx.witness.name,
        "vkey": ctx.witness.verifier.vkey(),
        "logs": [
            {"origin": r["origin"], "size": r["size"]} for r in list_witnessed_logs(ctx.store)
        ],
    }


# The request grammar of tlog-witness, for the OpenAPI document.
_ADD_CHECKPOINT = (
    r"^old (0|[1-9][0-9]{0,18})\n([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\n){0,63}\n"
    r"[a-z.]{1,20}/[a-z]{1,20}\n(0|[1-9][0-9]{0,18})\n[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\n"
    r"\n\u2014 [a-z.]{1,20}/[a-z]{1,20} [A-Za-z0-9+/]{20,120}={0,2}\n$"
)


def _cosign(ctx: Context, body: bytes) -> str:
    """In a worker thread: the witness key is read from its file on first
    use, the check reads the store and verifies signatures and proofs."""
    return witness_checkpoint(ctx.store, ctx.witness, body, datetime.now(UTC))


@router.post(
    "/api/witness/add-checkpoint",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string", "pattern": _ADD_CHECKPOINT}}},
        }
    },
    responses={
        200: {**_TEXT, "description": "cosignature/v1 signature line(s)"},
        409: {"content": {"text/x.tlog.size": {}}, "description": "The size the witness knows"},
    },
)
async def add_checkpoint(request: Request, ctx: Ctx) -> Response:
    """tlog-witness: verify a checkpoint of a witnessed log and its
    consistency with the last one cosigned, then cosign it. Requests are
    not authenticated; the log's signature is what counts."""
    body = await request.body()
    try:
        line = await run_in_threadpool(_cosign, ctx, body)
    except WitnessRefusal as exc:
        if exc.known_size is not None:
            # Exactly this type, with no charset parameter (tlog-witness).
            return Response(
                f"{exc.known_size}\n",
                status_code=409,
                headers={"Content-Type": "text/x.tlog.size"},
            )
        return JSONResponse(
            {
                "ok": False,
                "errors": [{"code": "witness", "field": "", "message": str(exc)}],
                "status": exc.status,
            },
            status_code=exc.status,
        )
    return PlainTextResponse(line + "\n")
