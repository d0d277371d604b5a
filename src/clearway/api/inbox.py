"""This node as a subscriber of another node: signed notifications arrive
here, are checked against the sender's secret and kept once each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool

from clearway.api.context import Ctx
from clearway.store.inbox import receive_event

__all__ = ["router"]

router = APIRouter()


@router.post("/api/inbox/{sender}")
async def inbox(
    request: Request,
    ctx: Ctx,
    sender: Annotated[str, Path(max_length=128)],
    clearway_signature: Annotated[str, Header(max_length=200)],
    idempotency_key: Annotated[str, Header(max_length=200)],
) -> dict[str, Any]:
    """A webhook from ``sender``: 200 with ``new`` false for a retry of one
    already received, 401 unless signed with the sender's secret."""
    body = await request.body()
    new = await run_in_threadpool(
        receive_event,
        ctx.store,
        sender,
        body,
        clearway_signature,
        idempotency_key,
        datetime.now(UTC),
    )
    return {"ok": True, "new": new}
