"""Trends and reports: what is changing in e-commerce, for analysts."""

from clearway.analytics.trends import Trends, anomalies, hit_rates, pivot_days

__all__ = ["Trends", "anomalies", "hit_rates", "pivot_days"]
