"""Scoring a batch: features, rules, the learned model when there is one,
and lanes with reasons: what the pipeline and ``clearway rules backtest``
call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from clearway.classification.misclassification import ItemClassification
from clearway.declarations.batch import PreparedHouse
from clearway.parties.checks import PartyChecks
from clearway.risk.features import FEATURES, ValueReference, risk_features
from clearway.risk.lanes import Decisions, LanePolicy, Scored, assign_lanes, decide, score_rows
from clearway.risk.loading import declaration_model_for, rules_for
from clearway.risk.model import FeatureSpec, RiskModel
from clearway.risk.rules import FIELDS, RuleSet

__all__ = ["DECLARATION_SPEC", "BatchRisk", "assess_batch", "risk_frame", "score_batch"]

# The learned model's view of a declaration: every feature, the route, and
# the track record of its seller and filer (outcome rates learned from
# inspections, out of fold).
DECLARATION_SPEC = FeatureSpec(
    categorical=("destination_country", "departure_country", "mode", "filer_role"),
    numeric=tuple(FEATURES),
    encoded=(("seller",), ("filer",), ("seller_country",)),
    descriptions={**FEATURES, "seller": "seller", "filer": "filer"},
)


def risk_frame(
    houses: Sequence[PreparedHouse],
    *,
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    parties: PartyChecks | None = None,
    reference: ValueReference | Literal["batch"] | None = None,
) -> dict[str, npt.NDArray[Any]]:
    """Features and the text fields rules may test, one array each."""
    frame: dict[str, npt.NDArray[Any]] = dict(
        risk_features(houses, classified=classified, parties=parties, reference=reference)
    )
    for name in sorted(FIELDS):
        frame[name] = np.array([str(h.columns.get(name) or "") for h in houses])
    # Who filed and who receives: the learned model keeps their track record.
    frame["seller"] = np.array(
        [f"{h.columns['seller_name']}|{h.columns['seller_country']}".lower() for h in houses]
    )
    frame["filer"] = np.array([h.filer_id for h in houses])
    return frame


def score_batch(
    houses: Sequence[PreparedHouse],
    rules: RuleSet,
    policy: LanePolicy,
    day: date,
    *,
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    parties: PartyChecks | None = None,
    reference: ValueReference | None = None,
    model: RiskModel | None = None,
    explain: bool = True,
) -> tuple[dict[str, npt.NDArray[Any]], Decisions]:
    """The frame and the decisions for a batch of declarations."""
    frame = risk_frame(houses, classified=classified, parties=parties, reference=reference)
    scores = reasons = None
    if model is not None:
        if explain:
            scores, reasons = model.predict_and_explain(frame)
        else:
            scores = model.predict_proba(frame)
    return frame, decide(frame, rules, day, policy, model_scores=scores, model_reasons=reasons)


@dataclass(frozen=True, slots=True)
class BatchRisk:
    """A batch's decisions (red lane bounded per office by the policy's
    share of the batch), with what is needed to bound them again by an
    office's daily capacity when the batch is written, and the rules
    version and model behind them."""

    scored: Scored
    offices: npt.NDArray[np.str_]
    random_weights: npt.NDArray[np.float64]
    policy: LanePolicy
    daily_capacity: int | None
    decisions: Decisions
    rules_version: int
    model: str

    def within(self, used_today: dict[str, int]) -> Decisions:
        """The decisions with each office's red lane bounded by what is left
        of its daily capacity after ``used_today``."""
        if self.daily_capacity is None:
            return self.decisions
        left = {
            str(office): self.daily_capacity - used_today.get(str(office), 0)
            for office in np.unique(self.offices)
        }
        return assign_lanes(
            self.scored,
            self.policy,
            groups=self.offices,
            capacities=left,
            random_weights=self.random_weights,
        )


def assess_batch(
    houses: Sequence[PreparedHouse],
    day: date,
    policy: LanePolicy,
    *,
    rules_file: str | None = None,
    model_file: str | None = None,
    daily_capacity: int | None = None,
    operator_benefits: Sequence[tuple[str, float, float]] = (),
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    parties: PartyChecks | None = None,
) -> BatchRisk:
    """The intake pipeline's risk stage. Values are compared with the batch
    itself (median and spread per HS6 and currency: robust to the few
    undervalued filings among many)."""
    rules = rules_for(rules_file)
    model = declaration_model_for(model_file)
    frame = risk_frame(houses, classified=classified, parties=parties, reference="batch")
    scores = reasons = None
    if model is not None:
        scores, reasons = model.predict_and_explain(frame)
    benefits = {filer: (discount, factor) for filer, discount, factor in operator_benefits}
    found = [benefits.get(h.filer_id, (0.0, 1.0)) for h in houses]
    discount = np.array([d for d, _ in found], dtype=np.float64)
    random_factor = np.array([r for _, r in found], dtype=np.float64)
    scored = score_rows(
        frame, rules, day, model_scores=scores, model_reasons=reasons, discount=discount
    )
    offices = np.array([str(h.columns.get("arrival_office") or "") for h in houses])
    decisions = assign_lanes(scored, policy, groups=offices, random_weights=random_factor)
    return BatchRisk(
        scored,
        offices,
        random_factor,
        policy,
        daily_capacity,
        decisions,
        rules.version,
        model.trained_at_ if model else "",
    )
