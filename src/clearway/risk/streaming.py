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
    mandatory rules forced, every score; the threshold and capacity it
    decides under (capacity None: no history yet, the share of what it has
    seen so far bounds it), the filings expected and the share of them
    mandatory rules are expected to force red (room is kept for those)."""

    count: int = 0
    red: int = 0
    forced: int = 0
    scores: list[float] = field(default_factory=list)
    threshold: float = 0.5
    capacity: int | None = None
    expected: float = 0.0
    forced_rate: float = 0.0
    # A configured capacity (daily_capacity) is the number of inspections
    # the office has: it does not grow with a busy day.
    fixed: bool = False

    def room(self, share: float) -> int:
        """Red lanes left for filings no mandatory rule forces."""
        if self.capacity is None:
            return max(1, int(share * self.count)) - self.red
        if self.fixed:
            return self.capacity - self.red
        # A day busier than expected gets the share of what it has seen;
        # room is kept (twice the expected number) for what mandatory rules
        # will force in the rest of the day.
        capacity = max(self.capacity, int(share * self.count))
        reserve = round(2 * self.forced_rate * max(0.0, self.expected - self.count))
        return capacity - self.red - reserve

    def behind(self) -> bool:
        """Whether the day has used its capacity more slowly than its
        filings came: then any positive score
        may take a red lane, so the capacity is used through the day."""
        if self.capacity is None or self.expected <= 0:
            return False
        return self.red < int(self.capacity * self.count / self.expected)


def learn_day(
    office: Sequence[OfficeDay], pooled: Sequence[OfficeDay], policy: StreamPolicy
) -> OfficeDay:
    """An office's new day, from its recent days (``office``) and, for the
    threshold when the office alone has seen too little, every office's
    (``pooled``)."""
    days = [d for d in office if d.count][-policy.history_days :]
    n = sum(d.count for d in days)
    fixed = policy.daily_capacity is not None
    if not n:
        return OfficeDay(threshold=policy.yellow_score, capacity=policy.daily_capacity, fixed=fixed)
    expected = n / len(days)
    capacity = policy.daily_capacity
    if capacity is None:
        capacity = max(1, round(policy.share * expected))
    source = days if n >= _ENOUGH else [d for d in pooled if d.count]
    total = sum(d.count for d in source)
    # Red by score takes what the share leaves to exploration, aimed above
    # it: the capacity, not the threshold, binds on a busy day.
    wanted = max(0.0, policy.share - policy.exploration_rate) * policy.aim
    scores = np.sort(np.array([s for d in source for s in d.scores], dtype=np.float64))[::-1]
    positive = scores[scores > 0]
    take = int(np.ceil(wanted * total))
    threshold = float(positive[min(take, len(positive)) - 1]) if take and len(positive) else 1.0
    forced = sum(d.forced for d in source) / total
    return OfficeDay(threshold=threshold, capacity=capacity, expected=expected, forced_rate=forced)


# Filings an office must have in its recent days to learn its threshold alone.
_ENOUGH = 2000


def exploration_draw(key: bytes, filer_id: str, ref: str) -> float:
    """A uniform number in [0, 1) fixed by the filing and the key."""
    digest = hmac.new(key, f"{filer_id}\x00{ref}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_lane(  # noqa: PLR0911 - one return per way a lane is chosen, in order
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
    day.scores.append(score)
    if black or (minimum >= RANK["red"] and mandatory):
        day.red += 1
        day.forced += 1
        return ("black" if black else "red"), "rule", None
    room = day.room(policy.share)
    if minimum >= RANK["red"]:
        if room > 0:
            day.red += 1
            return "red", "rule", None
        return (
            "yellow",
            "over_capacity",
            "a rule asks for inspection but the office's red lane is full today: "
            "held for documents",
        )
    if score > 0 and (score >= day.threshold or day.behind()):
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
