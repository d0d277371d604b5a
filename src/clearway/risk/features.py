"""Risk features of a batch of declarations, vectorised: one array per
feature, one value per declaration.

Pure: a batch of shaped declarations (with the checks the pipeline ran on
them) in, a frame out. Aggregations over time (parcels to one consignee in
24 h / 72 h) are over the declarations given, in order of filing time, so a
caller that wants history passes it along with the batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import yaml

from clearway.classification.misclassification import ItemClassification
from clearway.declarations.batch import PreparedHouse
from clearway.parties.checks import PartyChecks

__all__ = ["FEATURES", "ValueReference", "risk_features"]

Floats = npt.NDArray[np.float64]

# Every feature, with what it means to an officer (rules and reasons use these).
FEATURES: dict[str, str] = {
    "dq_score": "data-quality score of the filing (1 = complete)",
    "dq_gaps": "number of data-quality gaps",
    "items": "item lines",
    "total_value": "declared total value",
    "misclassification": "largest misclassification score of an item (declared HS vs description)",
    "screening_score": "best restricted-party screening match (0 = none)",
    "value_z": "lowest robust z-score of an item's value per kg (same HS6 and currency)",
    "unit_value_z": "lowest robust z-score of an item's unit value (same HS6 and currency)",
    "consignee_parcels_24h": "parcels to the same consignee filed within 24 h of this one",
    "consignee_parcels_72h": "parcels to the same consignee filed within 72 h of this one",
    "consignee_value_72h": "their total declared value",
    "luxury_brand_below_floor": "1 if an item names a luxury brand at an implausibly low price",
    "prohibited_terms": "number of watched prohibited-goods terms in the descriptions",
    "missing_identifier_share": "share of items without GTIN",
    "unidentified_item_share": "share of items with neither GTIN nor seller SKU",
    "consignee_seller_parcels_24h": "parcels from one seller to one consignee within 24 h",
    "consignee_seller_value_24h": "their total declared value",
    "transshipment": "1 if goods originate elsewhere than the departure country",
    "description_changes": "amendments that changed the goods descriptions after a lane was "
    "decided",
}

_DAY = 86_400.0


@cache
def _signals() -> tuple[dict[str, float], re.Pattern[str], re.Pattern[str]]:
    text = resources.files("clearway.risk").joinpath("data/signals.yaml").read_text()
    data = yaml.safe_load(text)
    brands = {str(k).lower(): float(v) for k, v in data["luxury_brands"].items()}
    return brands, _alternation(brands), _alternation(data["prohibited_terms"])


def _alternation(words: Any) -> re.Pattern[str]:
    """One pattern for a list of phrases, longest first, on word boundaries."""
    escaped = sorted((re.escape(str(w).lower()) for w in words), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(escaped) + r")\b")


@dataclass
class ValueReference:
    """Median and spread of each value measure (columns: log value per kg,
    log unit value) per HS6 and currency, learned from filings, for robust
    z-scores. A group seen fewer than ``min_count`` times gives no score
    (NaN)."""

    min_count: int = 5
    medians_: dict[tuple[str, str], tuple[Floats, Floats]] = field(default_factory=dict)

    def fit(self, hs6: Sequence[str], currency: Sequence[str], measures: Floats) -> Self:
        keys = np.array([f"{h}|{c}" for h, c in zip(hs6, currency, strict=True)])
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], measures[order]
        unique, starts, counts = np.unique(keys, return_index=True, return_counts=True)
        self.medians_ = {}
        for key, start, count in zip(unique.tolist(), starts, counts, strict=True):
            group = values[start : start + count]
            if np.isfinite(group).all(axis=1).sum() < self.min_count:
                continue
            median = np.nanmedian(group, axis=0)
            # 1.4826 x MAD estimates the standard deviation of normal data.
            spread = np.maximum(1.4826 * np.nanmedian(np.abs(group - median), axis=0), 0.05)
            hs, cur = key.split("|")
            self.medians_[(hs, cur)] = (median, spread)
        return self

    def fit_houses(self, houses: Sequence[PreparedHouse]) -> Self:
        """Fit on the items of these declarations."""
        hs6, currency, measures, _ = item_value_frame(houses)
        return self.fit(hs6, currency, measures)

    def zscores(self, hs6: Sequence[str], currency: Sequence[str], measures: Floats) -> Floats:
        width = measures.shape[1]
        missing = (np.full(width, np.nan), np.full(width, np.nan))
        found = [self.medians_.get((h, c), missing) for h, c in zip(hs6, currency, strict=True)]
        medians = np.array([m for m, _ in found]).reshape(-1, width)
        spreads = np.array([s for _, s in found]).reshape(-1, width)
        z: Floats = (measures - medians) / spreads
        return z


def item_value_frame(
    houses: Sequence[PreparedHouse],
) -> tuple[list[str], list[str], Floats, npt.NDArray[np.intp]]:
    """Per item: HS6, currency, the value measures (log value per kg, log
    unit value; NaN where unknown) and the index of its house."""
    hs6: list[str] = []
    currency: list[str] = []
    values: list[tuple[float, float]] = []
    owner: list[int] = []
    for index, house in enumerate(houses):
        for item in house.items:
            kg = item.get("net_weight_kg")
            quantity = item.get("quantity") or 1
            unit = item["unit_value"]
            per_kg = unit * quantity / kg if kg else 0.0
            hs6.append((item.get("hs_code") or "")[:6])
            currency.append(item["currency"])
            values.append(
                (
                    float(np.log(per_kg)) if per_kg > 0 else np.nan,
                    float(np.log(unit)) if unit > 0 else np.nan,
                )
            )
            owner.append(index)
    return (
        hs6,
        currency,
        np.array(values, dtype=np.float64).reshape(-1, 2),
        np.array(owner, dtype=np.intp),
    )


def _windows(
    keys: list[str], times: Floats, values: Floats, seconds: float
) -> tuple[Floats, Floats]:
    """For each row: rows with the same key filed within ``seconds`` either
    side of it (itself included), and their total value. Both sides: filings
    arrive before the goods, so the later parts of a split order are known
    when the first part is targeted."""
    n = len(keys)
    _, code = np.unique(np.array(keys), return_inverse=True)
    order = np.lexsort((times, code))
    # Sorted by (key, time), a window is a contiguous range around the row.
    position = code[order].astype(np.float64) * 1e12 + times[order]
    first = np.searchsorted(position, position - seconds, side="left")
    last = np.searchsorted(position, position + seconds, side="right")
    cumulative = np.r_[0.0, np.cumsum(values[order])]
    counts, totals = np.empty(n), np.empty(n)
    counts[order] = last - first
    totals[order] = cumulative[last] - cumulative[first]
    return counts, totals


def risk_features(
    houses: Sequence[PreparedHouse],
    *,
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    parties: PartyChecks | None = None,
    reference: ValueReference | Literal["batch"] | None = None,
) -> dict[str, Floats]:
    """The features of :data:`FEATURES` for each declaration of ``houses``.
    Values are compared with ``reference``; ``"batch"`` fits it on these
    declarations themselves (what intake does)."""
    n = len(houses)
    columns = [h.columns for h in houses]
    brands, brand_names, prohibited = _signals()
    frame: dict[str, Floats] = {
        "dq_score": np.array([c["dq_score"] for c in columns], dtype=np.float64),
        "dq_gaps": np.array([c["dq_gaps"].count('"element"') for c in columns], dtype=np.float64),
        "items": np.array([c["item_count"] for c in columns], dtype=np.float64),
        "total_value": np.array([c["total_value"] for c in columns], dtype=np.float64),
    }
    frame["misclassification"] = np.array(
        [max((c.score for c in checks), default=0.0) for checks in classified]
        if classified is not None
        else np.zeros(n),
        dtype=np.float64,
    )
    frame["screening_score"] = np.array(
        [max((hit.score for _role, hit in hits), default=0.0) for hits in parties.hits]
        if parties is not None
        else np.zeros(n),
        dtype=np.float64,
    )
    hs6, currency, measures, owner = item_value_frame(houses)
    if reference == "batch":
        reference = ValueReference().fit(hs6, currency, measures)
    z = reference.zscores(hs6, currency, measures) if reference else np.full(measures.shape, np.nan)
    for column, name in enumerate(("value_z", "unit_value_z")):
        lowest = np.full(n, np.inf)
        np.minimum.at(lowest, owner, np.where(np.isfinite(z[:, column]), z[:, column], np.inf))
        frame[name] = np.where(np.isfinite(lowest), lowest, 0.0)
    keys = [
        f"{' '.join(str(c['consignee_name']).lower().split())}|{c['consignee_country']}"
        for c in columns
    ]
    times = np.array(
        [c["filed_at"].timestamp() if isinstance(c["filed_at"], datetime) else 0.0 for c in columns]
    )
    frame["consignee_parcels_24h"], _ = _windows(keys, times, frame["total_value"], _DAY)
    frame["consignee_parcels_72h"], frame["consignee_value_72h"] = _windows(
        keys, times, frame["total_value"], 3 * _DAY
    )
    # One order split into parcels that each stay under the low-value
    # threshold: same seller, same consignee, same day.
    pair_keys = [
        f"{key}|{' '.join(str(c['seller_name']).lower().split())}"
        for key, c in zip(keys, columns, strict=True)
    ]
    frame["consignee_seller_parcels_24h"], frame["consignee_seller_value_24h"] = _windows(
        pair_keys, times, frame["total_value"], _DAY
    )
    luxury = np.zeros(n)
    terms = np.zeros(n)
    missing = np.zeros(n)
    unidentified = np.zeros(n)
    transshipment = np.zeros(n)
    seen: dict[str, tuple[frozenset[str], int]] = {}
    for index, house in enumerate(houses):
        departure = house.columns["departure_country"]
        for item in house.items:
            description = item["description"]
            found = seen.get(description)
            if found is None:
                # Parcel traffic repeats its listings: read each text once.
                text = description.lower()
                found = seen[description] = (
                    frozenset(brand_names.findall(text)),
                    len(prohibited.findall(text)),
                )
            named, watched = found
            brand = (item.get("brand") or "").lower()
            if brand in brands:
                named = named | {brand}
            if named and any(item["unit_value"] < brands[name] for name in named):
                luxury[index] = 1.0
            terms[index] += watched
            missing[index] += not item.get("gtin")
            unidentified[index] += not item.get("gtin") and not item.get("sku")
            origin = item.get("origin_country")
            if origin and departure and origin != departure:
                transshipment[index] = 1.0
        missing[index] /= max(1, len(house.items))
        unidentified[index] /= max(1, len(house.items))
    frame["luxury_brand_below_floor"] = luxury
    frame["prohibited_terms"] = terms
    frame["missing_identifier_share"] = missing
    frame["unidentified_item_share"] = unidentified
    frame["transshipment"] = transshipment
    # Needs the earlier versions: the sequencer fills it in.
    frame["description_changes"] = np.zeros(n)
    return frame
