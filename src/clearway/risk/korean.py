"""Adapter for the public Korean customs declaration data (Jeong et al.
2022, 22 columns, labels ``Fraud`` and ``Critical Fraud``): rows in, a frame
for :class:`~clearway.risk.model.RiskModel` out."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.errors import InputError
from clearway.risk.model import FeatureSpec
from clearway.risk.training import LabelledFrame

__all__ = ["KOREAN_SPEC", "KoreanData", "read_korean"]

_COLUMNS = {
    "Declaration ID": "declaration_id",
    "Date": "date",
    "Office ID": "office",
    "Process Type": "process_type",
    "Import Type": "import_type",
    "Import Use": "import_use",
    "Payment Type": "payment_type",
    "Mode of Transport": "transport_mode",
    "Declarant ID": "declarant",
    "Importer ID": "importer",
    "Seller ID": "seller",
    "Courier ID": "courier",
    "HS6 Code": "hs6",
    "Country of Departure": "departure_country",
    "Country of Origin": "origin_country",
    "Tax Rate": "tax_rate",
    "Tax Type": "tax_type",
    "Country of Origin Indicator": "origin_indicator",
    "Net Mass": "net_mass",
    "Item Price": "item_price",
    "Fraud": "fraud",
    "Critical Fraud": "critical_fraud",
}

KOREAN_SPEC = FeatureSpec(
    categorical=(
        "office",
        "process_type",
        "import_type",
        "import_use",
        "payment_type",
        "transport_mode",
        "courier",
        "hs6",
        "hs4",
        "hs2",
        "departure_country",
        "origin_country",
        "tax_type",
        "origin_indicator",
    ),
    numeric=("tax_rate", "log_net_mass", "log_item_price", "log_price_per_kg"),
    encoded=(
        ("declarant",),
        ("importer",),
        ("seller",),
        ("hs6",),
        ("hs4",),
        ("origin_country",),
        ("office",),
        ("tax_type",),
        ("importer", "hs6"),
        ("declarant", "importer"),
        ("seller", "importer"),
        ("origin_country", "hs6"),
        ("importer", "office"),
    ),
    descriptions={
        "hs6": "goods code (HS6)",
        "hs4": "goods heading",
        "hs2": "goods chapter",
        "origin_country": "country of origin",
        "departure_country": "country of departure",
        "office": "customs office",
        "log_price_per_kg": "declared price per kg",
        "log_item_price": "declared price",
        "log_net_mass": "net mass",
        "tax_rate": "tariff rate",
        "tax_type": "tax type",
    },
)


@dataclass(frozen=True, slots=True)
class KoreanData:
    """The frame, the Fraud labels, and the dates (for time-ordered splits)."""

    frame: dict[str, npt.NDArray[Any]]
    fraud: npt.NDArray[np.int_]
    dates: npt.NDArray[np.str_]

    def labelled(self) -> LabelledFrame:
        return LabelledFrame(self.frame, self.fraud, self.dates)


def read_korean(path: Path) -> KoreanData:
    """Read one CSV file of the data set; the header must have all 22 columns."""
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None or set(_COLUMNS) - set(header):
            missing = sorted(set(_COLUMNS) - set(header or []))
            raise InputError(f"{path}: not the Korean declarations format; missing {missing}")
        position = {_COLUMNS[name]: i for i, name in enumerate(header) if name in _COLUMNS}
        rows = list(reader)
    if not rows:
        raise InputError(f"{path}: no rows")

    def column(name: str) -> npt.NDArray[np.str_]:
        index = position[name]
        return np.array([row[index] if index < len(row) else "" for row in rows])

    def number(name: str) -> npt.NDArray[np.float64]:
        raw = column(name)
        try:
            return np.array([float(v) if v else np.nan for v in raw.tolist()])
        except ValueError as exc:
            raise InputError(f"{path}: column {name!r} must be numeric ({exc})") from exc

    frame: dict[str, npt.NDArray[Any]] = {
        name: column(name)
        for name in _COLUMNS.values()
        if name not in {"net_mass", "item_price", "tax_rate", "fraud", "critical_fraud"}
    }
    hs6 = frame["hs6"]
    frame["hs4"] = np.array([h[:4] for h in hs6.tolist()])
    frame["hs2"] = np.array([h[:2] for h in hs6.tolist()])
    mass, price = number("net_mass"), number("item_price")
    frame["tax_rate"] = number("tax_rate")
    frame["log_net_mass"] = np.log1p(np.clip(mass, 0, None))
    frame["log_item_price"] = np.log1p(np.clip(price, 0, None))
    frame["log_price_per_kg"] = frame["log_item_price"] - frame["log_net_mass"]
    fraud = number("fraud")
    if np.isnan(fraud).any() or not np.isin(fraud, (0, 1)).all():
        raise InputError(f"{path}: column 'Fraud' must be 0 or 1 on every row")
    return KoreanData(frame, fraud.astype(np.int_), frame["date"])
