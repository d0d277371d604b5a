"""What the classifier returns: scored chunks and top-k suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Distribution", "Suggestions"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The top-k subheadings for each of n descriptions, best first, with the
    probability of the subheading, of its heading and of its chapter."""

    codes: npt.NDArray[np.str_]  # (n, k) six-digit codes
    confidence: Floats  # (n, k)
    heading_confidence: Floats  # (n, k)
    chapter_confidence: Floats  # (n, k)

    def unsure(self, below: float) -> npt.NDArray[np.bool_]:
        """Per description: is the best suggestion's heading less probable
        than ``below``? Then the answer is "unsure", not a code."""
        if self.heading_confidence.shape[1] == 0:
            return np.ones(self.heading_confidence.shape[0], dtype=bool)
        return np.asarray(self.heading_confidence[:, 0] < below)

    def row(self, index: int) -> list[dict[str, Any]]:
        """One description's suggestions as plain dicts (for JSON and display)."""
        return [
            {
                "hs": str(code),
                "heading": str(code)[:4],
                "chapter": str(code)[:2],
                "confidence": round(float(p), 4),
                "heading_confidence": round(float(ph), 4),
                "chapter_confidence": round(float(pc), 4),
            }
            for code, p, ph, pc in zip(
                self.codes[index],
                self.confidence[index],
                self.heading_confidence[index],
                self.chapter_confidence[index],
                strict=True,
            )
        ]


@dataclass(frozen=True, slots=True)
class Distribution:
    """A chunk of descriptions scored: heading probabilities (n, H) and raw
    subheading scores (n, S + 1), turned into probabilities on demand."""

    heading: Floats
    subheading_scores: Floats
