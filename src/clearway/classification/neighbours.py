"""Nearest labelled examples: how scores group by code, and what a
suggestion rests on, in words an officer can check.

Evidence uses the representation that scores a text (TF-IDF cosine of
words and word pairs), so what is shown is what counted: the labelled
examples sharing most words (product phrases, the office's history,
confirmed classifications) and, per code, how many confirmed
classifications (precedents) are close. A listing that reads like twelve
confirmed filings under one code is the evidence customs precedent search
gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = ["PRECEDENT", "SOURCES", "evidence_lines", "group_max", "nearest_evidence"]

# Where an example came from, as stored in ``example_sources_``.
SOURCES = ("nomenclature", "phrase", "history", "precedent")
PRECEDENT = SOURCES.index("precedent")

Floats = npt.NDArray[np.float64]


def group_max(
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.int32],
    values: Floats,
    group_of_col: npt.NDArray[np.intp],
    n_rows: int,
    n_groups: int,
    second: float = 0.0,
) -> Floats:
    """Per row, the best value among the columns of each group plus
    ``second`` times the runner-up, as a dense (n_rows, n_groups) array.

    Examples are sorted by code, so within a row the groups of sorted
    columns never decrease: each (row, group) is one contiguous run of the
    data, and ``reduceat`` takes every run's maximum at once."""
    out = np.zeros(n_rows * n_groups)
    group = group_of_col[cols]
    keep = group >= 0
    key = rows[keep] * n_groups + group[keep]
    kept = values[keep]
    if key.size:
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        best = np.maximum.reduceat(kept, starts)
        if second:
            run = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, key.size]))
            is_best = kept == best[run]
            runner_up = np.maximum.reduceat(np.where(is_best, 0.0, kept), starts)
            tied = np.add.reduceat(is_best.astype(np.intp), starts) > 1
            best = best + second * np.where(tied, best, runner_up)
        out[key[starts]] = best
    return out.reshape(n_rows, n_groups)


def _example(texts: Any, codes: Any, sources: Any, index: int, similarity: float) -> dict[str, Any]:
    return {
        "text": str(texts[index]),
        "hs": str(codes[index]),
        "source": SOURCES[int(sources[index])],
        "similarity": round(similarity, 3),
    }


def nearest_evidence(
    similarity: sparse.csr_matrix,
    texts: npt.NDArray[np.str_],
    codes: npt.NDArray[np.str_],
    sources: npt.NDArray[np.int8],
    k: int,
    floor: float,
) -> list[dict[str, Any]]:
    """Per row of ``similarity`` (texts x examples): ``examples``, the ``k``
    most similar labelled examples (the same phrase and code once), and
    ``precedents``, per code the confirmed classifications at least
    ``floor`` similar (count and the closest one's text), most first."""
    out: list[dict[str, Any]] = []
    for i in range(similarity.shape[0]):
        start, end = similarity.indptr[i], similarity.indptr[i + 1]
        cols, sims = similarity.indices[start:end], similarity.data[start:end]
        # Most similar first; ties by example order, so the answer is stable.
        order = np.lexsort((cols, -sims))
        examples: list[dict[str, Any]] = []
        shown: set[tuple[str, str]] = set()
        precedents: dict[str, dict[str, Any]] = {}
        for j in order:
            close = bool(sims[j] >= floor)
            if not close and len(examples) >= k:
                break
            col = int(cols[j])
            is_precedent = int(sources[col]) == PRECEDENT
            if is_precedent and close:
                found = precedents.setdefault(
                    str(codes[col]), {"hs": str(codes[col]), "count": 0, "text": str(texts[col])}
                )
                found["count"] += 1
            key = (str(texts[col]).strip(), str(codes[col]))
            # An example without its text (a format-1 model file) is not shown.
            if len(examples) < k and key[0] and key not in shown:
                shown.add(key)
                examples.append(_example(texts, codes, sources, col, float(sims[j])))
        # Stable sort: among equal counts, the code met first (the closest).
        ranked = sorted(precedents.values(), key=lambda p: -int(p["count"]))
        out.append({"examples": examples, "precedents": ranked})
    return out


def _code(code: str) -> str:
    """8518.30 for 851830 (how officers write a subheading)."""
    return f"{code[:4]}.{code[4:]}" if len(code) > 4 else code


def evidence_lines(found: dict[str, Any], limit: int | None = None) -> list[str]:
    """One text's evidence (:func:`nearest_evidence`) as sentences, at most
    ``limit`` examples: the precedents first."""
    lines = [
        f"like {p['count']} confirmed filing{'s' if p['count'] > 1 else ''} of "
        f"\u201c{p['text'].strip()}\u201d under {_code(p['hs'])}"
        for p in found["precedents"]
    ]
    lines += [
        f"shares words with \u201c{e['text'].strip()}\u201d ({e['source']}, "
        f"{_code(e['hs'])}, {e['similarity']:.2f})"
        for e in found["examples"][:limit]
    ]
    return lines
