"""This node as a subscriber of another node: signed notifications arrive
here, are checked against the sender's secret and kept once each."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool

from clearway.api.context import Ctx
from clearway.errors import NotAuthenticated
from clearway.federation.webhooks import signed_at
from clearway.store.inbox import receive_event

__all__ = ["router"]

router = APIRouter()


@router.post("/api/inbox/{sender}")
async def inbox(
    request: Request,
    ctx: Ctx,
    sender: Annotated[str, Path(max_length=128)],
    clearway_signature: Annotated[str, Header(max_length=200)],
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """A webhook from ``sender``: 200 with ``new`` false for a retry of one
    already received, 401 unless signed with the sender's secret over the
    body, the idempotency key and a timestamp within the replay window."""
    window = ctx.settings.inbox_replay_window_s
    # A malformed or stale signature is refused before the body is read or
    # the store asked: a flood of replays costs this node next to nothing.
    if signed_at(clearway_signature, int(time.time()), window) is None:
        raise NotAuthenticated("the notification is not signed by a known sender")
    body = await request.body()
    new = await run_in_threadpool(
        receive_event,
        ctx.store,
        sender,
        body,
        clearway_signature,
        idempotency_key,
        datetime.now(UTC),
        ctx.sealer,
        window,
    )
    return {"ok": True, "new": new}
