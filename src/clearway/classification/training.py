"""Training on an office's labelled history, with proof that it helped."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from clearway.classification.evaluation import LabelledSet, evaluate
from clearway.classification.loading import builtin_classifier
from clearway.classification.model import HSClassifier

__all__ = ["TrainingReport", "train_classifier"]

# Below this many rows a held-out comparison says nothing.
_MIN_COMPARISON = 50


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """The trained model, and on a held-out share of the history, the
    built-in model's scores against a model trained on the rest."""

    model: HSClassifier
    rows: int
    held_out: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def train_classifier(
    history: LabelledSet, *, holdout_share: float = 0.1, random_state: int = 0
) -> TrainingReport:
    """Fit on all of ``history``; first, when it is big enough, fit on all
    but ``holdout_share`` of it and compare with the built-in model on the
    rows held out."""
    codes = [code[:6] for code in history.codes]
    before = after = None
    held_count = 0
    if len(codes) >= _MIN_COMPARISON:
        order = list(range(len(codes)))
        random.Random(random_state).shuffle(order)
        held_count = max(1, int(len(order) * holdout_share))
        held, kept = order[:held_count], order[held_count:]
        held_text = [history.descriptions[i] for i in held]
        held_codes = [codes[i] for i in held]
        before = evaluate(builtin_classifier(), held_text, held_codes)
        trial = HSClassifier(random_state=random_state).fit(
            [history.descriptions[i] for i in kept], [codes[i] for i in kept]
        )
        after = evaluate(trial, held_text, held_codes)
    model = HSClassifier(random_state=random_state).fit(history.descriptions, codes)
    return TrainingReport(model, len(codes), held_count, before, after)
