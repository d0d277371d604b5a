from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearway.declarations import Declaration, MasterFiling, validate_record
from clearway.errors import ErrorDetail
from tests import factories as f


def errors_of(doc: object) -> dict[str, ErrorDetail]:
    result = validate_record(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    assert isinstance(result, list), f"expected errors, got {result!r}"
    return {e.field: e for e in result}


def test_valid_declaration_from_json_and_dict() -> None:
    doc = f.declaration()
    from_json = validate_record(orjson.dumps(doc))
    from_dict = validate_record(doc)
    assert isinstance(from_json, Declaration)
    assert from_json == from_dict
    assert from_json.items[0].hs_code == "851830"
    assert str(from_json.totals.value) == "12.50"


def test_master_filing_is_told_apart_by_kind() -> None:
    result = validate_record(f.master(["TRK1", "TRK2"]))
    assert isinstance(result, MasterFiling)
    assert result.house_refs == ["TRK1", "TRK2"]


def test_unknown_hs_code_names_field_rule_and_value() -> None:
    errors = errors_of(f.declaration(items=[f.item(hs_code="999999")]))
    e = errors["items[0].hs_code"]
    assert e.code == "hs_code_unknown"
    assert "HS 2022" in e.message
    assert "'999999'" in e.message


def test_malformed_hs_code_is_a_pattern_error() -> None:
    e = errors_of(f.declaration(items=[f.item(hs_code="85A7")]))["items[0].hs_code"]
    assert e.code == "string_pattern_mismatch"
    assert "Got '85A7'" in e.message


def test_national_extension_of_a_real_subheading_is_accepted() -> None:
    assert isinstance(
        validate_record(f.declaration(items=[f.item(hs_code="8518300090")])), Declaration
    )


def test_bad_gtin_check_digit() -> None:
    e = errors_of(f.declaration(items=[f.item(gtin="4006381333932")]))["items[0].gtin"]
    assert e.code == "gtin"
    assert "check digit" in e.message
    assert "4006381333932" in e.message


def test_bad_country_and_currency() -> None:
    doc = f.declaration(destination_country="XX", items=[f.item(currency="EUX")])
    doc["totals"]["currency"] = "EUX"
    errors = errors_of(doc)
    assert errors["destination_country"].code == "country_code"
    assert "Got 'XX'" in errors["destination_country"].message
    assert errors["items[0].currency"].code == "currency_code"
    assert errors["totals.currency"].code == "currency_code"


def test_negative_value_and_zero_quantity() -> None:
    errors = errors_of(f.declaration(items=[f.item(unit_value="-3", quantity=0)]))
    assert errors["items[0].unit_value"].code == "greater_than"
    assert "Got '-3'" in errors["items[0].unit_value"].message
    assert errors["items[0].quantity"].code == "greater_than"


def test_implausible_weight_is_refused() -> None:
    e = errors_of(f.declaration(items=[f.item(net_weight_kg=80_000)]))["items[0].net_weight_kg"]
    assert e.code == "less_than_equal"


def test_wrong_types_and_missing_fields_all_reported_at_once() -> None:
    doc = f.declaration(items=[f.item(quantity="many")])
    del doc["consignee"]
    doc["transport"]["mode"] = "teleport"
    doc["unexpected"] = 1
    errors = errors_of(doc)
    assert set(errors) >= {"items[0].quantity", "consignee", "transport.mode", "unexpected"}
    assert errors["consignee"].code == "missing"
    assert errors["unexpected"].code == "extra_forbidden"
    assert "teleport" in errors["transport.mode"].message


def test_totals_must_add_up() -> None:
    doc = f.declaration()
    doc["totals"]["value"] = "99.00"
    e = errors_of(doc)[""]
    assert e.code == "totals_mismatch"
    assert "12.50" in e.message
    assert "99.00" in e.message


def test_malformed_json_is_one_clear_error() -> None:
    errors = validate_record(b'{"declaration_id": "D1", "filer": ')
    assert isinstance(errors, list)
    assert errors[0].code == "json_invalid"
    assert "not valid JSON" in errors[0].message


def test_json_that_is_not_an_object() -> None:
    errors = validate_record(b"[1, 2, 3]")
    assert isinstance(errors, list)
    assert errors[0].code == "not_an_object"


def test_contact_hashes_must_be_sha256_hex() -> None:
    e = errors_of(f.declaration(consignee__email_sha256="anna@example.com"))
    assert e["consignee.email_sha256"].code == "string_pattern_mismatch"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = validate_record(raw)
    assert isinstance(result, list)
    assert all(isinstance(e, ErrorDetail) and e.message for e in result)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(
        [
            "declaration_id",
            "filer",
            "transport",
            "items",
            "totals",
            "seller",
            "consignee",
            "destination_country",
        ]
    ),
    value=json_values,
)
def test_any_value_in_any_field_gives_errors_not_exceptions(field: str, value: object) -> None:
    doc = f.declaration()
    doc[field] = value
    result = validate_record(json.dumps(doc))  # json: orjson refuses ints over 64 bits
    if isinstance(result, list):
        assert all(e.code and e.message for e in result)
    else:
        assert isinstance(result, Declaration)


@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "CNY"])
def test_real_currencies_pass(currency: str) -> None:
    assert isinstance(
        validate_record(f.declaration(items=[f.item(currency=currency)])), Declaration
    )


def test_invalid_utf8_inside_a_string_is_rejected_not_a_crash() -> None:
    # Found by fuzzing: the fast decoder raised UnicodeDecodeError here.
    from clearway.declarations.batch import prepare_batch
    from clearway.declarations.intake import RawRecord

    batch = prepare_batch([RawRecord("in.jsonl", 1, b'{"declaration_id": "\x97abc"}')])
    assert batch.houses == []
    (rejection,) = batch.rejections
    assert rejection.errors[0].code == "json_invalid"
