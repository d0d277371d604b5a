"""What every endpoint shares: the store, the data-sharing policy, the
pipeline's stages, the caller behind the API key, and the one error shape
as the OpenAPI document describes it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
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
    keys: KeyCache

    @classmethod
    def open(cls, settings: Settings, store: Engine, policy: Policy) -> Context:
        return cls(
            settings,
            store,
            policy,
            service_for(store, stages_from_settings(settings, store), settings),
            sealer_for(settings),
            KeyCache(settings.api_key_cache_s),
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


async def _context(request: Request) -> Context:
    # A coroutine: FastAPI runs a plain function dependency in a worker
    # thread, a hand-over costing more than this reads.
    context: Context = request.app.state.context
    return context


class KeyCache:
    """Callers of recently checked API keys, for ``seconds``: a filer
    sending one declaration per request costs the store one query per key
    every few seconds, not one per request. A revoked or expired key is
    refused at the latest ``seconds`` later; only keys that passed are
    kept (a flood of bad keys cannot fill it), at most ``size`` of them."""

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._known: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str | None) -> Caller | None:
        """The caller of ``token`` if it passed within the cache time (no
        store access, no hashing: fit for the event loop), else None."""
        if not token or self.seconds <= 0:
            return None
        with self._lock:
            known = self._known.get(token)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        return None

    def caller(self, store: Engine, token: str | None) -> Caller:
        if not token or self.seconds <= 0:
            return authenticate(store, token)
        known = self.cached(token)
        if known is not None:
            return known
        now = time.monotonic()
        caller = authenticate(store, token)
        with self._lock:
            self._known.pop(token, None)
            while len(self._known) >= self.size:
                # The oldest entry first (dicts keep insertion order).
                self._known.pop(next(iter(self._known)))
            self._known[token] = (caller, now + self.seconds)
        return caller


async def _caller(
    context: Annotated[Context, Depends(_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """The participant behind the request's API key (401 otherwise): from
    the key cache on the event loop, else checked in a worker thread (a
    store query and a hash)."""
    token = authorization.removeprefix("Bearer ").strip() if authorization else None
    known = context.keys.cached(token)
    if known is not None:
        return known
    return await run_in_threadpool(context.keys.caller, context.store, token)


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
