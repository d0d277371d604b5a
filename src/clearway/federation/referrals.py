"""Referrals between customs and filers, as in EU ICS2: a request for
information (to the filer), a request for screening (before loading), do
not load, and hold. A small state machine with deadlines; a referral left
unanswered past its deadline escalates the declaration's lane."""

from __future__ import annotations

from clearway.errors import Conflict, InputError

__all__ = ["KINDS", "PAST", "STATES", "TRANSITIONS", "escalated_lane", "next_state"]

KINDS = {
    "rfi": "request for information",
    "rfs": "request for screening before loading",
    "dnl": "do not load",
    "hold": "hold the goods",
}
STATES = ("open", "answered", "escalated", "closed", "withdrawn")

# The allowed transitions, as data: (state, action) -> new state. Answering
# is the filer's; closing, withdrawing and escalating are customs'. Closed
# and withdrawn are final. The store moves a referral only while it is
# still in the state it read (compare-and-set), so two requests racing on
# one referral make one transition, never two.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "answer"): "answered",
    ("escalated", "answer"): "answered",
    ("open", "close"): "closed",
    ("answered", "close"): "closed",
    ("escalated", "close"): "closed",
    ("open", "withdraw"): "withdrawn",
    ("open", "escalate"): "escalated",
}
# The ledger event of each action: ``referral.<past>``.
PAST = {"answer": "answered", "close": "closed", "withdraw": "withdrawn", "escalate": "escalated"}
_LANES = ("green", "yellow", "red", "black")


def next_state(state: str, action: str) -> str:
    """The state after ``action``; :class:`Conflict` when the referral's
    state does not allow it."""
    if action not in {a for _, a in TRANSITIONS}:
        raise InputError(f"action must be answer, close, withdraw or escalate. Got {action!r}")
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Conflict(f"a referral that is {state} cannot be {PAST[action]}") from None


def escalated_lane(lane: str) -> str:
    """One lane up (green to yellow, yellow to red); red and black stay."""
    index = _LANES.index(lane) if lane in _LANES else 0
    return _LANES[min(index + 1, 2)] if index < 2 else lane
