"""Risk targeting: features, declarative rules, the learned model, lanes
and the reasons behind each decision."""

from clearway.risk.metrics import ranking_report
from clearway.risk.model import FeatureSpec, RiskModel

__all__ = ["FeatureSpec", "RiskModel", "ranking_report"]
