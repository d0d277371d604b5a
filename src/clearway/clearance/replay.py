"""Replaying history through the sequencer: the same code intake runs, over
a store held in memory.

``history rescore``, model training and rule backtests feed stored filings,
in their arrival order, to a :class:`~clearway.clearance.sequencer.Sequencer`
whose store is :class:`MemoryStore`: versions, windows, value references,
thresholds, capacity, exploration and raises are computed as intake
computed them, so a replayed day gives the lanes intake gave (given the
same rules, model and key) and training sees the features serving sees.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from clearway.classification.misclassification import ItemClassification
from clearway.clearance.ports import Counts, Plan, StoredDecision, Tick
from clearway.clearance.sequencer import Sequencer
from clearway.clearance.stages import Stages, run_stages
from clearway.declarations.batch import PreparedBatch, prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.duty import DutyResult
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.parties.checks import PartyChecks

__all__ = ["MemoryStore", "Replayed", "Replayer"]


@dataclass(slots=True)
class _Plan:
    houses: list[dict[str, Any]]
    sources: list[int]
    status: list[str]
    previous: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class Replayed:
    """One replayed declaration: its decision as it stands now, the
    features it was decided on, and whatever the caller attached (the
    outcome recorded for it, say)."""

    filer_id: str
    ref: str
    day: date
    lane: str
    score: float
    selected_by: str
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    features: Mapping[str, Any]
    tag: Any = None


@dataclass
class MemoryStore:
    """The sequencer's store, in memory: one version per (filer, ref), the
    decisions as they are decided and raised."""

    decided: dict[int, Replayed] = field(default_factory=dict)
    heads: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    tags: dict[tuple[str, str], Any] = field(default_factory=dict)
    next_id: int = 1
    ticks: int = 0

    @contextmanager
    def tick(self) -> Iterator[Tick]:
        yield self

    def generation(self) -> int:
        return self.ticks

    def officer_lanes(self, after: int) -> list[tuple[int, int, str | None]]:
        # A replay judges history by the rules and model alone.
        return []

    def last_officer_decision(self) -> int:
        return 0

    def load_decided(self, horizon: timedelta) -> Iterator[StoredDecision]:
        return iter(())

    def claim(self, queue_ids: Sequence[int]) -> set[int]:
        return set()

    def plan(self, batch: PreparedBatch, received_at: datetime) -> _Plan:
        plan = _Plan([], [], ["duplicate"] * len(batch.houses))
        for index, house in enumerate(batch.houses):
            key = (house.filer_id, house.ref)
            head = self.heads.get(key)
            if head is not None and head[0] == house.content_hash:
                continue
            row = {"id": self.next_id, "filer_id": house.filer_id, "ref": house.ref,
                   "version": 1, **house.columns}  # fmt: skip
            self.heads[key] = (house.content_hash, self.next_id)
            self.next_id += 1
            plan.houses.append(row)
            plan.sources.append(index)
            plan.status[index] = "accepted"
        return plan

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
    ) -> Counts:
        for row, decision in zip(plan.houses, decisions or (), strict=False):
            filed = row.get("filed_at")
            self.decided[row["id"]] = Replayed(
                row["filer_id"],
                row["ref"],
                filed.date() if isinstance(filed, datetime) else date.min,
                decision["lane"],
                float(decision["score"]),
                decision["selected_by"],
                tuple(decision["rules"]),
                tuple(decision["reasons"]),
                decision["features"],
                self.tags.get((row["filer_id"], row["ref"])),
            )
        return Counts(accepted=len(plan.houses))

    def raise_lanes(self, raises: Sequence[Mapping[str, Any]]) -> None:
        for change in raises:
            found = self.decided[change["declaration_id"]]
            found.lane = change["lane"]
            found.score = float(change["score"])
            found.selected_by = change["selected_by"]
            found.rules = tuple(change["rules"])
            found.reasons = tuple(change["reasons"])

    def screening_candidates(
        self, pending_since: datetime, history: tuple[date, date] | None
    ) -> list[dict[str, Any]]:
        # A replay screens at intake only: list updates are not replayed.
        return []

    def write_rescreen(
        self, hits: Sequence[Mapping[str, Any]], alerts: Sequence[Mapping[str, Any]]
    ) -> None:
        return None

    def append_events(self, ledger: LedgerKeys, events: Sequence[tuple[Event, int | None]]) -> None:
        return None

    def finish(self, queue_ids: Sequence[int], filings: int, raised: int) -> int:
        self.ticks += 1
        return self.ticks


class Replayer:
    """Feeds stored filings (canonical documents, in arrival order) through
    a sequencer over a :class:`MemoryStore`, a tick at a time."""

    def __init__(
        self, stages: Stages, as_of: date, *, key: bytes | None = None, tick: int = 2000
    ) -> None:
        self.store = MemoryStore()
        self.stages = stages
        self.sequencer = Sequencer(self.store, stages, as_of=as_of, key=key)
        self.tick = tick

    def feed(self, filings: Sequence[tuple[str, datetime, Any]]) -> int:
        """Decide house filings ``(document, received_at, tag)`` in order;
        the number refused (a rule of a later release may refuse an old
        filing: it drops out with its tag)."""
        refused = 0
        for start in range(0, len(filings), self.tick):
            part = filings[start : start + self.tick]
            records = [RawRecord("history", n, doc.encode()) for n, (doc, _, _) in enumerate(part)]
            batch = prepare_batch(records)
            rejected = {r.position for r in batch.rejections}
            refused += len(rejected)
            tags = [tag for n, (_, _, tag) in enumerate(part) if n not in rejected]
            for house, tag in zip(batch.houses, tags, strict=True):
                self.store.tags[(house.filer_id, house.ref)] = tag
            staged = run_stages(batch, self.stages)
            self.sequencer.process(staged, min(received for _, received, _ in part))
        return refused

    def decided(self) -> list[Replayed]:
        """Every replayed declaration, in arrival order."""
        return [self.store.decided[k] for k in sorted(self.store.decided)]
