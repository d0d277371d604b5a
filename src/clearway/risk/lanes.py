"""From features, rules and model scores to a lane for every declaration,
with its reasons.

Lanes: green (release), yellow (document check or request for
information), red (physical or non-intrusive inspection), black (do not
load; only for pre-loading filings). The red lane is bounded by the
inspection capacity: rules that demand red take it first (by score), then
the highest scores, except a share kept for random selection among all the
rest. Inspecting only by score starves the model of outcomes on what it
scores low and hides drift; the random share keeps measuring that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.risk.rules import LANES, RuleSet, evaluate_rules

__all__ = ["Decisions", "LanePolicy", "Scored", "assign_lanes", "decide", "score_rows"]

Floats = npt.NDArray[np.float64]
_RANK = {lane: i for i, lane in enumerate(LANES)}


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """``capacity``: red-lane inspections available for the batch (None:
    ``capacity_share`` of it); ``exploration_share`` of that capacity goes to
    random selection; a score of ``yellow_score`` or more asks for documents."""

    capacity: int | None = None
    capacity_share: float = 0.05
    exploration_share: float = 0.10
    yellow_score: float = 0.5
    random_state: int = 0

    def red_capacity(self, n: int) -> int:
        return self.capacity if self.capacity is not None else int(n * self.capacity_share)


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per declaration: composite score, lane, why it is red (``rule``,
    ``score``, ``exploration``, or empty) and the reasons in words."""

    score: Floats
    lane: npt.NDArray[np.str_]
    selected_by: npt.NDArray[np.str_]
    reasons: list[tuple[str, ...]]
    fired: list[tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Scored:
    """A batch scored, before lanes: composite score, the lowest lane rules
    demand (index into LANES), whether black is possible (pre-loading
    filings), and per row the rules that fired and the reasons so far."""

    score: Floats
    minimum: npt.NDArray[np.intp]
    black: npt.NDArray[np.bool_]
    fired: list[tuple[str, ...]]
    reasons: list[tuple[str, ...]]
    # Rows a mandatory rule sends to red whatever the capacity.
    mandatory: npt.NDArray[np.bool_] | None = None


def score_rows(
    frame: Mapping[str, npt.NDArray[Any]],
    rules: RuleSet,
    day: date,
    *,
    model_scores: Floats | None = None,
    model_reasons: Sequence[Sequence[tuple[str, float]]] | None = None,
    pre_loading: npt.NDArray[np.bool_] | None = None,
    discount: Floats | None = None,
) -> Scored:
    """Rules and model combined into one score per row, with reasons.
    ``discount`` (trusted operators) lowers the score, never the lane a rule
    demands: screening and prohibited-goods rules keep their force."""
    n = len(next(iter(frame.values())))
    active, hits = evaluate_rules(rules, frame, day)
    weights = np.array([r.weight for r in active], dtype=np.float64)
    # Rules combine as independent evidence (noisy-or), then with the model.
    rule_score = (
        1.0 - np.prod(np.where(hits, 1.0 - weights, 1.0), axis=1) if active else np.zeros(n)
    )
    score = rule_score if model_scores is None else 1.0 - (1.0 - rule_score) * (1.0 - model_scores)
    if discount is not None:
        score = score * (1.0 - discount)
    floors = np.array([_RANK[r.min_lane] for r in active], dtype=np.intp)
    minimum = np.where(hits, floors, 0).max(axis=1) if active else np.zeros(n, dtype=np.intp)
    loading = pre_loading if pre_loading is not None else np.zeros(n, dtype=bool)
    black = (minimum == _RANK["black"]) & loading
    minimum = np.where((minimum == _RANK["black"]) & ~loading, _RANK["red"], minimum)
    # Only rows with something to say get their own lists: a list per row
    # for a batch of 100,000 costs more in allocation than the rest of this.
    fired_at: dict[int, list[str]] = {}
    said: dict[int, list[str]] = {}
    if active:
        for row, j in zip(*np.nonzero(hits), strict=True):
            fired_at.setdefault(int(row), []).append(active[j].id)
            said.setdefault(int(row), []).append(f"{active[j].reason} (rule {active[j].id})")
    if model_reasons is not None:
        for row, found in enumerate(model_reasons):
            if found:
                said.setdefault(row, []).extend(
                    f"model: {name} (+{value:.2f})" for name, value in found
                )
    if discount is not None:
        for row in np.flatnonzero(discount > 0):
            said.setdefault(int(row), []).append(
                f"trusted operator: score lowered by {discount[row]:.0%}"
            )
    none: tuple[str, ...] = ()
    forced = np.array([r.mandatory for r in active], dtype=bool)
    mandatory = (hits & forced).any(axis=1) if active else np.zeros(n, dtype=bool)
    return Scored(
        score,
        minimum,
        black,
        [tuple(fired_at[i]) if i in fired_at else none for i in range(n)],
        [tuple(said[i]) if i in said else none for i in range(n)],
        mandatory,
    )


def assign_lanes(
    scored: Scored,
    policy: LanePolicy,
    *,
    groups: npt.NDArray[np.str_] | None = None,
    capacities: Mapping[str, int] | None = None,
    random_weights: Floats | None = None,
) -> Decisions:
    """Lanes for a scored batch. The red lane of each group (customs
    office) holds at most ``capacities[group]`` declarations (default: the
    policy's share of the group's rows)."""
    n = len(scored.score)
    score, minimum = scored.score, scored.minimum
    lane = np.full(n, "green", dtype="<U6")
    selected = np.full(n, "", dtype="<U13")
    lane[scored.black] = "black"
    selected[scored.black] = "rule"
    over_all: list[npt.NDArray[np.intp]] = []
    keys = groups if groups is not None else np.full(n, "")
    rng = np.random.default_rng(policy.random_state)
    for group in np.unique(keys):
        rows = np.flatnonzero(keys == group)
        capacity = policy.red_capacity(len(rows))
        if capacities is not None:
            capacity = min(capacity, max(0, capacities.get(str(group), capacity)))
        explore = int(capacity * policy.exploration_share)
        # 1. Rules that demand red, riskiest first.
        forced = rows[(minimum[rows] >= _RANK["red"]) & ~scored.black[rows]]
        forced = forced[np.argsort(-score[forced], kind="stable")]
        taken = forced[:capacity]
        lane[taken], selected[taken] = "red", "rule"
        over_all.append(forced[len(taken) :])
        # 2. The highest scores, leaving the exploration share.
        room = max(0, capacity - len(taken) - explore)
        open_rows = rows[lane[rows] == "green"]
        by_score = open_rows[np.argsort(-score[open_rows], kind="stable")]
        by_score = by_score[score[by_score] > 0][:room]
        lane[by_score], selected[by_score] = "red", "score"
        # 3. Random selection among everything left, whatever its score.
        left = rows[lane[rows] == "green"]
        slots = min(len(left), capacity - int((lane[rows] == "red").sum()))
        if random_weights is not None:
            # Fewer random checks for trusted operators: less chance, not none.
            left = left[random_weights[left] > 0]
        slots = min(slots, len(left))
        if slots > 0:
            chance = None
            if random_weights is not None:
                chance = random_weights[left] / random_weights[left].sum()
            picks = rng.choice(left, slots, replace=False, p=chance)
            lane[picks], selected[picks] = "red", "exploration"
    over = np.concatenate(over_all) if over_all else np.zeros(0, dtype=np.intp)
    yellow = (lane == "green") & ((minimum >= _RANK["yellow"]) | (score >= policy.yellow_score))
    lane[yellow] = "yellow"
    lane[over] = "yellow"
    selected[over] = "over_capacity"
    reasons = list(scored.reasons)
    for row in np.flatnonzero(selected == "exploration"):
        reasons[row] = (*reasons[row], "selected at random to keep measuring what scores low")
    for row in over:
        reasons[row] = (
            *reasons[row],
            "a rule asks for inspection but the red lane is full: held for documents",
        )
    return Decisions(score, lane, selected, reasons, scored.fired)


def decide(
    frame: Mapping[str, npt.NDArray[Any]],
    rules: RuleSet,
    day: date,
    policy: LanePolicy,
    *,
    model_scores: Floats | None = None,
    model_reasons: Sequence[Sequence[tuple[str, float]]] | None = None,
    pre_loading: npt.NDArray[np.bool_] | None = None,
) -> Decisions:
    """Score and lane every row of ``frame`` (features and fields), the
    whole batch under one capacity."""
    scored = score_rows(
        frame,
        rules,
        day,
        model_scores=model_scores,
        model_reasons=model_reasons,
        pre_loading=pre_loading,
    )
    return assign_lanes(scored, policy)
