"""Backtests of targeting rules against known outcomes: how each rule does
on features computed as intake computes them (the history replay,
:func:`clearway.history.backtest.backtest_history`, supplies them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.risk.rules import RuleSet, evaluate_rules

__all__ = ["RuleStats", "tally"]


@dataclass(slots=True)
class RuleStats:
    """How one rule would have done: declarations hit, their share of all,
    how many of the hits have a known outcome and how many of those were at
    fault (precision = at_fault / with_outcome)."""

    rule_id: str
    hits: int = 0
    with_outcome: int = 0
    at_fault: int = 0

    def as_dict(self, total: int) -> dict[str, object]:
        return {
            "rule": self.rule_id,
            "hits": self.hits,
            "share": round(self.hits / total, 4) if total else 0.0,
            "with_outcome": self.with_outcome,
            "precision": round(self.at_fault / self.with_outcome, 4) if self.with_outcome else None,
        }


def tally(
    rules: RuleSet,
    frame: Mapping[str, npt.NDArray[Any]],
    labels: npt.NDArray[np.str_],
    stats: dict[str, RuleStats],
) -> None:
    """Add one batch to ``stats``: every rule of ``rules`` (whatever its
    validity dates) run over ``frame``, the features intake computed;
    ``labels`` the recorded outcome of each row ("" if none)."""
    active, hits = evaluate_rules(rules, frame, None)
    known = labels != ""
    fault = known & (labels != "cleared")
    for j, rule in enumerate(active):
        column = hits[:, j]
        found = stats.setdefault(rule.id, RuleStats(rule.id))
        found.hits += int(column.sum())
        found.with_outcome += int((column & known).sum())
        found.at_fault += int((column & fault).sum())
