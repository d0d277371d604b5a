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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clearway.ledger.events import Event
from clearway.parties.checks import FalsePositive, suppressed
from clearway.parties.screening import ScreeningHit, ScreeningIndex

__all__ = ["RescreenRequest", "RescreenResult", "find_hits"]


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
