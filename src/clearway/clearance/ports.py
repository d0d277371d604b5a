"""What the write path needs of a store, as small Protocols: the store
(:mod:`clearway.store.clearance`) implements them for SQLite and
PostgreSQL, :mod:`clearway.clearance.memory` in memory for replays. The
core never imports the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from clearway.classification.misclassification import ItemClassification
from clearway.declarations.batch import PreparedBatch
from clearway.duty import DutyResult
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.parties.checks import PartyChecks

__all__ = [
    "ClearanceStore",
    "Counts",
    "IntakeQueue",
    "Plan",
    "QueuedFiling",
    "StoredDecision",
    "Tick",
]


@dataclass(slots=True)
class Counts:
    """What happened to each filing of a batch."""

    accepted: int = 0
    amended: int = 0
    duplicate: int = 0


class Plan(Protocol):
    """A batch placed among stored versions: ``houses`` the rows to insert
    (with ``id``, ``filer_id``, ``ref``, ``version`` and the columns),
    ``sources`` the index in ``batch.houses`` of each, ``status`` per house
    of the batch, ``previous`` the superseded version's decision (``lane``,
    ``selected_by``) per new row id."""

    @property
    def houses(self) -> list[dict[str, Any]]: ...
    @property
    def sources(self) -> list[int]: ...
    @property
    def status(self) -> list[str]: ...
    @property
    def previous(self) -> dict[int, dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decided declaration as the sequencer's state needs it."""

    row_id: int
    filer_id: str
    ref: str
    filed_at: datetime | None
    received_at: datetime
    columns: Mapping[str, Any]
    items: Sequence[Mapping[str, Any]]
    lane: str
    score: float
    selected_by: str
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    features: Mapping[str, Any] | None


class Tick(Protocol):
    """One sequencer tick: one transaction, under the store's sequencer lock."""

    def generation(self) -> int:
        """The last tick written by anyone (a changed value: reload state)."""

    def officer_lanes(self, after: int) -> list[tuple[int, int, str | None]]:
        """Officers' decisions recorded since decision ``after`` (their id),
        as (id, declaration row, lane set or None), in order: the sequencer
        never raises what an officer decided."""

    def last_officer_decision(self) -> int:
        """The id of the newest officer's decision (0 if none)."""

    def load_decided(self, horizon: timedelta) -> Iterable[StoredDecision]:
        """Decided declarations filed within ``horizon`` of the newest one,
        in arrival order."""

    def claim(self, queue_ids: Sequence[int]) -> set[int]:
        """Lock those of ``queue_ids`` still queued and not locked by another
        tick (until this tick commits; removed by :meth:`finish`)."""

    def plan(self, batch: PreparedBatch, received_at: datetime) -> Plan: ...

    def write(
        self,
        plan: Plan,
        *,
        duty: DutyResult | None,
        ledger: LedgerKeys | None,
        parties: PartyChecks | None,
        classified: Sequence[Sequence[ItemClassification]] | None,
        decisions: Sequence[Mapping[str, Any]] | None,
        events: Sequence[tuple[Event, int | None]],
    ) -> Counts: ...

    def raise_lanes(self, raises: Sequence[Mapping[str, Any]]) -> None: ...

    def screening_candidates(
        self, pending_since: datetime, history: tuple[date, date] | None
    ) -> list[dict[str, Any]]:
        """Current declarations a rescreen looks at (see
        :func:`clearway.clearance.rescreen.rescreen`): id, filer_id, ref,
        seller and consignee name and country, ``released``, and the
        decision (lane, score, selected_by, rules, reasons, features; None
        when undecided)."""

    def write_rescreen(
        self, hits: Sequence[Mapping[str, Any]], alerts: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store a rescreen's new hits and the alerts they raise."""

    def append_events(self, ledger: LedgerKeys, events: Sequence[tuple[Event, int | None]]) -> None:
        """Put events that came without filings on the ledger, under one
        checkpoint, in this tick's transaction."""

    def finish(self, queue_ids: Sequence[int], filings: int, raised: int) -> int:
        """Remove decided filings from the intake queue, record the tick;
        returns the new generation."""


class ClearanceStore(Protocol):
    def tick(self) -> AbstractContextManager[Tick]: ...


@dataclass(frozen=True, slots=True)
class QueuedFiling:
    """A validated filing waiting in the intake queue."""

    queue_id: int
    kind: str
    filer_id: str
    ref: str
    content_hash: str
    document: str
    received_at: datetime
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # The HTTP request that submitted it, for the logs of its decision.
    request_id: str | None = None


class Intake(Protocol):
    """The intake queue inside one transaction (intake's group commit)."""

    def known(self, keys: Sequence[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Which (filer, ref, content hash) are queued or stored as current."""

    def pending(self) -> int: ...

    def enqueue(self, filings: Sequence[QueuedFiling]) -> list[int]:
        """Append (committed when the transaction closes); the queue ids, in order."""


class IntakeQueue(Protocol):
    """The durable intake queue."""

    def intake(self) -> AbstractContextManager[Intake]:
        """One transaction to check and append (committed when it closes)."""

    def pending(self) -> int: ...

    def peek(self, limit: int) -> list[QueuedFiling]:
        """The oldest queued filings, up to ``limit``, without locking them."""

    def waiting(self, queue_ids: Sequence[int]) -> set[int]:
        """Which of ``queue_ids`` are still queued."""
