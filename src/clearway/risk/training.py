"""Training on outcomes, and replacing the model in use only when the new
one is better on the most recent period."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.errors import InputError
from clearway.risk.metrics import ranking_report
from clearway.risk.model import FeatureSpec, RiskModel

__all__ = ["LabelledFrame", "TrainingOutcome", "recent_period", "train_risk_model"]


@dataclass(frozen=True, slots=True)
class LabelledFrame:
    """Rows to learn from: the frame, 0/1 outcomes (1 = at fault) and the
    ISO date of each row (for time-ordered validation)."""

    frame: dict[str, npt.NDArray[Any]]
    labels: npt.NDArray[np.int_]
    dates: npt.NDArray[np.str_]


def recent_period(
    dates: npt.NDArray[np.str_], share: float = 0.2
) -> tuple[npt.NDArray[np.bool_], str]:
    """Rows of the latest ``share`` of the data by date (whole days), and the
    first day of that period. Validation is time-ordered: a model is judged
    on a period after everything it learned from."""
    ordered = np.sort(dates)
    cut = str(ordered[min(len(ordered) - 1, int(len(ordered) * (1 - share)))])
    recent = dates >= cut
    if recent.all() or not recent.any():
        raise InputError("the data span too few days to hold out a recent period")
    return recent, cut


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """What training did: the model to keep, and the comparison behind it."""

    model: RiskModel
    replaced: bool
    recent_from: str
    candidate: dict[str, float]
    current: dict[str, float] | None
    metadata: dict[str, Any]


def _subset(data: LabelledFrame, rows: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[Any]]:
    return {name: values[rows] for name, values in data.frame.items()}


# Fewest rows after the current model's data for a comparison on them alone.
_MIN_NEW_ROWS = 200


def train_risk_model(
    data: LabelledFrame,
    current: RiskModel | None,
    spec: FeatureSpec,
    *,
    random_state: int = 0,
) -> TrainingOutcome:
    """Fit a candidate on all but the most recent period and score it there
    against ``current``; when it is better (precision at 10%, then AUC), fit
    it again on everything and return it, else keep ``current``.

    The recent period is what came after the current model's data (so
    neither model has seen it) when there are enough such rows; otherwise
    the latest 20% of the data."""
    stored = getattr(current, "stored_metadata_", {}) if current is not None else {}
    current_to = stored.get("data_to")
    newer = data.dates > current_to if current_to else np.zeros(len(data.dates), dtype=bool)
    if newer.sum() >= _MIN_NEW_ROWS and not newer.all():
        recent, cut = newer, min(data.dates[newer].tolist())
    else:
        recent, cut = recent_period(data.dates)
    candidate = RiskModel(spec, random_state=random_state).fit(
        _subset(data, ~recent), data.labels[~recent]
    )
    recent_frame, recent_labels = _subset(data, recent), data.labels[recent]
    candidate_scores = ranking_report(candidate.predict_proba(recent_frame), recent_labels)
    current_scores = (
        ranking_report(current.predict_proba(recent_frame), recent_labels) if current else None
    )
    better = current_scores is None or (
        candidate_scores["precision_at_10"],
        candidate_scores["auc"],
    ) > (current_scores["precision_at_10"], current_scores["auc"])
    metadata = {
        "data_from": min(data.dates.tolist()),
        "data_to": max(data.dates.tolist()),
        "rows": len(data.labels),
        "recent_from": cut,
        "recent_metrics": candidate_scores,
    }
    if not better and current is not None:
        return TrainingOutcome(current, False, cut, candidate_scores, current_scores, metadata)
    model = RiskModel(spec, random_state=random_state).fit(data.frame, data.labels)
    return TrainingOutcome(model, True, cut, candidate_scores, current_scores, metadata)
