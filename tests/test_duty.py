"""Duty and tax: the regulations' worked examples, date boundaries, currency
conversion, mixed-HS consignments and regime files with errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from clearway.declarations.batch import prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.duty import Assessment, assess, duty_input, load_book
from clearway.errors import ConfigurationError
from tests import factories as f

BOOK = load_book()


def assess_docs(*docs: dict[str, Any], postal_method: str = "ad_valorem") -> list[Assessment]:
    batch = prepare_batch([RawRecord("t", n, orjson.dumps(d)) for n, d in enumerate(docs)])
    assert not batch.rejections, batch.rejections
    rows = [(h.columns, h.items) for h in batch.houses]
    result = assess(BOOK, duty_input(rows, date(2026, 11, 2)), postal_method=postal_method)
    return [result.breakdown(k) for k in range(len(docs))]


def eu_parcel(day: str = "2026-11-02", **kw: Any) -> dict[str, Any]:
    items = kw.pop("items", None) or [
        f.item(
            description="cotton t-shirt",
            hs_code="610910",
            unit_value="10.00",
            quantity=2,
            gtin=None,
        ),
        f.item(description="running shoes", hs_code="640411", unit_value="40.00", gtin=None),
    ]
    return f.declaration(items=items, filed_at=f"{day}T10:00:00Z", **kw)


def test_eu_two_tshirts_and_shoes_owe_six_euro_plus_vat() -> None:
    (a,) = assess_docs(eu_parcel())
    assert a.regime == "eu-flat-duty-2026"
    assert a.currency == "EUR"
    assert a.value == 60.0
    assert a.duty == 6.0
    # Import VAT (DE, 19%) on value plus duty.
    assert a.vat == pytest.approx(round((60 + 6) * 0.19, 2))
    # The handling fee (sample EUR 2 per item line) from 2026-11-01, outside VAT.
    assert a.fee == 4.0
    assert a.total == pytest.approx(6.0 + a.vat + 4.0)
    flat = [line for line in a.lines if line.rule == "eu-flat-duty-per-line"]
    assert [(x.item_line, x.base, x.rate, x.amount) for x in flat] == [
        (0, 1.0, 3.0, 3.0),
        (1, 1.0, 3.0, 3.0),
    ]


def test_same_goods_on_two_lines_are_one_item_line() -> None:
    items = [
        f.item(description="Cotton  T-shirt", hs_code="610910", unit_value="5.00", gtin=None),
        f.item(description="cotton t-shirt", hs_code="610910", unit_value="7.00", gtin=None),
    ]
    (a,) = assess_docs(eu_parcel(items=items))
    assert a.duty == 3.0


def test_same_hs6_and_origin_with_other_descriptions_are_two_lines() -> None:
    items = [
        f.item(description="cotton t-shirt", hs_code="610910", unit_value="5.00", gtin=None),
        f.item(description="linen t-shirt", hs_code="610910", unit_value="7.00", gtin=None),
    ]
    (a,) = assess_docs(eu_parcel(items=items))
    assert a.duty == 6.0


def test_same_hs6_and_description_from_two_origins_are_two_lines() -> None:
    items = [
        f.item(description="cotton t-shirt", hs_code="610910", origin_country="CN"),
        f.item(description="cotton t-shirt", hs_code="610910", origin_country="BD"),
    ]
    (a,) = assess_docs(eu_parcel(items=items))
    assert a.duty == 6.0


def test_classification_is_the_code_as_declared_or_the_national_line() -> None:
    ten = f.item(hs_code="6109100010", unit_value="5.00", gtin=None)
    six = f.item(hs_code="610910", unit_value="7.00", gtin=None)
    taric = {"code": "6109100010", "nomenclature": "EU-TARIC", "version": "2026"}
    six_with_line = f.item(hs_code="610910", unit_value="7.00", gtin=None, national_line=taric)
    split, joined = assess_docs(eu_parcel(items=[ten, six]), eu_parcel(items=[ten, six_with_line]))
    # 6109100010 and 610910 are different classifications; the national
    # line 6109100010 makes the second line alike the first.
    assert split.duty == 6.0
    assert joined.duty == 3.0


def test_eu_handling_fee_applies_from_its_start_date_only() -> None:
    before, first = assess_docs(eu_parcel("2026-10-31"), eu_parcel("2026-11-01"))
    assert before.fee == 0.0
    assert "eu-handling-fee" not in {line.rule for line in before.lines}
    assert first.fee == 4.0
    fee_lines = [line for line in first.lines if line.rule == "eu-handling-fee"]
    assert [(x.item_line, x.amount, x.kind) for x in fee_lines] == [
        (0, 2.0, "handling_fee"),
        (1, 2.0, "handling_fee"),
    ]
    assert first.total == pytest.approx(before.total + 4.0)


def test_handling_fee_is_marked_as_a_sample_with_its_source() -> None:
    (regime,) = [r for r in BOOK.regimes if r.id == "eu-flat-duty-2026"]
    rules = {rule.id: rule for rule in regime.rules}
    fee = rules["eu-handling-fee"]
    assert (fee.sample, fee.version, fee.amount) == (True, 1, 2.0)
    assert "SAMPLE" in (fee.source or "")
    assert rules["eu-flat-duty-per-line"].group_by == ["classification", "description", "origin"]


def test_item_without_hs_code_counts_alone() -> None:
    items = [
        f.item(hs_code=None, unit_value="5.00", gtin=None),
        f.item(hs_code=None, unit_value="7.00", gtin=None),
        f.item(hs_code="610910", unit_value="7.00", gtin=None),
    ]
    (a,) = assess_docs(eu_parcel(items=items))
    assert a.duty == 9.0


def test_eu_consignment_above_150_is_not_under_the_flat_duty() -> None:
    items = [
        f.item(description="cotton t-shirt", hs_code="610910", unit_value="100.00", gtin=None),
        f.item(description="running shoes", hs_code="640411", unit_value="60.00", gtin=None),
    ]
    (a,) = assess_docs(eu_parcel(items=items))
    rules = {line.rule for line in a.lines}
    assert "eu-flat-duty-per-line" not in rules
    assert "eu-mfn-duty" in rules
    # Sample rates: chapter 61 at 12%, heading 6404 at 16.9%.
    assert a.duty == pytest.approx(round(100 * 0.12, 2) + round(60 * 0.169, 2))


def test_eu_date_boundary_of_the_flat_duty() -> None:
    before, first, last, after = assess_docs(
        eu_parcel("2026-06-30"),
        eu_parcel("2026-07-01"),
        eu_parcel("2028-06-30"),
        eu_parcel("2028-07-01"),
    )
    assert before.regime == "eu-low-value-relief-2021"
    assert before.duty == 0.0
    assert first.regime == "eu-flat-duty-2026"
    assert first.duty == 6.0
    assert last.duty == 6.0
    assert after.regime is None
    assert after.problem == "no duty regime for this destination on this date"


def test_eu_ioss_vat_is_due_at_sale_on_the_value_and_shortfall_is_found() -> None:
    seller = {"name": "Shenzhen Co", "country": "CN", "ioss": "IM2760000001"}
    paid, short = assess_docs(
        eu_parcel(
            seller=seller, vat_collected="11.40", duty_collected="6.00", duty_paid_at_sale=True
        ),
        eu_parcel(seller=seller, vat_collected="5.00", duty_paid_at_sale=True),
    )
    # IOSS: VAT at sale on the value (60 x 19%), duty collected too (DDP).
    assert paid.vat == 11.4
    assert paid.due_at_sale == 17.4
    assert paid.shortfall == 0.0
    assert short.shortfall == pytest.approx(17.4 - 5.0)


def us_postal(day: str, origin: str, value: str = "50.00") -> dict[str, Any]:
    item = f.item(unit_value=value, currency="USD", origin_country=origin, hs_code="851830")
    return f.declaration(
        items=[item],
        destination_country="US",
        filed_at=f"{day}T10:00:00Z",
        transport__mode="postal",
        transport__tracking_number="LX123456785CN",
        consignee__address__country="US",
        consignee__country="US",
    )


def test_us_postal_specific_method_by_origin_band() -> None:
    # Sample effective rates: KR 15% (<16%), VN 20% (16-25%), CN 30% (>25%).
    low, mid, high = assess_docs(
        us_postal("2025-10-01", "KR"),
        us_postal("2025-10-01", "VN"),
        us_postal("2025-10-01", "CN"),
        postal_method="specific",
    )
    assert (low.duty, mid.duty, high.duty) == (80.0, 160.0, 200.0)
    assert mid.vat == 0.0
    assert [line.rule for line in mid.lines] == ["us-postal-specific"]


def test_us_postal_ad_valorem_method_is_rate_times_value() -> None:
    (a,) = assess_docs(us_postal("2025-10-01", "VN", "50.00"), postal_method="ad_valorem")
    assert a.duty == pytest.approx(0.20 * 50.0)
    assert [line.rule for line in a.lines] == ["us-postal-ad-valorem"]


def test_us_specific_method_ends_and_falls_back_to_ad_valorem() -> None:
    last, after = assess_docs(
        us_postal("2026-02-28", "VN"), us_postal("2026-03-01", "VN"), postal_method="specific"
    )
    assert last.duty == 160.0
    assert after.duty == pytest.approx(10.0)


def test_us_de_minimis_suspension_date_boundary() -> None:
    before, after = assess_docs(us_postal("2025-08-28", "CN"), us_postal("2025-08-29", "CN"))
    assert before.regime == "us-de-minimis-800"
    assert before.duty == 0.0
    assert after.regime == "us-de-minimis-suspended-2025"
    assert after.duty > 0
    doc = us_postal("2025-09-10", "CN")
    doc["transport"]["mode"] = "air"
    (entry,) = assess_docs(doc)
    # Non-postal: HTS (sample chapter 85: 2%) plus the origin's rate (CN 30%).
    assert entry.duty == pytest.approx(round(50 * (0.02 + 0.30), 2))


def uk_parcel(value: str, **kw: Any) -> dict[str, Any]:
    item = f.item(unit_value=value, currency="GBP", hs_code="610910", gtin=None)
    return f.declaration(
        items=[item],
        destination_country="GB",
        consignee__address__country="GB",
        consignee__country="GB",
        **kw,
    )


def test_uk_point_of_sale_vat_up_to_135_and_import_above() -> None:
    small, large = assess_docs(
        uk_parcel("100.00", vat_collected="20.00"), uk_parcel("200.00", duty_paid_at_sale=False)
    )
    assert small.duty == 0.0
    assert small.vat == 20.0
    assert small.due_at_sale == 20.0
    assert small.shortfall == 0.0
    assert large.duty == pytest.approx(24.0)
    assert large.vat == pytest.approx(round((200 + 24) * 0.20, 2))
    assert large.due_at_sale == 0.0
    (ddp,) = assess_docs(uk_parcel("200.00", duty_paid_at_sale=True))
    assert ddp.due_at_sale == 24.0, "delivered duty paid: the seller collected the duty"


def test_uk_short_collection_is_reported() -> None:
    (a,) = assess_docs(uk_parcel("100.00", vat_collected="12.00"))
    assert a.shortfall == pytest.approx(8.0)


def test_currency_conversion_uses_the_rate_table_of_the_date() -> None:
    # 2026-11-01 table: 1.15 USD per EUR. 172.50 USD = 150.00 EUR: still flat duty.
    at_limit = f.item(unit_value="172.50", currency="USD", hs_code="610910", gtin=None)
    over = f.item(unit_value="173.65", currency="USD", hs_code="610910", gtin=None)
    a, b = assess_docs(eu_parcel(items=[at_limit]), eu_parcel(items=[over]))
    assert a.value == 150.0
    assert a.duty == 3.0
    assert b.value == pytest.approx(151.0)
    assert {line.rule for line in b.lines} >= {"eu-mfn-duty"}
    # July 2026 table: 1.14 USD per EUR.
    (july,) = assess_docs(eu_parcel("2026-07-15", items=[at_limit]))
    assert july.value == pytest.approx(round(172.5 / 1.14, 2))


def test_missing_exchange_rate_is_reported_not_raised() -> None:
    item = f.item(unit_value="100.00", currency="BRL", hs_code="610910", gtin=None)
    (a,) = assess_docs(eu_parcel(items=[item]))
    assert a.problem == "no exchange rate for a currency of this declaration"
    assert a.total == 0.0


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regime.yaml"
    path.write_text(text)
    return path


def test_regime_file_error_names_file_and_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
regimes:
  - id: broken
    name: Broken
    destinations: [DE]
    currency: EUR
    valid_from: 2030-01-01
    rules:
      - id: flat
        kind: flat_per_hs6
        reason: typo in the kind
""",
    )
    with pytest.raises(ConfigurationError) as caught:
        load_book([path])
    message = str(caught.value)
    assert str(path) in message
    assert "regimes[0].rules[0].kind" in message
    assert "flat_per_hs6" in message


def test_rule_missing_its_amount(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
regimes:
  - id: no-amount
    name: No amount
    destinations: [DE]
    currency: EUR
    valid_from: 2030-01-01
    rules:
      - {id: flat, kind: flat_per_distinct_hs6, reason: x}
""",
    )
    with pytest.raises(ConfigurationError, match=r"regimes\[0\]\.rules\[0\].*needs amount"):
        load_book([path])


def test_overlapping_regimes_are_refused(tmp_path: Path) -> None:
    builtin = Path(load_book.__code__.co_filename).with_name("data") / "regimes" / "eu.yaml"
    path = _write(
        tmp_path,
        """
regimes:
  - id: another-eu
    name: Overlaps
    destinations: [FR]
    currency: EUR
    valid_from: 2027-01-01
    rules: [{id: relief, kind: relief, reason: x}]
""",
    )
    with pytest.raises(ConfigurationError, match="eu-flat-duty-2026 and another-eu"):
        load_book([builtin, path])


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, "regimes: [\n")
    with pytest.raises(ConfigurationError, match="cannot be read as YAML"):
        load_book([path])


def test_builtin_rates_are_marked_as_samples() -> None:
    assert BOOK.rates.sample is True
    assert BOOK.fx.sample is True
