"""The trusted e-commerce operator programme over HTTP: customs registers
operators and runs reviews; operators read their own tier, measures and
history; analysts and auditors read all of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from clearway.api.context import Ctx, Text, Who, jsonable
from clearway.errors import NotFound
from clearway.store.operators import (
    list_operators,
    operator_record,
    register_operator,
    review_operators,
)

__all__ = ["router"]

router = APIRouter()


class OperatorRequest(BaseModel):
    """An operator to enter in the register (at the standard tier)."""

    model_config = ConfigDict(extra="forbid")

    filer_id: Text = Field(min_length=1, max_length=128)
    name: Text = Field(min_length=1, max_length=256)
    kind: Literal["marketplace", "seller", "carrier", "post", "broker"]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = jsonable(row)
    if "history" in out:
        out["history"] = [jsonable(h) for h in out["history"]]
    return out


@router.get("/api/operators")
def operators(who: Who, ctx: Ctx) -> dict[str, Any]:
    """The register with each operator's tier history: all of it for
    customs and auditors, one's own entry for an operator."""
    ctx.policy.require(who, "read_operators")
    rows = list_operators(ctx.store, history=True)
    return {"operators": [_plain(r) for r in rows if ctx.policy.can_see(who, r["filer_id"], set())]}


@router.post("/api/operators", status_code=201)
def register(body: OperatorRequest, who: Who, ctx: Ctx) -> dict[str, Any]:
    """Enter an operator in the register."""
    ctx.policy.require(who, "manage_operators")
    now = datetime.now(UTC)
    register_operator(ctx.store, body.filer_id, body.name, body.kind, now)
    return _plain(operator_record(ctx.store, body.filer_id, now))


@router.post("/api/operators/review")
def review(who: Who, ctx: Ctx) -> dict[str, Any]:
    """Measure every operator and move each to the tier its measures earn;
    intake applies the new benefits from the next submission on."""
    ctx.policy.require(who, "manage_operators")
    changes = review_operators(ctx.store, datetime.now(UTC))
    ctx.refresh_stages()
    return {"changes": changes}


@router.get("/api/operators/{filer_id}")
def operator(filer_id: str, who: Who, ctx: Ctx) -> dict[str, Any]:
    """One operator's tier, measures over the trailing window and history."""
    ctx.policy.require(who, "read_operators")
    if not ctx.policy.can_see(who, filer_id, set()):
        raise NotFound(f"operator {filer_id!r} not found.")
    return _plain(operator_record(ctx.store, filer_id, datetime.now(UTC)))
