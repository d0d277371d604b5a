"""The misclassification signal: a declared HS code weighed against what
its description suggests.

The score is how much more probable the best heading is than the declared
one, ``P(top heading) - P(declared heading)``, in [0, 1]: 0 when the
declared heading is the classifier's first choice, near 1 when the
description clearly names goods of another heading. A vague description
spreads probability thin and so scores low: the signal accuses only where
the text is clear. The evidence (the top suggestion, its confidence, the
declared code's rank) is kept with the score so an officer can judge it.

Below ``unsure_below`` (the best heading's calibrated probability) the
suggestion is *unsure*: it is still shown, but the signal never accuses on
it (score 0, not flagged), whatever the declared code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clearway.classification.listing import listing_text
from clearway.classification.model import Distribution, HSClassifier
from clearway.declarations.batch import PreparedHouse

__all__ = [
    "FLAG_SCORE",
    "UNSURE_BELOW",
    "ItemClassification",
    "check_classification",
    "check_houses",
]

# A score at or above this marks the item as likely misclassified: the
# description's best heading is at least this much more probable than the
# declared one.
FLAG_SCORE = 0.5
# Default of the classifier_unsure_below setting: a best heading less
# probable than this is "unsure" (chosen from precision at coverage on the
# development sets, docs/classification.md).
UNSURE_BELOW = 0.5


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
    unsure: bool = False

    @property
    def flagged(self) -> bool:
        return not self.unsure and self.score >= FLAG_SCORE

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
    classifier: HSClassifier,
    descriptions: Sequence[str],
    declared: Sequence[str | None],
    unsure_below: float = UNSURE_BELOW,
) -> list[ItemClassification]:
    """Suggestions and the misclassification signal for each item, in order.
    An item without a declared code gets suggestions and a score of 0 (the
    missing code is a data-quality gap, not a misclassification).

    Each distinct description is scored once: parcel traffic repeats the
    same listings many times over."""
    unique: dict[str, int] = {}
    position = [unique.setdefault(text, len(unique)) for text in descriptions]
    texts = list(unique)
    codes_of: list[list[str]] = []
    confidence_of: list[list[float]] = []
    best_of: list[float] = []
    heading_of: list[list[float]] = []
    dists = []
    for dist in classifier.distributions(texts):
        top = classifier.top(dist, 5)
        codes_of.extend(top.codes.tolist())
        confidence_of.extend(np.round(top.confidence, 4).tolist())
        heading_of.extend(np.round(top.heading_confidence, 4).tolist())
        best_of.extend(dist.heading.max(axis=1).tolist())
        dists.append(dist)
    # The declared code's place is looked up per item: one description may be
    # filed under different codes.
    offsets = np.cumsum([0] + [d.heading.shape[0] for d in dists])
    p_heading = np.zeros(len(descriptions))
    heading_rank = np.zeros(len(descriptions), dtype=np.intp)
    sub_rank = np.zeros(len(descriptions), dtype=np.intp)
    where = np.array(position, dtype=np.intp)
    codes = [code or "" for code in declared]
    has_code = np.array([bool(code) for code in codes], dtype=bool)
    for chunk, dist in enumerate(dists):
        mine = np.flatnonzero((where >= offsets[chunk]) & (where < offsets[chunk + 1]) & has_code)
        if not mine.size:
            continue
        # Each (description, declared code) pair once: copying a row of the
        # distribution per item would cost more than all the rest.
        pairs: dict[tuple[int, str], int] = {}
        inverse = np.array(
            [
                pairs.setdefault((int(row), codes[i]), len(pairs))
                for row, i in zip(where[mine] - offsets[chunk], mine, strict=True)
            ],
            dtype=np.intp,
        )
        sub = _rows(dist, np.array([row for row, _ in pairs], dtype=np.intp))
        p, rank, _p_sub, s_rank = classifier.declared(sub, [code for _, code in pairs])
        p_heading[mine], heading_rank[mine] = p[inverse], rank[inverse]
        sub_rank[mine] = s_rank[inverse]
    best = np.array(best_of)[where] if len(where) else np.zeros(0)
    unsure = best < unsure_below
    score = np.where(has_code & ~unsure, np.clip(best - p_heading, 0.0, 1.0), 0.0)
    out: list[ItemClassification] = []
    for i, k in enumerate(position):
        out.append(
            ItemClassification(
                suggestions=[
                    {"hs": c, "confidence": p, "heading_confidence": ph}
                    for c, p, ph in zip(codes_of[k], confidence_of[k], heading_of[k], strict=True)
                ],
                suggested_hs=codes_of[k][0],
                suggested_confidence=confidence_of[k][0],
                declared_hs=codes[i],
                declared_heading_confidence=round(float(p_heading[i]), 4),
                declared_heading_rank=int(heading_rank[i]),
                declared_subheading_rank=int(sub_rank[i]),
                score=round(float(score[i]), 4),
                unsure=bool(unsure[i]),
            )
        )
    return out


def _rows(dist: Distribution, rows: npt.NDArray[np.intp]) -> Distribution:
    return Distribution(dist.heading[rows], dist.subheading_scores[rows])


def check_houses(
    classifier: HSClassifier,
    houses: Sequence[PreparedHouse],
    unsure_below: float = UNSURE_BELOW,
) -> list[list[ItemClassification]]:
    """:func:`check_classification` for every item of a batch, one list per
    house (the pipeline's classification stage); an item's listing
    attributes (category path, material, brand) join its description."""
    texts: list[str] = []
    codes: list[str | None] = []
    for house in houses:
        for n, item in enumerate(house.items):
            attributes = house.listing[n] if house.listing else None
            texts.append(
                listing_text(item["description"], **attributes)
                if attributes
                else item["description"]
            )
            codes.append(item["hs_code"])
    flat = check_classification(classifier, texts, codes, unsure_below)
    out, start = [], 0
    for house in houses:
        out.append(flat[start : start + len(house.items)])
        start += len(house.items)
    return out
