"""The sequencer's features as Python values, one column at a time, are
what converting element by element gave."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from clearway.clearance.sequencer import _plain, _plain_columns
from clearway.clearance.state import RiskState
from clearway.risk.references import item_keys, item_measures
from clearway.risk.streaming import StreamPolicy

_DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.bool_, "U8"])


@settings(max_examples=150, deadline=None)
@given(st.lists(hnp.arrays(_DTYPES, st.integers(0, 6)), min_size=1, max_size=5), st.data())
def test_columns_equal_element_by_element(columns: list[Any], data: st.DataObject) -> None:
    n = min(len(c) for c in columns)
    frame = {f"c{k}": column[:n] for k, column in enumerate(columns)}
    mixed = data.draw(
        st.lists(st.one_of(st.none(), st.floats(), st.text(max_size=3)), min_size=n, max_size=n)
    )
    frame["object"] = np.array([np.float64(1.5), *mixed], dtype=object)[:n]
    fast = _plain_columns(frame)
    for row in range(n):
        slow = {name: _plain(column[row]) for name, column in frame.items()}
        got = {name: values[row] for name, values in fast.items()}
        assert [type(v) for v in got.values()] == [type(v) for v in slow.values()]
        assert repr(got) == repr(slow)


def test_measured_items_equal_items_measured_by_the_state() -> None:
    items = [
        {"currency": "EUR", "hs_code": "610910", "gtin": "4006381333931", "sku": None,
         "origin_country": "CN", "net_weight_kg": 0.2, "quantity": 2, "unit_value": 9.5},
        {"currency": "USD", "hs_code": None, "gtin": None, "sku": "S-1",
         "origin_country": None, "net_weight_kg": None, "quantity": 0, "unit_value": 0.0},
    ]  # fmt: skip
    day = date(2026, 1, 2)
    by_items, by_measures = RiskState(StreamPolicy()), RiskState(StreamPolicy())
    by_items.add_items(day, "Seller", items)
    by_measures.add_measured(
        day, [item_keys(i, "Seller") for i in items], [item_measures(i) for i in items]
    )
    assert repr(by_items.items) == repr(by_measures.items)
    assert by_items.items[day][0] == (
        ("g:4006381333931|EUR", "610910|CN|EUR", "610910|EUR"),
        (float(np.log(9.5 * 2 / 0.2)), float(np.log(9.5))),
    )
