"""What every endpoint shares: the store, the data-sharing policy, the
pipeline's stages, the caller behind the API key, and the one error shape
as the OpenAPI document describes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from pydantic import AfterValidator, BaseModel
from sqlalchemy import Engine

from clearway.clearance import ClearanceService, Stages
from clearway.federation.policy import Caller, Policy
from clearway.federation.sealing import Sealer, sealer_for
from clearway.ledger.keys import witness_key_for
from clearway.ledger.note import NoteSigner
from clearway.settings import Settings
from clearway.store.participants import authenticate
from clearway.wiring import service_for, stages_from_settings

__all__ = ["ERRORS", "Context", "Ctx", "ReferralId", "Text", "Who", "jsonable"]


def _no_nul(text: str) -> str:
    # PostgreSQL text cannot hold a NUL: refused here, as a 422 naming the
    # field, rather than by the database as a 500.
    if "\x00" in text:
        raise ValueError("must not contain the NUL character (\\u0000)")
    return text


# Every free text a request body carries (notes, messages, names).
Text = Annotated[str, AfterValidator(_no_nul)]


@dataclass
class Context:
    settings: Settings
    store: Engine
    policy: Policy
    service: ClearanceService
    # Opens the inbox senders' sealed secrets. Read at start, so that a key
    # file others can read stops the server before it serves anything.
    sealer: Sealer

    @classmethod
    def open(cls, settings: Settings, store: Engine, policy: Policy) -> Context:
        return cls(
            settings,
            store,
            policy,
            service_for(store, stages_from_settings(settings, store), settings),
            sealer_for(settings),
        )

    @property
    def stages(self) -> Stages:
        return self.service.stages

    def refresh_stages(self) -> None:
        """Rebuild the stages after something they read changed (operator tiers)."""
        self.service.reconfigure(stages_from_settings(self.settings, self.store))

    @cached_property
    def witness(self) -> NoteSigner:
        """This node's cosigning key, made on first use as a witness."""
        return witness_key_for(self.settings)


def _context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def _caller(
    context: Annotated[Context, Depends(_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """The participant behind the request's API key (401 otherwise)."""
    token = authorization.removeprefix("Bearer ").strip() if authorization else None
    return authenticate(context.store, token)


Ctx = Annotated[Context, Depends(_context)]
Who = Annotated[Caller, Depends(_caller)]
# Ids are 64-bit integers in the store: a larger one is refused, not sent on.
ReferralId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, datetime) else v) for k, v in row.items()}


class ErrorItem(BaseModel):
    code: str
    field: str
    message: str


class ErrorBody(BaseModel):
    """The one JSON error shape."""

    ok: bool
    errors: list[ErrorItem]
    status: int


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request could not be read"),
        (401, "No valid API key"),
        (403, "The caller's role may not do this"),
        (404, "Not found, or outside the caller's scope"),
        (409, "Contradicts the current state"),
        (413, "The request body is larger than this endpoint takes"),
        (422, "Validation failed"),
        (429, "The intake queue is full: retry after the Retry-After seconds"),
    )
}
