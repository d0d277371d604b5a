from __future__ import annotations

import pytest

from clearway.declarations import Declaration, assess_quality, is_vague, validate_record
from tests import factories as f


def decl(**kw: object) -> Declaration:
    result = validate_record(f.declaration(**kw))
    assert isinstance(result, Declaration), result
    return result


@pytest.mark.parametrize(
    "text",
    [
        "gift",
        "Gifts",
        "parts",
        "accessories",
        "GOODS",
        "sample",
        "clothes",
        "various clothes",
        "2 pcs gift",
        "Spare parts",
        "new items",
        "!!!",
    ],
)
def test_vague_descriptions(text: str) -> None:
    assert is_vague(text)


@pytest.mark.parametrize(
    "text",
    [
        "men's cotton knit t-shirt",
        "gift box of dark chocolate",
        "wireless earbuds bluetooth 5.3",
        "car parts: brake pads",
    ],
)
def test_specific_descriptions(text: str) -> None:
    assert not is_vague(text)


def test_complete_declaration_scores_one() -> None:
    quality = assess_quality(decl())
    assert quality.score == 1.0
    assert quality.gaps == ()


def test_missing_elements_lower_the_score_and_are_listed() -> None:
    d = decl(
        items=[f.item(hs_code=None, gtin=None, sku=None, mpn=None, description="gift")],
        seller={"country": "CN"},
        # Before 2026-11-01 an EU filing without a merchant id is accepted.
        filed_at="2026-10-30T10:00:00Z",
        consignee={"country": "DE", "name": "A B"},
    )
    quality = assess_quality(d)
    elements = {g.element for g in quality.gaps}
    assert elements == {"seller_identity", "product_identifiers", "classification", "consignee"}
    fields = {g.field for g in quality.gaps}
    assert {
        "seller.name",
        "seller.tax_id",
        "items[0].gtin",
        "items[0].hs_code",
        "items[0].description",
        "consignee.address",
    } <= fields
    assert quality.vague_items == (0,)
    # transport complete (0.15) + consignee name (0.4 * 0.15): nothing else.
    assert quality.score == pytest.approx(0.15 + 0.06)


def test_merchant_reference_counts_half_of_a_gtin() -> None:
    with_gtin = assess_quality(decl()).score
    with_sku = assess_quality(decl(items=[f.item(gtin=None)])).score
    with_nothing = assess_quality(
        decl(items=[f.item(gtin=None, sku=None, mpn=None)], filed_at="2026-10-30T10:00:00Z")
    ).score
    assert with_gtin - with_sku == pytest.approx(with_sku - with_nothing)
    assert with_nothing < with_sku < with_gtin
