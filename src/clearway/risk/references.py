"""Value references learned from history: what an item's price usually is.

An item is compared with the most specific group it has enough history in:
the same product (GTIN, else seller and SKU) in the same currency, then the
same HS6 subheading from the same origin in the same currency, then the same
HS6 in the same currency. A product's own price is nearly constant, so an
undervalued listing stands out by orders of magnitude there; the HS6 groups
catch products never seen before. Robust statistics (median and 1.4826 x
MAD) keep the few undervalued filings in history from moving the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt

__all__ = ["LEVELS", "LayeredReference", "item_keys", "item_measures"]

Floats = npt.NDArray[np.float64]

LEVELS = ("product", "hs6_origin", "hs6")


def item_keys(item: dict[str, Any], seller: str) -> tuple[str, str, str]:
    """The item's key at each level of :data:`LEVELS` ("" where unknown)."""
    currency = item.get("currency") or ""
    hs6 = (item.get("hs_code") or "")[:6]
    gtin, sku = item.get("gtin"), item.get("sku")
    product = f"g:{gtin}|{currency}" if gtin else (f"s:{seller}|{sku}|{currency}" if sku else "")
    origin = item.get("origin_country") or ""
    return (
        product,
        f"{hs6}|{origin}|{currency}" if hs6 else "",
        f"{hs6}|{currency}" if hs6 else "",
    )


def item_measures(item: dict[str, Any]) -> tuple[float, float]:
    """Log value per kg and log unit value (NaN where unknown)."""
    kg = item.get("net_weight_kg")
    quantity = item.get("quantity") or 1
    unit = float(item.get("unit_value") or 0.0)
    per_kg = unit * quantity / kg if kg else 0.0
    return (
        float(np.log(per_kg)) if per_kg > 0 else float("nan"),
        float(np.log(unit)) if unit > 0 else float("nan"),
    )


@dataclass
class LayeredReference:
    """Median and spread of each measure per group at each level; a group
    seen fewer than ``min_count`` times gives no reference."""

    min_count: int = 5
    min_spread: float = 0.05
    groups_: list[dict[str, tuple[Floats, Floats]]] = field(default_factory=list)

    def fit(self, keys: Sequence[tuple[str, str, str]], measures: Floats) -> Self:
        self.groups_ = []
        for level in range(len(LEVELS)):
            column = np.array([k[level] for k in keys], dtype=object)
            groups: dict[str, tuple[Floats, Floats]] = {}
            if len(column):
                order = np.argsort(column.astype(str), kind="stable")
                sorted_keys = column[order].astype(str)
                values = measures[order]
                unique, starts, counts = np.unique(
                    sorted_keys, return_index=True, return_counts=True
                )
                for key, start, count in zip(unique.tolist(), starts, counts, strict=True):
                    if not key:
                        continue
                    group = values[start : start + count]
                    if np.isfinite(group).all(axis=1).sum() < self.min_count:
                        continue
                    median = np.nanmedian(group, axis=0)
                    spread = np.maximum(
                        1.4826 * np.nanmedian(np.abs(group - median), axis=0), self.min_spread
                    )
                    groups[key] = (median, spread)
            self.groups_.append(groups)
        return self

    def zscores(self, keys: Sequence[tuple[str, str, str]], measures: Floats) -> Floats:
        """Per item and measure: robust z-score against the most specific
        group with a reference (NaN where none has)."""
        z = np.full(measures.shape, np.nan)
        for row, key in enumerate(keys):
            for level, groups in enumerate(self.groups_):
                found = groups.get(key[level]) if key[level] else None
                if found is not None:
                    median, spread = found
                    z[row] = (measures[row] - median) / spread
                    break
        return z
