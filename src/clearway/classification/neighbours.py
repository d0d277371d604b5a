"""Nearest labelled examples by meaning: the semantic half of the classifier.

Only *labelled examples* are indexed here: product phrases, the office's
history and confirmed classifications (precedents). Matching listings
against the nomenclature's own wording by meaning is weak (the nomenclature
says "apparatus for the transmission of voice"), while a listing that means
what a confirmed listing meant is strong evidence, which is what customs
precedent search does.

For each text the ``k`` nearest examples count; a heading's evidence is its
best neighbour's similarity above ``floor`` (rescaled to [0, 1]) plus half
of its second best, so two agreeing precedents beat one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clearway.classification.semantic import word_vectors
from clearway.classification.text import words

__all__ = ["SOURCES", "Neighbours", "SemanticIndex"]

# Where an example came from, as stored in ``example_sources_``.
SOURCES = ("nomenclature", "phrase", "history", "precedent")

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Neighbours:
    """For n texts: the k nearest indexed examples (row numbers into the
    index, -1 where fewer exist) and their cosine similarities."""

    rows: npt.NDArray[np.intp]  # (n, k)
    similarity: npt.NDArray[np.float32]  # (n, k)


class SemanticIndex:
    """Unit vectors of labelled examples, with the heading and subheading
    (index into the classifier's sorted code lists; -1: none) of each."""

    def __init__(self, dims: int, idf: dict[str, float], default_idf: float) -> None:
        self.dims = dims
        self._idf = idf
        self._default_idf = default_idf
        self.vectors = np.zeros((0, dims), dtype=np.float32)
        self.heading = np.zeros(0, dtype=np.intp)
        self.subheading = np.zeros(0, dtype=np.intp)
        self.example = np.zeros(0, dtype=np.intp)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        tokenised = [words(t) for t in texts]
        weights = {w: self._idf.get(w, self._default_idf) for ws in tokenised for w in ws}
        return word_vectors(self.dims).embed(tokenised, weights)

    def add(
        self,
        texts: Sequence[str],
        heading: npt.NDArray[np.intp],
        subheading: npt.NDArray[np.intp],
        example: npt.NDArray[np.intp],
    ) -> None:
        """Index more examples (no refit: appended rows)."""
        if not len(texts):
            return
        self.vectors = np.vstack([self.vectors, self.embed(texts)])
        self.heading = np.concatenate([self.heading, heading])
        self.subheading = np.concatenate([self.subheading, subheading])
        self.example = np.concatenate([self.example, example])

    def nearest(self, vectors: npt.NDArray[np.float32], k: int) -> Neighbours:
        n = vectors.shape[0]
        size = self.vectors.shape[0]
        if size == 0 or n == 0:
            return Neighbours(
                np.full((n, k), -1, dtype=np.intp), np.zeros((n, k), dtype=np.float32)
            )
        similarity = vectors @ self.vectors.T
        take = min(k, size)
        rows = np.argpartition(-similarity, take - 1, axis=1)[:, :take]
        sims = np.take_along_axis(similarity, rows, axis=1)
        if take < k:
            rows = np.hstack([rows, np.full((n, k - take), -1, dtype=np.intp)])
            sims = np.hstack([sims, np.full((n, k - take), -1.0, dtype=np.float32)])
        return Neighbours(rows, sims)

    def evidence(
        self, found: Neighbours, n_headings: int, n_subheadings: int, floor: float
    ) -> tuple[Floats, Floats]:
        """Heading evidence (n, H) and subheading evidence (n, S) from the
        neighbours: best rescaled similarity plus half the runner-up."""
        n, k = found.rows.shape
        strength = np.clip((found.similarity.astype(np.float64) - floor) / (1.0 - floor), 0, 1)
        valid = (found.rows >= 0) & (strength > 0)
        out = []
        for labels, width in ((self.heading, n_headings), (self.subheading, n_subheadings)):
            label = np.where(valid, labels[np.maximum(found.rows, 0)], -1)
            keep = label >= 0
            best = np.zeros((n, width))
            second = np.zeros((n, width))
            row_index = np.repeat(np.arange(n), k).reshape(n, k)
            # Neighbours in order of strength: the first per label is the
            # best, the next the runner-up.
            order = np.argsort(-strength, axis=1)
            for j in range(k):
                pick = order[:, j]
                r = row_index[:, 0]
                lab = label[r, pick]
                val = strength[r, pick]
                ok = keep[r, pick]
                r, lab, val = r[ok], lab[ok], val[ok]
                first = best[r, lab] == 0
                best[r[first], lab[first]] = val[first]
                later = ~first & (second[r, lab] == 0)
                second[r[later], lab[later]] = val[later]
            out.append(best + 0.5 * second)
        return out[0], out[1]
