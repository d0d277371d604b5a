"""The fast decoder never accepts what pydantic refuses, and agrees on content."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearway.declarations import Declaration, validate_record
from clearway.declarations.fastpath import canonical_json, decode_house
from clearway.declarations.validation import checked
from tests import factories as f

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "",
            "DE",
            "XX",
            "EUR",
            "851830",
            "851830\n",
            "NaN",
            "-1",
            "1e400",
            "12.50",
            "2026-11-02T10:00:00",
            "2026-11-02T10:00:00Z",
            "air",
            "teleport",
            "marketplace",
            "4006381333931",
            "a" * 64,
            "A" * 64,
            "x" * 600,
        ]
    )
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=8,
)

PATHS = [
    ("declaration_id",),
    ("destination_country",),
    ("filed_at",),
    ("kind",),
    ("incoterm",),
    ("duty_paid_at_sale",),
    ("vat_collected",),
    ("filer", "role"),
    ("filer", "id"),
    ("transport", "mode"),
    ("transport", "expected_arrival"),
    ("transport", "master_ref"),
    ("seller", "ioss"),
    ("seller", "address"),
    ("consignee", "email_sha256"),
    ("consignee", "country"),
    ("items", 0, "quantity"),
    ("items", 0, "unit_value"),
    ("items", 0, "hs_code"),
    ("items", 0, "gtin"),
    ("items", 0, "net_weight_kg"),
    ("items", 0, "description"),
    ("items",),
    ("totals", "value"),
    ("totals", "packages"),
    ("totals", "gross_weight_kg"),
    ("marketplace", "listing_url"),
    ("unknown_field",),
    # The 2026 rules' fields.
    ("items", 0, "national_line"),
    ("items", 0, "national_line", "code"),
    ("items", 0, "postal_tracking_number"),
    ("items", 1, "mpn"),
    ("vat_regime",),
    ("entry_type",),
    # Listing attributes (issue 18).
    ("items", 0, "category_path"),
    ("items", 0, "material"),
    ("items", 1, "brand"),
]


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set ``path`` to ``value`` when an earlier mutation left the path in place."""
    target: Any = doc
    try:
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass


def _check(raw: bytes | str) -> None:
    fast = decode_house(raw)
    slow = validate_record(raw)
    if fast is None:
        return
    # The pipeline runs the reference checks and the filing rules on either
    # decoder's result.
    problems = checked(fast)
    if isinstance(problems, list):
        assert slow == problems
        return
    assert isinstance(slow, Declaration), f"fast path accepted what pydantic refused: {slow}"
    assert canonical_json(fast) == canonical_json(slow)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=3))
def test_fast_accepts_only_what_pydantic_accepts(mutations: list[tuple[Any, Any]]) -> None:
    doc = f.declaration(
        items=[
            f.item(national_line={"code": "8518300095", "nomenclature": "EU-TARIC"}),
            f.item(
                description="cotton t-shirt",
                hs_code="610910",
                gtin=None,
                unit_value="5.00",
                quantity=2,
            ),
        ]
    )
    for path, value in mutations:
        _mutate(doc, path, value)
    _check(json.dumps(doc))


def test_clean_declarations_take_the_fast_path() -> None:
    doc = f.declaration()
    fast = decode_house(orjson.dumps(doc))
    assert fast is not None
    slow = validate_record(doc)
    assert isinstance(slow, Declaration)
    assert canonical_json(fast) == canonical_json(slow)


def test_edge_values_fall_back_to_pydantic() -> None:
    for mutate in (
        lambda d: d["items"][0].update(hs_code="851830\n"),  # Python's "$" would take it
        lambda d: d["items"][0].update(unit_value="NaN"),
        lambda d: d["items"][0].update(unit_value="2000000"),
        lambda d: d.update(filed_at="2026-11-02T10:00:00"),  # no UTC offset
        lambda d: d["totals"].update(value="99.00"),
        lambda d: d.update(kind="master"),
    ):
        doc = f.declaration()
        mutate(doc)
        assert decode_house(orjson.dumps(doc)) is None
        assert isinstance(validate_record(orjson.dumps(doc)), list)


def test_canonical_form_ignores_key_order_and_number_spelling() -> None:
    doc = f.declaration(items=[f.item(unit_value=12.5)])
    respelled = f.clone(doc)
    respelled["items"][0]["unit_value"] = "12.5"
    reordered = dict(reversed(list(respelled.items())))
    a = decode_house(orjson.dumps(doc))
    b = decode_house(orjson.dumps(reordered))
    assert a is not None
    assert b is not None
    assert canonical_json(a) == canonical_json(b)
