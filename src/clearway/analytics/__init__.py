"""Trends and reports: what is changing in e-commerce, for analysts."""

from clearway.analytics.rollup import add_outcomes, day_cells
from clearway.analytics.trends import Trends, anomalies, pivot_days

__all__ = ["Trends", "add_outcomes", "anomalies", "day_cells", "pivot_days"]
