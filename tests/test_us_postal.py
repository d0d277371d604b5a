"""US postal entries (2026): the postal informal entry view, remittance of
duty collected at origin per qualified party and month, and Entry Type 13
matching of manifest items to postal entries by S10 number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from clearway.declarations.models import Declaration
from clearway.declarations.validation import validate_record
from clearway.duty.postal import match_type13, remittance, remittance_due, us_postal_entry
from clearway.reference import s10_check_digit
from clearway.store.duty import SqlAssessmentStore, us_filings
from clearway.store.reading import get_declaration
from tests import factories as f
from tests.test_cli import clearway
from tests.test_duty_store import ingest


def s10(serial: int, country: str = "CN") -> str:
    digits = f"{serial:08d}"
    return f"LX{digits}{s10_check_digit(digits)}{country}"


def postal(serial: int, day: str = "2026-11-02", **kw: Any) -> dict[str, Any]:
    item = f.item(
        currency="USD",
        unit_value="50.00",
        hs_code="851830",
        national_line={"code": "8518302000", "nomenclature": "US-HTS", "version": "2026"},
    )
    return f.declaration(
        items=kw.pop("items", [item]),
        destination_country="US",
        filed_at=f"{day}T10:00:00Z",
        transport__mode="postal",
        transport__tracking_number=s10(serial),
        consignee__country="US",
        consignee__address__country="US",
        filer={"id": "post-cn", "role": "post"},
        **kw,
    )


def test_remittance_is_due_by_the_7th_of_the_following_month() -> None:
    assert remittance_due(date(2026, 11, 30)) == ("2026-11", date(2026, 12, 7))
    assert remittance_due(date(2026, 12, 1)) == ("2026-12", date(2027, 1, 7))


def test_postal_informal_entry_view(engine: Engine, tmp_path: Path) -> None:
    no_hts = f.item(currency="USD", unit_value="10.00", hs_code="851830", description="cable")
    doc = postal(
        1,
        items=[postal(0)["items"][0], no_hts],
        collected_by="qp-1",
        duty_payer="seller",
        duty_collected="9.00",
    )
    ingest(engine, tmp_path, doc)
    store = SqlAssessmentStore(engine)
    row = get_declaration(engine, doc["declaration_id"]).row_id
    from clearway.duty import load_book

    e = us_postal_entry(*store.declaration(row), load_book())
    assert [(i.line, i.hts, i.quantity, i.value) for i in e.items] == [
        (0, "8518302000", 1, 50.0),
        (1, None, 1, 10.0),
    ]
    # Sample origin rate for CN: 30% of the value (ad valorem); the specific
    # method ended on 2026-03-01 and falls back to it.
    assert e.duty_by_method == {"ad_valorem": 18.0, "specific": 18.0}
    assert (e.remittance_month, e.due_by) == ("2026-11", date(2026, 12, 7))
    assert (e.collected_by, e.duty_payer, e.duty_collected) == ("qp-1", "seller", 9.0)
    assert e.problems == ("item line 1: no 10-digit HTS number (needed per item)",)


def decl(doc: dict[str, Any]) -> Declaration:
    result = validate_record(orjson.dumps(doc))
    assert isinstance(result, Declaration), result
    return result


def test_remittance_totals_per_qualified_party_and_month() -> None:
    filings = [
        (decl(postal(1, collected_by="qp-1", duty_collected="15.00")), 15.0),
        (decl(postal(2, collected_by="qp-1", duty_collected="10.00")), 15.0),
        (decl(postal(3, collected_by="qp-2", duty_collected="15.00")), 15.0),
        (decl(postal(4)), 15.0),
    ]
    rows = remittance("2026-11", filings)
    assert [(r.party, r.declarations, r.collected, r.due, r.difference) for r in rows] == [
        ("(not collected at origin)", 1, 0.0, 15.0, -15.0),
        ("qp-1", 2, 25.0, 30.0, -5.0),
        ("qp-2", 1, 15.0, 15.0, 0.0),
    ]
    assert {r.due_by for r in rows} == {date(2026, 12, 7)}


def test_type13_matching_lists_the_unmatched_item() -> None:
    entries = [decl(postal(1)), decl(postal(2)), decl(postal(3))]
    manifest_items = [
        f.item(currency="USD", postal_tracking_number=s10(1)),
        f.item(currency="USD", postal_tracking_number=s10(2)),
        f.item(currency="USD", postal_tracking_number=s10(9)),
    ]
    manifest = decl(
        f.declaration(
            items=manifest_items,
            destination_country="US",
            consignee__country="US",
            consignee__address__country="US",
            entry_type="13",
        )
    )
    other = decl(postal(5))  # not a Type 13 manifest: its items are not matched
    result = match_type13([manifest, other], entries)
    ref = manifest.declaration_id
    assert result.matched == (
        (ref, 0, s10(1), entries[0].declaration_id),
        (ref, 1, s10(2), entries[1].declaration_id),
    )
    assert result.unmatched_items == ((ref, 2, s10(9)),)
    assert result.entries_without_manifest == ((entries[2].declaration_id, s10(3)),)


def test_store_reads_a_month_of_us_filings_with_their_duty(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, tmp_path, postal(1, "2026-11-02"), postal(2, "2026-12-02"))
    found = us_filings(engine, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert [(orjson.loads(doc)["transport"]["tracking_number"], duty) for doc, duty in found] == [
        (s10(1), 15.0)
    ]


def test_cli_entry_and_remittance(tmp_path: Path, sqlite_url: str) -> None:
    docs = [postal(1, collected_by="qp-1", duty_collected="10.00"), postal(2)]
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    assert clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url).returncode == 0
    shown = clearway(
        "entry", docs[0]["declaration_id"], "--format", "us-postal", cwd=tmp_path, url=sqlite_url
    )
    assert shown.returncode == 0, shown.stderr
    assert "8518302000" in shown.stdout
    assert "remittance month 2026-11, due by 2026-12-07" in shown.stdout
    out = clearway(
        "duty", "remittance", "--month", "2026-11", "--json", cwd=tmp_path, url=sqlite_url
    )
    assert out.returncode == 0, out.stderr
    rows = {r["party"]: r for r in orjson.loads(out.stdout)}
    assert (rows["qp-1"]["collected"], rows["qp-1"]["due"]) == (10.0, 15.0)
    assert rows["(not collected at origin)"]["declarations"] == 1
    bad = clearway(
        "entry", docs[0]["declaration_id"], "--format", "xml", cwd=tmp_path, url=sqlite_url
    )
    assert bad.returncode == 1
    assert "--format must be one of us-postal" in bad.stderr


@pytest.mark.parametrize("month", ["2026-13", "november"])
def test_remittance_month_must_be_a_month(month: str) -> None:
    from clearway.errors import InputError

    with pytest.raises(InputError, match="--month must be YYYY-MM"):
        remittance(month, [])
