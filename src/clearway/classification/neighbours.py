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

__all__ = ["SOURCES", "Neighbours", "SemanticIndex", "group_max"]

# Where an example came from, as stored in ``example_sources_``.
SOURCES = ("nomenclature", "phrase", "history", "precedent")

Floats = npt.NDArray[np.float64]


def group_best(
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.int32],
    values: Floats,
    group_of_col: npt.NDArray[np.intp],
    second: float = 0.0,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Floats]:
    """Per (row, group) present: the best value among the columns of the
    group plus ``second`` times the runner-up, as (rows, groups, values).

    Examples are sorted by code, so within a row the groups of sorted
    columns never decrease: each (row, group) is one contiguous run of the
    data, and ``reduceat`` takes every run's maximum at once."""
    group = group_of_col[cols]
    keep = group >= 0
    row_kept, group_kept, kept = rows[keep], group[keep], values[keep]
    if not kept.size:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0)
    change = (row_kept[1:] != row_kept[:-1]) | (group_kept[1:] != group_kept[:-1])
    starts = np.flatnonzero(np.r_[True, change])
    best = np.maximum.reduceat(kept, starts)
    if second:
        run = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, kept.size]))
        is_best = kept == best[run]
        runner_up = np.maximum.reduceat(np.where(is_best, 0.0, kept), starts)
        tied = np.add.reduceat(is_best.astype(np.intp), starts) > 1
        best = best + second * np.where(tied, best, runner_up)
    return row_kept[starts], group_kept[starts], best


def group_max(
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.int32],
    values: Floats,
    group_of_col: npt.NDArray[np.intp],
    n_rows: int,
    n_groups: int,
    second: float = 0.0,
) -> Floats:
    """:func:`group_best` as a dense (n_rows, n_groups) array (0: none)."""
    out = np.zeros((n_rows, n_groups))
    r, g, best = group_best(rows, cols, values, group_of_col, second)
    out[r, g] = best
    return out


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

    def embed(
        self, texts: Sequence[str], tokenised: Sequence[list[str]] | None = None
    ) -> npt.NDArray[np.float32]:
        """Unit vectors of ``texts`` (``tokenised``: their words, if known)."""
        if tokenised is None:
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
        self, vectors: npt.NDArray[np.float32], n_headings: int, floor: float, second: float
    ) -> tuple[Floats, tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Floats]]:
        """Heading evidence (n, H), and subheading evidence as (rows,
        subheadings, values) triples: per group the best similarity above
        ``floor`` (rescaled to [0, 1]) plus ``second`` times the runner-up.
        Only pairs above the floor are kept, a small share of all, so the
        cost is one dense product."""
        n = vectors.shape[0]
        similarity = vectors @ self.vectors.T
        rows, cols = np.nonzero(similarity > floor)
        values = (similarity[rows, cols].astype(np.float64) - floor) / (1.0 - floor)
        cols32 = cols.astype(np.int32)
        heading = group_max(rows, cols32, values, self.heading, n, n_headings, second)
        return heading, group_best(rows, cols32, values, self.subheading, second)
