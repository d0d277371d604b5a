"""The 2026 filing rules: national tariff lines, EU product identifiers and
VAT-regime codes, US entry types refused since de minimis ended, S10 ids."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from clearway.declarations.fastpath import canonical_json, decode_house
from clearway.declarations.models import Declaration
from clearway.declarations.quality import assess_quality
from clearway.declarations.validation import validate_record
from clearway.errors import ErrorDetail
from clearway.reference import s10_check_digit, s10_problem
from tests import factories as f

S10_OK = "LX123456785CN"


def problems(doc: dict[str, Any]) -> list[ErrorDetail]:
    result = validate_record(doc)
    assert isinstance(result, list), "expected the filing to be refused"
    return result


def accepted(doc: dict[str, Any]) -> Declaration:
    result = validate_record(doc)
    assert isinstance(result, Declaration), result
    return result


def line(code: str, nomenclature: str = "EU-TARIC") -> dict[str, str]:
    return {"code": code, "nomenclature": nomenclature, "version": "2026"}


# --- national tariff lines ---


def test_national_line_extending_the_hs6_is_accepted_and_kept() -> None:
    decl = accepted(f.declaration(items=[f.item(national_line=line("8518300095"))]))
    assert decl.items[0].national_line is not None
    assert decl.items[0].national_line.code == "8518300095"


def test_national_line_must_extend_the_declared_hs6() -> None:
    (p,) = problems(f.declaration(items=[f.item(national_line=line("8517300095"))]))
    assert p.field == "items[0].national_line.code"
    assert p.code == "national_line"
    assert p.message == "must extend the declared HS subheading 851830. Got '8517300095'."


def test_national_line_length_follows_its_nomenclature() -> None:
    (p,) = problems(f.declaration(items=[f.item(national_line=line("8518300095", "EU-CN"))]))
    assert (p.field, p.message) == (
        "items[0].national_line.code",
        "must have 8 digits in EU-CN. Got '8518300095'.",
    )


def test_national_line_of_another_destination_is_refused() -> None:
    (p,) = problems(f.declaration(items=[f.item(national_line=line("8518300095", "US-HTS"))]))
    assert p.field == "items[0].national_line.nomenclature"
    assert p.message == "must be a nomenclature of the destination DE. Got 'US-HTS'."


def test_unknown_nomenclature_is_refused() -> None:
    (p,) = problems(f.declaration(items=[f.item(national_line=line("85183000", "XX-ABC"))]))
    assert p.message == "must be one of EU-CN, EU-TARIC, US-HTS. Got 'XX-ABC'."


def test_fast_path_and_pydantic_agree_on_the_new_fields() -> None:
    doc = f.declaration(
        items=[f.item(national_line=line("8518300095"), postal_tracking_number=S10_OK)],
        vat_regime="F53",
    )
    raw = orjson.dumps(doc)
    fast = decode_house(raw)
    assert fast is not None
    assert canonical_json(fast) == canonical_json(accepted(doc))
    assert '"national_line":{"code":"8518300095"' in canonical_json(fast)


# --- EU product identifiers (Delegated Reg. (EU) 2026/1022) ---


def test_eu_filing_before_1_nov_2026_without_maker_id_passes_with_a_gap() -> None:
    doc = f.declaration(items=[f.item(), f.item(mpn=None)], filed_at="2026-10-31T23:00:00Z")
    decl = accepted(doc)
    gaps = [g for g in assess_quality(decl).gaps if g.field == "items[1].mpn"]
    assert [g.reason for g in gaps] == [
        "no manufacturer product identifier (required from 2026-11-01)"
    ]


def test_eu_filing_from_1_nov_2026_without_maker_id_is_refused_naming_the_line() -> None:
    doc = f.declaration(items=[f.item(), f.item(mpn=None)], filed_at="2026-11-01T00:00:00Z")
    (p,) = problems(doc)
    assert (p.field, p.code) == ("items[1].mpn", "product_id_required")
    assert p.message.startswith(
        "must give the manufacturer product identifier of item line 1: required on EU "
        "low-value declarations filed on or after 2026-11-01"
    )


def test_eu_filing_without_merchant_id_is_refused_too() -> None:
    (p,) = problems(f.declaration(items=[f.item(sku=None)]))
    assert p.field == "items[0].sku"


def test_identifier_rule_is_for_eu_destinations_only() -> None:
    accepted(
        f.declaration(
            items=[f.item(sku=None, mpn=None, currency="GBP")],
            destination_country="GB",
            consignee__country="GB",
            consignee__address__country="GB",
        )
    )


# --- VAT-regime codes ---


def test_vat_regime_codes_are_checked_against_the_filing() -> None:
    ioss = {"name": "Shop", "country": "CN", "ioss": "IM2760000001"}
    accepted(f.declaration(vat_regime="F48", seller=ioss))
    accepted(f.declaration(vat_regime="F53"))
    cases = {
        "F48": "must come with seller.ioss: F48 (IOSS) declares an IOSS sale. Got 'F48'.",
        "C07": "must not be C07: removed from the codes list in the 2026 revision "
        "(consignments of negligible value). Got 'C07'.",
    }
    for code, message in cases.items():
        (p,) = problems(f.declaration(vat_regime=code))
        assert (p.field, p.code, p.message) == ("vat_regime", "vat_regime", message)
    (p,) = problems(f.declaration(vat_regime="F53", seller=ioss))
    assert p.message.startswith("must be F48 when seller.ioss is given")


# --- US entries ---


def us(**kw: Any) -> dict[str, Any]:
    return f.declaration(
        items=[f.item(currency="USD")],
        destination_country="US",
        consignee__country="US",
        consignee__address__country="US",
        **kw,
    )


def test_us_filing_claiming_type_86_after_29_aug_2025_is_refused() -> None:
    (p,) = problems(us(entry_type="86", filed_at="2025-08-29T00:00:00Z"))
    assert (p.field, p.code) == ("entry_type", "us_entry_refused")
    assert p.message.startswith(
        "must not claim Type 86 entry treatment: refused for US filings since 2025-08-29"
    )
    (p,) = problems(us(entry_type="321", filed_at="2026-11-02T00:00:00Z"))
    assert "Section 321 de minimis" in p.message
    accepted(us(entry_type="86", filed_at="2025-08-28T12:00:00Z"))
    accepted(us(entry_type="13", filed_at="2026-11-02T00:00:00Z"))


# --- UPU S10 ---


def test_postal_filing_with_a_bad_s10_check_digit_is_refused() -> None:
    doc = f.declaration(transport__mode="postal", transport__tracking_number="LX123456784CN")
    (p,) = problems(doc)
    assert (p.field, p.code) == ("transport.tracking_number", "s10")
    assert p.message == "must end its digits with the S10 check digit 5. Got 'LX123456784CN'."
    accepted(f.declaration(transport__mode="postal", transport__tracking_number=S10_OK))


def test_item_postal_tracking_number_is_checked_on_any_filing() -> None:
    (p,) = problems(f.declaration(items=[f.item(postal_tracking_number="LX123456785ZZ")]))
    assert p.field == "items[0].postal_tracking_number"
    assert p.message.startswith("must end with the issuing post's country code")


@given(st.text("0123456789", min_size=8, max_size=8), st.sampled_from(["CN", "DE", "US"]))
def test_s10_any_other_check_digit_is_refused(serial: str, country: str) -> None:
    good = f"RR{serial}{s10_check_digit(serial)}{country}"
    assert s10_problem(good) is None
    for digit in "0123456789":
        if digit != good[10]:
            assert s10_problem(f"RR{serial}{digit}{country}") is not None
    assert s10_problem(good.lower()) is not None
