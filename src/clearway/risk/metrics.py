"""How well scores rank the declarations worth inspecting."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["auc", "precision_at", "ranking_report", "recall_at"]

Scores = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int_]


def _top(scores: Scores, share: float) -> npt.NDArray[np.intp]:
    n = max(1, round(len(scores) * share))
    # A stable sort on the negated scores keeps ties in input order, so the
    # figure does not depend on the sort algorithm.
    return np.argsort(-scores, kind="stable")[:n]


def precision_at(scores: Scores, labels: Labels, share: float) -> float:
    """Share of positives among the ``share`` highest-scored."""
    return float(labels[_top(scores, share)].mean())


def recall_at(scores: Scores, labels: Labels, share: float) -> float:
    """Share of all positives found among the ``share`` highest-scored."""
    total = labels.sum()
    return float(labels[_top(scores, share)].sum() / total) if total else 0.0


def auc(scores: Scores, labels: Labels) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties given half credit)."""
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # Average the ranks of tied scores.
    unique, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    if len(unique) < len(scores):
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ranking_report(scores: Scores, labels: Labels) -> dict[str, float]:
    """The figures ``clearway risk evaluate`` prints."""
    return {
        "precision_at_5": round(precision_at(scores, labels, 0.05), 4),
        "precision_at_10": round(precision_at(scores, labels, 0.10), 4),
        "recall_at_5": round(recall_at(scores, labels, 0.05), 4),
        "recall_at_10": round(recall_at(scores, labels, 0.10), 4),
        "auc": round(auc(scores, labels), 4),
    }
