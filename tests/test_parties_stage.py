"""Partner-agency routing, and the parties stage in the pipeline: screening
hits and routings stored, shown, and committed to the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from clearway.clearance import Stages
from clearway.ledger import load_or_create_keys
from clearway.parties import route
from clearway.store.ledger_reading import event_fields
from clearway.store.parties import read_party_checks
from clearway.store.reading import get_declaration
from clearway.store.schema import ledger_entries
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway
from tests.test_screening import SDN, needs_sdn

TOY, SUPPLEMENT, DRONE, TSHIRT = "950300", "210690", "880621", "610910"


def agencies(destination: str, *codes: str) -> dict[str, tuple[int, ...]]:
    return {r.agency: r.item_lines for r in route(destination, list(enumerate(codes)))}


def test_routing_of_a_toy_a_supplement_and_a_drone() -> None:
    assert agencies("US", TOY, SUPPLEMENT, DRONE, TSHIRT) == {
        "CPSC": (0,),
        "FDA": (1,),
        "FCC": (2,),
    }
    eu = agencies("DE", TOY, SUPPLEMENT, DRONE)
    assert eu == {
        "Market surveillance (toys)": (0,),
        "Border control post (food)": (1,),
        "Market surveillance (radio)": (2,),
    }
    assert agencies("GB", TOY) == {"OPSS": (0,)}
    assert agencies("US", TSHIRT) == {}
    assert agencies("JP", TOY) == {}, "no table for this destination"
    assert agencies("US", None) == {}  # type: ignore[arg-type]


def test_two_items_calling_one_agency_are_listed_together() -> None:
    (only,) = route("US", [(0, "950300"), (1, "950490")])
    assert (only.agency, only.item_lines, only.hs_codes) == ("CPSC", (0, 1), ("950300", "950490"))


def _doc(seller: str) -> dict:
    return f.declaration(
        items=[
            f.item(description="plastic building blocks", hs_code=TOY, gtin=None),
            f.item(description="mini drone", hs_code=DRONE, gtin=None),
        ],
        destination_country="US",
        consignee__country="US",
        consignee__address__country="US",
        seller={"name": seller, "country": "CU"},
    )


@needs_sdn
def test_pipeline_screens_routes_stores_and_logs(engine: Engine, tmp_path: Path) -> None:
    keys = load_or_create_keys(tmp_path / "k", "customs.example/log")
    flagged, clean = _doc("Banco Nacional de Cuba"), _doc("Shenzhen Bright Toys Co Ltd")
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(flagged, clean))
    ingest_files(engine, [path], stages=Stages(ledger=keys, screening_list=str(SDN)))
    hit = read_party_checks(engine, get_declaration(engine, flagged["declaration_id"]).row_id)
    assert [(h["role"], h["listed_name"]) for h in hit["screening"]] == [
        ("seller", "BANCO NACIONAL DE CUBA")
    ]
    assert {r["agency"] for r in hit["routing"]} == {"CPSC", "FCC"}
    ok = read_party_checks(engine, get_declaration(engine, clean["declaration_id"]).row_id)
    assert ok["screening"] == []
    with engine.connect() as conn:
        checked = [
            e
            for (e,) in conn.execute(
                select(ledger_entries.c.event_id).where(
                    ledger_entries.c.event_type == "declaration.checked"
                )
            )
        ]
    assert len(checked) == 2
    _, _, fields = event_fields(engine, next(e for e in checked if flagged["declaration_id"] in e))
    assert fields["screening"][0]["entry_id"] == "306"


@needs_sdn
def test_show_prints_hits_and_routing(tmp_path: Path, sqlite_url: str) -> None:
    doc = _doc("Banco Nacional de Cuba")
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    done = clearway(
        "ingest",
        str(path),
        cwd=tmp_path,
        url=sqlite_url,
        settings={"CLEARWAY_SCREENING_SDN_FILE": str(SDN)},
    )
    assert done.returncode == 0, done.stderr
    shown = clearway("show", doc["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert "screening hit seller: BANCO NACIONAL DE CUBA" in shown.stdout
    assert "routed to CPSC" in shown.stdout
    import orjson

    data = orjson.loads(
        clearway("show", doc["declaration_id"], "--json", cwd=tmp_path, url=sqlite_url).stdout
    )
    assert data["screening"][0]["listed_name"] == "BANCO NACIONAL DE CUBA"
    assert {p["role"] for p in data["parties"]} == {"seller", "consignee"}


def test_routing_table_errors_name_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from clearway.parties import routing

    routing._table.cache_clear()
    monkeypatch.setattr(
        routing.yaml,
        "safe_load",
        lambda _text: {"jurisdictions": {}, "agencies": [{"agency": "X"}]},
    )
    try:
        with pytest.raises(Exception, match=r"agencies\.yaml: agencies\[0\]\.jurisdiction"):
            routing.route("US", [(0, TOY)])
    finally:
        routing._table.cache_clear()
