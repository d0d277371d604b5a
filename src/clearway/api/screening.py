"""Restricted-party screening over HTTP: the active lists (with the
stale-list warning), the alerts rescreens raised, and an officer's
false-positive mark on a hit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from clearway.api.context import Ctx, Who, jsonable
from clearway.api.scope import resolve_filer
from clearway.store.reading import get_declaration
from clearway.store.screening import read_alerts, stored_lists
from clearway.wiring import mark_screening_false_positive, screening_from_store, screening_warning

__all__ = ["router"]

router = APIRouter()


class FalsePositive(BaseModel):
    """A hit an officer found is not the listed party."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["seller", "consignee"]
    list: str = Field(min_length=1, max_length=64)
    entry: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=1, max_length=4000)


@router.get("/api/screening/lists")
def lists(who: Who, ctx: Ctx) -> dict[str, Any]:
    """The lists screened against, and the warning when the newest is old."""
    ctx.policy.require(who, "read_queue")
    imported = {row["name"]: row for row in stored_lists(ctx.store)}
    options = screening_from_store(ctx.settings, ctx.store)
    return {
        "lists": [
            {
                "name": s.name,
                "source": s.source,
                "format": s.format,
                "published": s.published.isoformat(),
                "entries": len(s.entries),
                "imported_at": str(imported[s.name]["imported_at"]) if s.name in imported else None,
            }
            for s in (options.lists if options else ())
        ],
        "warning": screening_warning(ctx.settings, ctx.store),
    }


@router.get("/api/screening/alerts")
def alerts(who: Who, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The newest hits rescreens found on stored declarations."""
    ctx.policy.require(who, "read_queue")
    return {"alerts": [jsonable(a) for a in read_alerts(ctx.store, limit)]}


@router.post("/api/declarations/{declaration_id}/screening/false-positives", status_code=201)
def false_positive(
    declaration_id: str,
    body: FalsePositive,
    who: Who,
    ctx: Ctx,
    filer: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    """Mark a hit as a false positive for this party: kept and audited, and
    honoured by later screenings of the same party until the entry changes."""
    # Officers record what they found about a declaration: as outcomes.
    ctx.policy.require(who, "record_outcome")
    owner = resolve_filer(ctx.store, ctx.policy, who, declaration_id, filer)
    view = get_declaration(ctx.store, declaration_id, owner)
    mark = mark_screening_false_positive(
        ctx.store,
        ctx.settings,
        declaration_row=view.row_id,
        role=body.role,
        list_name=body.list,
        entry_id=body.entry,
        officer=who.name,
        note=body.note,
    )
    ctx.refresh_stages()
    return jsonable(mark)
