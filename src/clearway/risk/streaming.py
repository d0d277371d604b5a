"""Lanes in a stream: one filing at a time, within each office's daily
inspection capacity, whatever the arrival shape.

A stream cannot rank a day that has not happened yet, so red is chosen by a
score threshold learned from the office's recent days (the score above
which its target share of filings lay, less what mandatory rules and
exploration take), guarded by what is left of the day's capacity. Rules
that demand red (screening hits, prohibited goods, counterfeits) are always
red; black (do not load) is for pre-loading filings only. Exploration is
chosen by a keyed hash of the filing, so a replay of history picks the same
filings and a filer cannot predict which.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from clearway.risk.rules import LANES

__all__ = ["RANK", "OfficeDay", "StreamPolicy", "choose_lane", "exploration_draw", "learn_day"]

RANK = {lane: i for i, lane in enumerate(LANES)}


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """``share``: red-lane inspections per office and day as a share of its
    filings (learned from its recent days), or ``daily_capacity`` when set;
    ``exploration_share`` of the share is chosen at random by a hash keyed
    with ``key``; the threshold aims ``aim`` times above the share so the
    capacity, not the threshold, is what binds on a busy day."""

    share: float = 0.05
    exploration_share: float = 0.10
    daily_capacity: int | None = None
    yellow_score: float = 0.5
    aim: float = 1.5
    history_days: int = 7
    key: bytes = b"clearway-exploration"

    @property
    def exploration_rate(self) -> float:
        return self.share * self.exploration_share


@dataclass(slots=True)
class OfficeDay:
    """One office's day as decided so far: filings, red lanes, red lanes
    demanded by rules, the scores of the rest; the threshold and capacity
    it decides under (None: no history yet, the share of what it has seen
    so far bounds it)."""

    count: int = 0
    red: int = 0
    mandatory: int = 0
    scores: list[float] = field(default_factory=list)
    threshold: float = 0.5
    capacity: int | None = None
    learned: bool = False

    def room(self, share: float) -> int:
        if self.capacity is not None:
            return self.capacity - self.red
        return max(1, int(share * self.count)) - self.red


def learn_day(history: Sequence[OfficeDay], policy: StreamPolicy) -> tuple[float, int | None]:
    """The threshold and capacity of an office's new day from its recent
    days (oldest first)."""
    days = [d for d in history if d.count][-policy.history_days :]
    n = sum(d.count for d in days)
    capacity = policy.daily_capacity
    if not n:
        return policy.yellow_score, capacity
    if capacity is None:
        capacity = max(1, round(policy.share * n / len(days)))
    mandatory = sum(d.mandatory for d in days) / n
    wanted = max(0.0, policy.share - mandatory - policy.exploration_rate) * policy.aim
    scores = np.array([s for d in days for s in d.scores], dtype=np.float64)
    positive = np.sort(scores[scores > 0])[::-1]
    if not len(positive):
        return policy.yellow_score, capacity
    take = int(np.ceil(wanted * n))
    threshold = float(positive[min(take, len(positive)) - 1]) if take else float(positive[0])
    return threshold, capacity


def exploration_draw(key: bytes, filer_id: str, ref: str) -> float:
    """A uniform number in [0, 1) fixed by the filing and the key."""
    digest = hmac.new(key, f"{filer_id}\x00{ref}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_lane(
    day: OfficeDay,
    policy: StreamPolicy,
    *,
    score: float,
    minimum: int,
    black: bool,
    draw: float,
    mandatory: bool = False,
    random_factor: float = 1.0,
) -> tuple[str, str, str | None]:
    """Lane, what selected it, and a reason to add (or None), for the next
    filing of ``day``; ``day`` is updated."""
    day.count += 1
    if black:
        day.red += 1
        day.mandatory += 1
        return "black", "rule", None
    room = day.room(policy.share)
    if minimum >= RANK["red"]:
        day.mandatory += 1
        if mandatory or room > 0:
            day.red += 1
            return "red", "rule", None
        return (
            "yellow",
            "over_capacity",
            "a rule asks for inspection but the office's red lane is full today: "
            "held for documents",
        )
    day.scores.append(score)
    if score > 0 and score >= day.threshold:
        if room > 0:
            day.red += 1
            return "red", "score", None
        return (
            "yellow",
            "over_capacity",
            "the score asks for inspection but the office's red lane is full today: "
            "held for documents",
        )
    if draw < policy.exploration_rate * random_factor and room > 0:
        day.red += 1
        return "red", "exploration", "selected at random to keep measuring what scores low"
    if minimum >= RANK["yellow"] or score >= policy.yellow_score:
        return "yellow", "", None
    return "green", "", None
