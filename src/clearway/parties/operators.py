"""Trusted e-commerce operators: tiers with published criteria
(``data/operator_tiers.yaml``), decided from compliance measures taken from
the platform's own data, with the benefits a tier brings to risk scoring.

Pure: measures in, tiers out. Reading the measures and keeping the register
and its history is :mod:`clearway.store.operators`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Measures", "TierDecision", "Tiers", "decide_tier", "load_tiers"]


class _Criteria(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_filings: int = 0
    min_data_quality: float = 0.0
    min_advance_hours: float = 0.0
    max_fault_rate: float = 1.0
    max_response_hours: float = float("inf")


class _Benefits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score_discount: float = Field(default=0.0, ge=0.0, le=0.9)
    random_check_factor: float = Field(default=1.0, ge=0.0, le=1.0)


class _Tier(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    criteria: _Criteria
    benefits: _Benefits


class Tiers(BaseModel):
    """The programme: trailing window and tiers, best first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(ge=1)
    tiers: list[_Tier] = Field(min_length=1)

    def benefits(self, tier: str) -> _Benefits:
        for entry in self.tiers:
            if entry.name == tier:
                return entry.benefits
        return _Benefits()


@cache
def load_tiers() -> Tiers:
    text = resources.files("clearway.parties").joinpath("data/operator_tiers.yaml").read_text()
    return Tiers.model_validate(yaml.safe_load(text))


@dataclass(frozen=True, slots=True)
class Measures:
    """An operator's compliance over the window (None: no data for it)."""

    filings: int
    data_quality: float | None
    advance_hours: float | None
    fault_rate: float | None
    response_hours: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "filings": self.filings,
            "data_quality": self.data_quality,
            "advance_hours": self.advance_hours,
            "fault_rate": self.fault_rate,
            "response_hours": self.response_hours,
        }


def _failures(criteria: _Criteria, m: Measures) -> list[str]:
    """The criteria ``m`` fails, in words. Missing data fails a minimum
    (trust is earned) but not a maximum (no referral is not a slow answer)."""
    failed = []
    if m.filings < criteria.min_filings:
        failed.append(f"filings {m.filings} < {criteria.min_filings}")
    if criteria.min_data_quality and (m.data_quality or 0.0) < criteria.min_data_quality:
        failed.append(f"data quality {m.data_quality} < {criteria.min_data_quality}")
    if criteria.min_advance_hours and (m.advance_hours or 0.0) < criteria.min_advance_hours:
        failed.append(f"advance hours {m.advance_hours} < {criteria.min_advance_hours}")
    if m.fault_rate is not None and m.fault_rate > criteria.max_fault_rate:
        failed.append(f"fault rate {m.fault_rate:.3f} > {criteria.max_fault_rate}")
    if m.response_hours is not None and m.response_hours > criteria.max_response_hours:
        failed.append(
            f"referral response {m.response_hours:.1f} h > {criteria.max_response_hours} h"
        )
    return failed


@dataclass(frozen=True, slots=True)
class TierDecision:
    """The tier an operator should hold, and why."""

    tier: str
    reason: str


def decide_tier(tiers: Tiers, current: str, measures: Measures) -> TierDecision:
    """The best tier whose criteria ``measures`` meet. An operator losing the
    top tier is suspended, naming the measure that failed."""
    for entry in tiers.tiers:
        failed = _failures(entry.criteria, measures)
        if not failed:
            return TierDecision(entry.name, f"meets the {entry.name} criteria")
        # Losing the top tier suspends; a suspension lasts until the top
        # tier's criteria are met again.
        if entry is tiers.tiers[0] and current in {entry.name, "suspended"}:
            return TierDecision("suspended", "; ".join(failed))
    last = tiers.tiers[-1]
    return TierDecision(last.name, "; ".join(_failures(last.criteria, measures)))
