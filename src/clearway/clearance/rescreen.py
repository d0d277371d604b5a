"""Rescreening after a list changes: the parties of stored declarations
against the entries that changed, decided by the sequencer in one tick.

*Not yet released* means: the current version of a declaration that no
officer has released (no ``release`` decision) and that clearway received
within the pending window (``screening_pending_days``, default 30: parcels
still in transit). With a history range, every current declaration filed in
that range is screened too, released or not.

A new hit (not a marked false positive) is stored beside intake's hits and
raises an alert; the lane is decided as at intake (the hit's score is the
``screening_score`` feature, so the mandatory ``restricted-party`` rule
makes it red) and only ever raised, and never on a declaration an officer
decided or released: those get the alert and the ledger event only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from clearway.clearance.ports import Tick
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.parties.checks import FalsePositive, suppressed
from clearway.parties.screening import ScreeningHit, ScreeningIndex

__all__ = ["LaneDecider", "RescreenRequest", "RescreenResult", "apply_rescreen", "find_hits"]

# The sequencer's decision for declarations with new hits: the raised
# decision row and its ledger event, per declaration row whose lane rises.
LaneDecider = Callable[
    [list[dict[str, Any]], Mapping[int, list[tuple[str, ScreeningHit]]], str, datetime],
    dict[int, tuple[dict[str, Any], Event]],
]


@dataclass(frozen=True, slots=True)
class RescreenRequest:
    """Screen against ``index`` (the changed entries only) the declarations
    pending since ``pending_since``, and those filed in ``history``."""

    index: ScreeningIndex
    pending_since: datetime
    history: tuple[date, date] | None = None
    false_positives: frozenset[FalsePositive] = frozenset()
    why: str = "a screening list changed"


@dataclass(slots=True)
class RescreenResult:
    screened: int = 0
    hits: int = 0
    raised: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)


def find_hits(
    candidates: Sequence[Mapping[str, Any]],
    index: ScreeningIndex,
    marks: frozenset[FalsePositive],
) -> dict[int, list[tuple[str, ScreeningHit]]]:
    """New hits per declaration row: (role, hit), best first."""
    found: dict[int, list[tuple[str, ScreeningHit]]] = {}
    for role in ("seller", "consignee"):
        pairs = [(c[f"{role}_name"], c[f"{role}_country"]) for c in candidates]
        for candidate, hits, (name, country) in zip(
            candidates, index.screen_many(pairs), pairs, strict=True
        ):
            kept = [(role, h) for h in hits if not suppressed(h, name or "", country, marks)]
            if kept:
                found.setdefault(int(candidate["id"]), []).extend(kept)
    for found_hits in found.values():
        found_hits.sort(key=lambda rh: -rh[1].score)
    return found


def hit_rows(row_id: int, hits: Sequence[tuple[str, ScreeningHit]]) -> list[dict[str, Any]]:
    return [
        {
            "declaration_id": row_id,
            "role": role,
            "list_name": hit.party.list_name,
            "entry_id": hit.party.entry_id,
            "listed_name": hit.party.name,
            "matched_name": hit.matched_name,
            "score": hit.score,
            "reason": hit.reason,
        }
        for role, hit in hits
    ]


def hit_event(
    candidate: Mapping[str, Any], hits: Sequence[tuple[str, ScreeningHit]], when: datetime, why: str
) -> Event:
    """``screening.hit``: what a rescreen found on a declaration."""
    first = hits[0][1].party
    return Event(
        event_id=f"screening.hit:{candidate['id']}:{first.list_name}:{first.entry_id}:"
        f"{when.isoformat()}",
        type="screening.hit",
        time=when.isoformat(),
        actors=("clearway",),
        subject=f"{candidate['filer_id']}/{candidate['ref']}",
        fields={
            "why": why,
            "released": bool(candidate["released"]),
            "hits": [
                {
                    "role": role,
                    "list": hit.party.list_name,
                    "entry": hit.party.entry_id,
                    "matched_name": hit.matched_name,
                    "score": round(hit.score, 1),
                }
                for role, hit in hits
            ],
        },
    )


def apply_rescreen(
    tick: Tick, request: RescreenRequest, decide: LaneDecider, ledger: LedgerKeys | None
) -> tuple[RescreenResult, list[dict[str, Any]]]:
    """Screen the tick's candidates, store hits and alerts, put the events
    on the ledger; the lanes to raise (decided by ``decide``, the
    sequencer's) are returned for the sequencer to write."""
    when = datetime.now(UTC)
    candidates = tick.screening_candidates(request.pending_since, request.history)
    found = find_hits(candidates, request.index, request.false_positives)
    result = RescreenResult(screened=len(candidates))
    rows = [c for c in candidates if int(c["id"]) in found]
    new_lanes = decide(rows, found, request.why, when)
    hits: list[dict[str, Any]] = []
    raises: list[dict[str, Any]] = []
    events: list[tuple[Event, int | None]] = []
    for row in rows:
        row_id = int(row["id"])
        row_hits = hit_rows(row_id, found[row_id])
        hits += row_hits
        events.append((hit_event(row, found[row_id], when, request.why), row_id))
        raised = new_lanes.get(row_id)
        if raised is not None:
            raises.append(raised[0])
            events.append((raised[1], row_id))
        after = raised[0]["lane"] if raised else row["lane"]
        result.alerts += [
            {**hit, "lane_before": row["lane"], "lane_after": after,
             "released": bool(row["released"]), "raised_at": when}
            for hit in row_hits
        ]  # fmt: skip
    result.hits, result.raised = len(hits), len(raises)
    tick.write_rescreen(hits, result.alerts)
    if ledger is not None:
        tick.append_events(ledger, events)
    return result, raises
