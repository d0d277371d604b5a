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
from typing import Any

import numpy as np

from clearway.duty.assess import DutyInput

__all__ = ["duty_input"]

Row = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]


def _day(moment: Any, fallback: date) -> date:
    if isinstance(moment, datetime):
        return moment.date()
    return fallback


def duty_input(rows: Sequence[Row], fallback_day: date) -> DutyInput:
    """Arrays for ``rows``; the day is the filing's (UTC), else ``fallback_day``."""
    n = len(rows)
    destination = np.empty(n, dtype=object)
    days = np.empty(n, dtype="datetime64[D]")
    mode = np.empty(n, dtype=object)
    ioss = np.zeros(n, dtype=bool)
    paid = np.zeros(n, dtype=bool)
    collected = np.full(n, np.nan)
    collected_currency = np.empty(n, dtype=object)
    item_decl: list[int] = []
    item_line: list[int] = []
    item_hs: list[str] = []
    item_origin: list[str] = []
    item_value: list[float] = []
    item_currency: list[str] = []
    for k, (columns, items) in enumerate(rows):
        destination[k] = columns["destination_country"]
        days[k] = _day(columns.get("filed_at"), fallback_day)
        mode[k] = columns["mode"]
        ioss[k] = bool(columns.get("seller_ioss"))
        paid[k] = bool(columns.get("duty_paid_at_sale"))
        amount = columns.get("collected_at_sale")
        if amount is not None and not math.isnan(amount):
            collected[k] = amount
        collected_currency[k] = columns["total_currency"]
        for item in items:
            item_decl.append(k)
            item_line.append(item["line_no"])
            item_hs.append(item["hs_code"] or "")
            item_origin.append(item["origin_country"] or "")
            item_value.append(item["unit_value"] * item["quantity"])
            item_currency.append(item["currency"])
    hs = np.array(item_hs, dtype=object)
    return DutyInput(
        destination=destination,
        day=days,
        mode=mode,
        ioss=ioss,
        duty_paid_at_sale=paid,
        collected=collected,
        collected_currency=collected_currency,
        item_decl=np.array(item_decl, dtype=np.int64),
        item_line=np.array(item_line, dtype=np.int64),
        item_hs=hs,
        item_hs6=np.array([h[:6] for h in item_hs], dtype=object),
        item_origin=np.array(item_origin, dtype=object),
        item_value=np.array(item_value, dtype=np.float64),
        item_currency=np.array(item_currency, dtype=object),
    )
