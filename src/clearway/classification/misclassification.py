"""The misclassification signal: a declared HS code weighed against what
its description suggests.

The score is how much more probable the best heading is than the declared
one, ``P(top heading) - P(declared heading)``, in [0, 1]: 0 when the
declared heading is the classifier's first choice, near 1 when the
description clearly names goods of another heading. A vague description
spreads probability thin and so scores low: the signal accuses only where
the text is clear. The evidence (the top suggestion, its confidence, the
declared code's rank) is kept with the score so an officer can judge it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clearway.classification.model import HSClassifier

__all__ = ["FLAG_SCORE", "ItemClassification", "check_classification"]

# A score at or above this marks the item as likely misclassified: the
# description's best heading is at least this much more probable than the
# declared one.
FLAG_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class ItemClassification:
    """One item line's suggestions and how its declared code compares."""

    suggestions: list[dict[str, object]]
    suggested_hs: str
    suggested_confidence: float
    declared_hs: str
    declared_heading_confidence: float
    declared_heading_rank: int
    declared_subheading_rank: int
    score: float

    @property
    def flagged(self) -> bool:
        return self.score >= FLAG_SCORE

    def as_row(self) -> dict[str, object]:
        return {
            "suggested_hs": self.suggested_hs,
            "suggested_confidence": self.suggested_confidence,
            "declared_hs": self.declared_hs,
            "declared_heading_confidence": self.declared_heading_confidence,
            "declared_heading_rank": self.declared_heading_rank,
            "declared_subheading_rank": self.declared_subheading_rank,
            "score": self.score,
            "flagged": self.flagged,
            "suggestions": self.suggestions,
        }


def check_classification(
    classifier: HSClassifier, descriptions: Sequence[str], declared: Sequence[str | None]
) -> list[ItemClassification]:
    """Suggestions and the misclassification signal for each item, in order.
    An item without a declared code gets suggestions and a score of 0 (the
    missing code is a data-quality gap, not a misclassification)."""
    out: list[ItemClassification] = []
    offset = 0
    for dist in classifier.distributions(descriptions):
        n = dist.heading.shape[0]
        given = list(declared[offset : offset + n])
        codes = [code or "" for code in given]
        top = classifier.top(dist, 5)
        p_heading, heading_rank, _p_sub, sub_rank = classifier.declared(dist, codes)
        best = dist.heading.max(axis=1)
        has_code = np.array([bool(code) for code in codes])
        score = np.where(has_code, np.clip(best - p_heading, 0.0, 1.0), 0.0)
        p_heading = np.where(has_code, p_heading, 0.0)
        heading_rank = np.where(has_code, heading_rank, 0)
        sub_rank = np.where(has_code, sub_rank, 0)
        for i in range(n):
            suggestions = [{"hs": r["hs"], "confidence": r["confidence"]} for r in top.row(i)]
            out.append(
                ItemClassification(
                    suggestions=suggestions,
                    suggested_hs=str(top.codes[i, 0]),
                    suggested_confidence=round(float(top.confidence[i, 0]), 4),
                    declared_hs=codes[i],
                    declared_heading_confidence=round(float(p_heading[i]), 4),
                    declared_heading_rank=int(heading_rank[i]),
                    declared_subheading_rank=int(sub_rank[i]),
                    score=round(float(score[i]), 4),
                )
            )
        offset += n
    return out
