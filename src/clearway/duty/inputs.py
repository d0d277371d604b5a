"""Turning declarations into the arrays the assessment works on.

One builder serves the pipeline (prepared houses) and the store (rows read
back): both are a mapping of declaration columns and a list of item
mappings with the same keys as the ``declarations`` and
``declaration_items`` tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import numpy as np

from clearway.duty.assess import DutyInput, Labels

__all__ = ["duty_input"]

Row = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]


_COLUMNS = itemgetter(
    "destination_country",
    "filed_at",
    "mode",
    "seller_ioss",
    "duty_paid_at_sale",
    "collected_at_sale",
    "total_currency",
)
_ITEM = itemgetter("line_no", "hs_code", "origin_country", "unit_value", "quantity", "currency")


def _hs6(code: str) -> str:
    return code[:6]


def duty_input(rows: Sequence[Row], fallback_day: date) -> DutyInput:
    """Arrays for ``rows``; the day is the filing's (UTC), else ``fallback_day``."""
    n = len(rows)
    destination: list[str] = []
    days: list[date] = []
    mode: list[str] = []
    ioss = np.zeros(n, dtype=bool)
    paid = np.zeros(n, dtype=bool)
    collected = np.full(n, np.nan)
    collected_currency: list[str] = []
    item_decl: list[int] = []
    item_line: list[int] = []
    item_hs: list[str] = []
    item_origin: list[str] = []
    item_value: list[float] = []
    item_currency: list[str] = []
    # The rows themselves: per-line rules read the keys they group by from
    # the few lines they apply to, not every line of every batch.
    item_rows: list[Mapping[str, Any]] = []
    for k, (columns, items) in enumerate(rows):
        dest, filed, how, seller_ioss, duty_paid, amount, currency = _COLUMNS(columns)
        destination.append(dest)
        days.append(filed.date() if isinstance(filed, datetime) else fallback_day)
        mode.append(how)
        collected_currency.append(currency)
        if seller_ioss:
            ioss[k] = True
        if duty_paid:
            paid[k] = True
        if amount is not None and not math.isnan(amount):
            collected[k] = amount
        item_rows.extend(items)
        for line, hs, origin, unit_value, quantity, item_currency_code in map(_ITEM, items):
            item_decl.append(k)
            item_line.append(line)
            item_hs.append(hs or "")
            item_origin.append(origin or "")
            item_value.append(unit_value * quantity)
            item_currency.append(item_currency_code)
    hs_labels = Labels.encode(item_hs)
    return DutyInput(
        destination=Labels.encode(destination),
        day=np.array(days, dtype="datetime64[D]"),
        mode=Labels.encode(mode),
        ioss=ioss,
        duty_paid_at_sale=paid,
        collected=collected,
        collected_currency=Labels.encode(collected_currency),
        item_decl=np.array(item_decl, dtype=np.int64),
        item_line=np.array(item_line, dtype=np.int64),
        item_hs=hs_labels,
        item_hs6=hs_labels.normalised(_hs6),
        item_origin=Labels.encode(item_origin),
        item_value=np.array(item_value, dtype=np.float64),
        item_currency=Labels.encode(item_currency),
        item_rows=item_rows,
    )
