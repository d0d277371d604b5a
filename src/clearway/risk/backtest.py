"""Stored history as risk features (recomputed as intake computes them),
and backtests of targeting rules against known outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.classification.misclassification import check_houses
from clearway.classification.model import HSClassifier
from clearway.declarations.batch import PreparedHouse, prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.parties.checks import check_parties
from clearway.parties.screening import ScreeningIndex
from clearway.risk.frame import risk_frame
from clearway.risk.rules import RuleSet, evaluate_rules

__all__ = ["RuleStats", "backtest_rules", "history_frames"]


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


def history_frames(
    history: Iterable[list[tuple[str, str | None]]],
    classifier: HSClassifier,
    screening: ScreeningIndex | None = None,
) -> Iterator[tuple[list[PreparedHouse], dict[str, npt.NDArray[Any]], npt.NDArray[np.str_]]]:
    """Stored history, batch by batch, with the features recomputed as
    intake computes them, and each declaration's outcome ("" if none)."""
    for batch in history:
        records = [RawRecord("store", i, doc.encode()) for i, (doc, _) in enumerate(batch)]
        prepared = prepare_batch(records)
        # Stored filings passed validation when stored; should a rule of a
        # later release refuse one, it drops out with its label.
        refused = {r.position for r in prepared.rejections}
        houses = prepared.houses
        labels = np.array([o or "" for i, (_, o) in enumerate(batch) if i not in refused])
        frame = risk_frame(
            houses,
            classified=check_houses(classifier, houses),
            parties=check_parties(houses, screening, routing=False),
            reference="batch",
        )
        yield houses, frame, labels


def backtest_rules(
    rules: RuleSet,
    history: Iterable[list[tuple[str, str | None]]],
    classifier: HSClassifier,
    screening: ScreeningIndex | None = None,
) -> tuple[int, list[RuleStats]]:
    """Run every rule of ``rules`` (whatever its validity dates) over the
    history, batch by batch, recomputing the features as intake does."""
    stats = {rule.id: RuleStats(rule.id) for rule in rules.rules}
    total = 0
    for houses, frame, labels in history_frames(history, classifier, screening):
        active, hits = evaluate_rules(rules, frame, None)
        known = labels != ""
        fault = known & (labels != "cleared")
        for j, rule in enumerate(active):
            column = hits[:, j]
            found = stats[rule.id]
            found.hits += int(column.sum())
            found.with_outcome += int((column & known).sum())
            found.at_fault += int((column & fault).sum())
        total += len(houses)
    return total, list(stats.values())
