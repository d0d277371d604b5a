"""Measuring a classifier on labelled descriptions: top-1 and top-5
accuracy at chapter, heading and subheading level, and throughput."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clearway.classification.model import HSClassifier
from clearway.errors import ErrorDetail, InputError

__all__ = ["LabelledSet", "evaluate", "precision_at_coverage", "read_labelled_csv"]


@dataclass(frozen=True, slots=True)
class LabelledSet:
    """Descriptions with their codes (digits only), and the rows refused."""

    descriptions: list[str]
    codes: list[str]
    problems: list[ErrorDetail]


def read_labelled_csv(path: Path) -> LabelledSet:
    """Read ``description,hs`` rows. A row with an empty description or an
    hs that is not 2 to 10 digits is refused with its line number; the rest
    are kept."""
    descriptions: list[str] = []
    codes: list[str] = []
    problems: list[ErrorDetail] = []
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        missing = {"description", "hs"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(
                f"{path}: the header must name the columns description and hs. "
                f"Missing: {', '.join(sorted(missing))}"
            )
        for row in reader:
            line = reader.line_num
            description = (row.get("description") or "").strip()
            code = "".join(ch for ch in (row.get("hs") or "") if not ch.isspace()).replace(".", "")
            if not description:
                problems.append(
                    ErrorDetail(f"line {line}: description", "required", "must not be empty")
                )
                continue
            if not (code.isdigit() and 2 <= len(code) <= 10 and len(code) % 2 == 0):
                problems.append(
                    ErrorDetail(
                        f"line {line}: hs",
                        "hs_format",
                        f"must be an HS code of 2, 4, 6, 8 or 10 digits. Got {row.get('hs')!r}",
                    )
                )
                continue
            descriptions.append(description)
            codes.append(code)
    return LabelledSet(descriptions, codes, problems)


def _hits(ranked: np.ndarray, truth: np.ndarray, k: int) -> float:
    return float((ranked[:, :k] == truth[:, None]).any(axis=1).mean())


def precision_at_coverage(
    confidence: np.ndarray, correct: np.ndarray, shares: Sequence[float] = (0.25, 0.5, 0.75, 1.0)
) -> list[dict[str, float]]:
    """For each share of the descriptions, taken most confident first: the
    share of them whose top heading is right, and the confidence of the
    last one taken (answering "unsure" below it keeps that precision)."""
    order = np.argsort(-confidence, kind="stable")
    points = []
    for share in shares:
        count = max(1, round(share * len(order)))
        taken = order[:count]
        points.append(
            {
                "coverage": round(count / len(order), 4),
                "threshold": round(float(confidence[taken[-1]]), 4),
                "precision": round(float(correct[taken].mean()), 4),
            }
        )
    return points


def evaluate(
    classifier: HSClassifier, descriptions: Sequence[str], codes: Sequence[str]
) -> dict[str, Any]:
    """Top-1 and top-5 accuracy per level, as ``clearway classifier
    evaluate`` prints it, and heading precision at coverage (most confident
    first). Chapter and heading rank their own aggregated probabilities;
    subheading is reported only when every label has six or more digits."""
    if not descriptions:
        raise InputError("no labelled descriptions to evaluate")
    chapters: list[np.ndarray] = []
    headings: list[np.ndarray] = []
    subheadings: list[np.ndarray] = []
    confidence: list[np.ndarray] = []
    started = time.perf_counter()
    for dist in classifier.distributions(descriptions):
        top = classifier.top(dist, 5)
        subheadings.append(top.codes)
        headings.append(classifier.headings_[np.argsort(-dist.heading, axis=1)[:, :5]])
        confidence.append(dist.heading.max(axis=1))
        chapter_p = classifier.chapter_probabilities(dist.heading)
        chapters.append(classifier.chapters_[np.argsort(-chapter_p, axis=1)[:, :5]])
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"n": len(descriptions)}
    truth = np.array(codes)
    for level, ranked, width in (
        ("chapter", chapters, 2),
        ("heading", headings, 4),
        ("subheading", subheadings, 6),
    ):
        if level == "subheading" and min(len(c) for c in codes) < 6:
            continue
        stacked = np.vstack(ranked)
        labels = np.array([c[:width] for c in truth])
        result[level] = {
            "top1": round(_hits(stacked, labels, 1), 4),
            "top5": round(_hits(stacked, labels, 5), 4),
        }
    top_heading = np.vstack(headings)[:, 0]
    correct = top_heading == np.array([c[:4] for c in truth])
    result["coverage"] = precision_at_coverage(np.concatenate(confidence), correct)
    result["per_second"] = round(len(descriptions) / elapsed, 1) if elapsed > 0 else None
    return result
