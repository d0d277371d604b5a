"""The product catalogue: one product under two headings, or at a price far
from what others declared, is flagged with the other filings as evidence."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from clearway.declarations.catalogue import ProductFiling, catalogue_flags
from clearway.store.catalogue import read_product_flags
from clearway.store.reading import get_declaration
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway

GTIN = "4006381333931"


def filing(
    decl: int, hs: str | None, value: float, key: str = f"gtin:{GTIN}", currency: str = "EUR"
) -> ProductFiling:
    return ProductFiling(key, decl, 0, hs, value, currency)


def test_heading_conflict_names_the_other_headings() -> None:
    history = [filing(1, "851830", 12.0), filing(2, "851830", 13.0)]
    (flag,) = catalogue_flags([filing(3, "392690", 12.5)], history)
    assert flag.kind == "hs_conflict"
    assert "8518" in flag.detail
    assert [e.declaration_id for e in flag.evidence] == [1, 2]
    # Another subheading of the same heading is not a conflict.
    assert catalogue_flags([filing(4, "851829", 12.0)], history) == []


def test_price_outlier_needs_enough_prices_in_one_currency() -> None:
    history = [filing(k, "851830", v) for k, v in enumerate((11.0, 12.0, 13.0, 12.5), 1)]
    (flag,) = catalogue_flags([filing(9, "851830", 1.5)], history)
    assert flag.kind == "price_outlier"
    assert "median of 12.25" in flag.detail
    assert catalogue_flags([filing(9, "851830", 9.0)], history) == []
    assert catalogue_flags([filing(9, "851830", 1.5)], history[:2]) == []
    assert catalogue_flags([filing(9, "851830", 1.5, currency="USD")], history) == []


def test_same_declaration_is_not_its_own_evidence() -> None:
    assert catalogue_flags([filing(1, "392690", 1.0)], [filing(1, "851830", 12.0)]) == []


def test_intake_flags_against_stored_filings(engine: Engine, tmp_path: Path) -> None:
    earlier = [
        f.declaration(items=[f.item(unit_value=str(v))]) for v in ("12.50", "13.00", "11.90")
    ]
    cheap = f.declaration(items=[f.item(unit_value="0.90")])
    wrong_code = f.declaration(items=[f.item(hs_code="392690")])
    other_seller = f.declaration(
        items=[f.item(gtin=None, sku="SKU-1", mpn="OTHER-1", hs_code="610910")],
        seller={"name": "Another Seller Ltd", "country": "CN"},
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*earlier))
    ingest_files(engine, [path])
    path.write_bytes(f.jsonl(cheap, other_seller))
    ingest_files(engine, [path])
    # Flags are raised on intake, against everything filed before and with it.
    path.write_bytes(f.jsonl(wrong_code))
    ingest_files(engine, [path])

    def kinds(doc: dict) -> set[str]:
        row_id = get_declaration(engine, doc["declaration_id"]).row_id
        return {flag["kind"] for flag in read_product_flags(engine, row_id)}

    assert kinds(cheap) == {"price_outlier"}
    assert kinds(wrong_code) == {"hs_conflict"}
    # SKU-1 of another seller is another product: no conflict with 851830.
    assert kinds(other_seller) == set()
    flags = read_product_flags(engine, get_declaration(engine, wrong_code["declaration_id"]).row_id)
    assert {e["hs_code"] for e in flags[0]["evidence"]} == {"851830"}


def test_manufacturer_id_names_one_product_across_sellers(engine: Engine, tmp_path: Path) -> None:
    """Without a GTIN, the maker's product id still ties two sellers' lines
    to one product (a SKU would not: it is each seller's own)."""
    first = f.declaration(items=[f.item(gtin=None, sku="A-1", mpn="WH-1000XM5")])
    second = f.declaration(
        items=[f.item(gtin=None, sku="B-7", mpn="WH-1000XM5", hs_code="392690")],
        seller={"name": "Another Seller Ltd", "country": "CN"},
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(first))
    ingest_files(engine, [path])
    path.write_bytes(f.jsonl(second))
    ingest_files(engine, [path])
    row_id = get_declaration(engine, second["declaration_id"]).row_id
    (flag,) = read_product_flags(engine, row_id)
    assert (flag["kind"], flag["product"]) == ("hs_conflict", "mpn:WH-1000XM5")
    assert [e["hs_code"] for e in flag["evidence"]] == ["851830"]


def test_show_prints_product_flags(tmp_path: Path, sqlite_url: str) -> None:
    first, second = f.declaration(), f.declaration(items=[f.item(hs_code="392690")])
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(first, second))
    assert clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url).returncode == 0
    shown = clearway("show", second["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert "declared under heading 3926" in shown.stdout


def test_only_recent_filings_of_a_product_are_read(
    engine: Engine, tmp_path: Path, monkeypatch
) -> None:
    from clearway.store import catalogue

    monkeypatch.setattr(catalogue, "RECENT", 3)
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*(f.declaration() for _ in range(8))))
    ingest_files(engine, [path])
    cheap = f.declaration(items=[f.item(unit_value="0.50")])
    path.write_bytes(f.jsonl(cheap))
    ingest_files(engine, [path])
    (flag,) = read_product_flags(engine, get_declaration(engine, cheap["declaration_id"]).row_id)
    assert flag["kind"] == "price_outlier"
    assert "over 3 other filing(s)" in flag["detail"]


def test_bounded_reads_give_what_the_window_gives(
    engine: Engine, tmp_path: Path, monkeypatch: object
) -> None:
    """A product's latest filings read down its index give exactly what the
    window over its whole history gives, also when the latest lines are
    another seller's SKU or superseded versions (the exact query then
    settles that product)."""
    import pytest

    from clearway.store import catalogue

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(catalogue, "RECENT", 3)
    older = [
        f.declaration(items=[f.item(sku="X-1", gtin=None)], seller__name="Seller A")
        for _ in range(4)
    ]
    newer = [
        f.declaration(items=[f.item(sku="X-1", gtin=None)], seller__name="Seller B")
        for _ in range(20)
    ]
    amended = {**older[-1], "consignee": {**older[-1]["consignee"], "name": "Someone Else"}}
    path = tmp_path / "in.jsonl"
    for batch in (older, newer, [amended], [f.declaration() for _ in range(6)]):
        path.write_bytes(f.jsonl(*batch))
        ingest_files(engine, [path])

    def window(column: str, values: list[str]) -> set[tuple[str, int]]:
        with engine.connect() as conn:
            rows = conn.execute(
                catalogue._recent(column), {"values": values, "before": 2**62, "recent": 3}
            )
            return {(r.seller_name or "", r.declaration_id) for r in rows}

    with engine.connect() as conn:
        by_sku = catalogue._product_history(
            conn, "sku", [("X-1", "Seller A"), ("X-1", "Seller B")], 2**62
        )
        by_gtin = catalogue._product_history(conn, "gtin", [(f.GTIN_OK, "")], 2**62)
    assert {(h.key.split(":")[1], h.declaration_id) for h in by_sku} == window("sku", ["X-1"])
    assert len([h for h in by_sku if h.key == "sku:Seller A:X-1"]) == 3
    assert {h.declaration_id for h in by_gtin} == {d for _, d in window("gtin", [f.GTIN_OK])}
    assert len(by_gtin) == 3
