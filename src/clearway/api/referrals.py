"""Referrals over HTTP (as in EU ICS2): customs asks, the filer answers,
customs closes; overdue referrals escalate the lane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from clearway.api.context import Ctx, ReferralId, Text, Who, jsonable
from clearway.api.scope import resolve_filer
from clearway.store.reading import get_declaration
from clearway.store.referrals import escalate_overdue, list_referrals, move_referral, open_referral

__all__ = ["router"]

router = APIRouter()


class ReferralRequest(BaseModel):
    """A referral to open: its kind, the message to the filer, the deadline."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["rfi", "rfs", "dnl", "hold"]
    message: Text = Field(min_length=1, max_length=4000)
    due_hours: float = Field(gt=0, le=24 * 30)


class ReferralText(BaseModel):
    """An answer or a resolution."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=4000)


@router.post("/api/declarations/{declaration_id}/referrals", status_code=201)
def refer(
    declaration_id: str,
    body: ReferralRequest,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Open a referral on a declaration, addressed to its filer."""
    ctx.policy.require(who, "refer")
    owner = resolve_filer(ctx.store, ctx.policy, who, declaration_id, filer)
    view = get_declaration(ctx.store, declaration_id, owner)
    return jsonable(
        open_referral(
            ctx.store,
            view.row_id,
            body.kind,
            body.message,
            who.name,
            timedelta(hours=body.due_hours),
            datetime.now(UTC),
            keys=ctx.stages.ledger,
        )
    )


@router.get("/api/referrals")
def referrals(
    who: Who,
    ctx: Ctx,
    state: Annotated[
        str | None, Query(pattern="^(open|answered|escalated|closed|withdrawn)$")
    ] = None,
) -> dict[str, Any]:
    """Referrals within the caller's scope in the sharing policy: all of
    them for customs (officers and analysts alike; analysts only read), a
    filer's own for a filer."""
    ctx.policy.require(who, "read_referrals")
    scope = ctx.policy.scope(who)
    if scope == "all":
        rows = list_referrals(ctx.store, state=state)
    elif scope == "filed" and who.filer_id:
        rows = list_referrals(ctx.store, addressed_to=who.filer_id, state=state)
    else:
        # Referrals are addressed to filers: a role that sees declarations
        # by routing (or none) has none of its own.
        rows = []
    return {"referrals": rows}


@router.post("/api/referrals/{referral_id}/answer")
def answer(referral_id: ReferralId, body: ReferralText, who: Who, ctx: Ctx) -> dict[str, Any]:
    """The filer's answer to a referral addressed to it."""
    ctx.policy.require(who, "answer_referrals")
    row = move_referral(
        ctx.store,
        referral_id,
        "answer",
        body.text,
        datetime.now(UTC),
        addressed_to=who.filer_id or "",
        keys=ctx.stages.ledger,
    )
    return jsonable(row)


@router.post("/api/referrals/{referral_id}/close")
def close(referral_id: ReferralId, body: ReferralText, who: Who, ctx: Ctx) -> dict[str, Any]:
    """Customs closes a referral with its resolution."""
    ctx.policy.require(who, "refer")
    row = move_referral(
        ctx.store, referral_id, "close", body.text, datetime.now(UTC), keys=ctx.stages.ledger
    )
    return jsonable(row)


@router.post("/api/referrals/escalate")
def escalate(who: Who, ctx: Ctx) -> dict[str, Any]:
    """Escalate every referral past its deadline (lane one up)."""
    ctx.policy.require(who, "refer")
    done = escalate_overdue(ctx.store, datetime.now(UTC), keys=ctx.stages.ledger)
    return {"escalated": [jsonable(r) for r in done]}
