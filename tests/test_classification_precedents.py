"""Issue 18: precedents (confirmed classifications) as nearest-example
evidence, listing attributes, abstention and the confirm/correct action."""

from __future__ import annotations

import copy
import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from clearway.api import create_app
from clearway.classification import HSClassifier
from clearway.classification.evaluation import precision_at_coverage
from clearway.classification.listing import category_levels, listing_text
from clearway.classification.loading import (
    append_precedents,
    builtin_classifier,
    classifier_for,
    read_precedents,
)
from clearway.classification.misclassification import check_classification, check_houses
from clearway.classification.neighbours import evidence_lines
from clearway.declarations.batch import prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.errors import InputError
from clearway.settings import Settings
from clearway.store.participants import add_participant
from clearway.store.schema import hs_confirmations, ledger_entries
from tests import factories as f
from tests.test_cli import clearway

SIMILAR = Path(__file__).parent / "assets" / "classification" / "similar_listings.csv"


@pytest.fixture(scope="module")
def model() -> HSClassifier:
    return builtin_classifier()


def _split() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """One listing of each product confirmed (20% of the set), four kept
    back (80%): the products' other listings, written differently."""
    with SIMILAR.open() as stream:
        rows = list(csv.DictReader(stream))
    seen: set[str] = set()
    confirmed, rest = [], []
    for row in rows:
        (rest if row["product"] in seen else confirmed).append(row)
        seen.add(row["product"])
    return confirmed, rest


def _heading_accuracy(model: HSClassifier, rows: list[dict[str, str]]) -> float:
    top = model.suggest([r["description"] for r in rows], k=1).codes[:, 0]
    return float(np.mean([c[:4] == r["hs"][:4] for c, r in zip(top, rows, strict=True)]))


def test_confirming_a_fifth_of_the_listings_lifts_the_rest_by_ten_points(
    model: HSClassifier,
) -> None:
    confirmed, rest = _split()
    assert (len(confirmed), len(rest)) == (12, 48)
    before = _heading_accuracy(model, rest)
    temperatures = (model.temperature_heading_, model.temperature_subheading_)
    learned = copy.copy(model).add_precedents(
        [r["description"] for r in confirmed], [r["hs"] for r in confirmed]
    )
    after = _heading_accuracy(learned, rest)
    assert after >= before + 0.10, (before, after)
    # No retraining: the calibration and the original model are untouched.
    assert (learned.temperature_heading_, learned.temperature_subheading_) == temperatures
    assert _heading_accuracy(model, rest) == before
    assert int((learned.example_sources_ == 3).sum()) == 12
    assert int((model.example_sources_ == 3).sum()) == 0


def test_precedents_are_shown_as_evidence(model: HSClassifier) -> None:
    learned = copy.copy(model).add_precedents(
        ["TWS ENC earbuds wireless", "ENC TWS earbuds bluetooth"], ["851830", "851830"]
    )
    (found,) = learned.evidence(["TWS ENC earbuds with charging case"])
    assert found["precedents"] == [{"hs": "851830", "count": 2, "text": "TWS ENC earbuds wireless"}]
    # The closest example shown is a confirmation; phrase-table examples
    # sharing more words may follow it before the second confirmation.
    assert (found["examples"][0]["source"], found["examples"][0]["hs"]) == (
        "precedent",
        "851830",
    )
    assert evidence_lines(found, 0) == [
        "like 2 confirmed filings of \u201cTWS ENC earbuds wireless\u201d under 8518.30"
    ]
    (none,) = model.evidence(["TWS ENC earbuds with charging case"])
    assert none["precedents"] == []
    assert all(e["source"] != "precedent" for e in none["examples"])


def test_add_precedents_refuses_codes_outside_the_nomenclature(model: HSClassifier) -> None:
    with pytest.raises(InputError, match="row 1: hs must be an HS 2022"):
        copy.copy(model).add_precedents(["earbuds", "toy"], ["851830", "999999"])


def test_precedents_survive_save_and_load(model: HSClassifier, tmp_path: Path) -> None:
    learned = copy.copy(model).add_precedents(["zorblax gadget thing"], ["950300"])
    learned.save(tmp_path / "m.npz")
    loaded = HSClassifier.load(tmp_path / "m.npz")
    assert loaded.metadata()["n_precedents"] == 1
    assert loaded.suggest(["zorblax gadget"]).codes[0, 0] == "950300"
    assert learned.suggest(["zorblax gadget"]).codes[0, 0] == "950300"


def test_the_stage_learns_lines_appended_to_the_precedents_file(tmp_path: Path) -> None:
    precedents = tmp_path / "precedents.jsonl"
    model_file = str(tmp_path / "none.npz")
    assert classifier_for(model_file, str(precedents)) is builtin_classifier()
    append_precedents(precedents, [("zorblax gadget thing", "950300")])
    first = classifier_for(model_file, str(precedents))
    assert first.suggest(["zorblax gadget"]).codes[0, 0] == "950300"
    assert classifier_for(model_file, str(precedents)) is first
    # A torn last line (a writer mid-append) waits; bad lines are skipped.
    with precedents.open("ab") as stream:
        stream.write(b'{"description": "not json\n[1, 2]\n{"description": "x", "hs": "99"}\n')
        stream.write(b'{"description": "quuxle widget", "hs": "4202')
    # Nothing valid and complete was added: the same model serves on.
    assert classifier_for(model_file, str(precedents)) is first
    with precedents.open("ab") as stream:
        stream.write(b'92"}\n')
    texts, codes, offset = read_precedents(precedents)
    assert (texts, codes, offset) == (
        ["zorblax gadget thing", "quuxle widget"],
        ["950300", "420292"],
        precedents.stat().st_size,
    )
    again = classifier_for(model_file, str(precedents))
    assert again.suggest(["quuxle widget"]).codes[0, 0] == "420292"


def test_an_unsure_suggestion_never_flags(model: HSClassifier) -> None:
    texts, declared = ["wireless earbuds bluetooth 5.3"], ["610910"]
    (sure,) = check_classification(model, texts, declared, unsure_below=0.0)
    assert sure.flagged
    assert not sure.unsure
    best = sure.suggestions[0]["heading_confidence"]
    assert isinstance(best, float)
    (unsure,) = check_classification(model, texts, declared, unsure_below=best + 0.01)
    assert unsure.unsure
    assert (unsure.flagged, unsure.score) == (False, 0.0)
    assert unsure.suggested_hs == sure.suggested_hs


def test_precision_at_coverage_takes_the_most_confident_first() -> None:
    confidence = np.array([0.9, 0.2, 0.8, 0.4])
    correct = np.array([True, False, True, False])
    assert precision_at_coverage(confidence, correct, (0.5, 0.75, 1.0)) == [
        {"coverage": 0.5, "threshold": 0.8, "precision": 1.0},
        {"coverage": 0.75, "threshold": 0.4, "precision": 0.6667},
        {"coverage": 1.0, "threshold": 0.2, "precision": 0.5},
    ]


def test_listing_text_uses_the_category_material_and_drops_the_brand() -> None:
    assert category_levels("Shoes > Women's Shoes / Boots") == ["Shoes", "Women's Shoes", "Boots"]
    assert category_levels(None) == []
    assert listing_text("Zoomy snow boots", "Shoes > Boots", "rubber", "zoomy") == (
        "snow boots ; rubber ; Boots ; Boots"
    )
    assert listing_text("Zoomy", None, None, "zoomy") == "Zoomy"
    assert listing_text("plain text") == "plain text"


@given(
    st.text(min_size=1, max_size=80),
    st.none() | st.text(max_size=80),
    st.none() | st.text(max_size=30),
    st.none() | st.text(max_size=30),
)
def test_listing_text_never_fails(
    description: str, path: str | None, material: str | None, brand: str | None
) -> None:
    text = listing_text(description, path, material, brand)
    assert isinstance(text, str)
    assert text


def test_the_category_path_reaches_the_stage(model: HSClassifier) -> None:
    item = f.item(description="Ultra Zest 3000 Pro", hs_code=None, gtin=None, sku="UZ-3000")
    plain = f.declaration(items=[item], declaration_id="P-1")
    listed = f.declaration(
        items=[{**item, "category_path": "Toys & Hobbies > Dolls", "material": "plastic"}],
        declaration_id="P-2",
    )
    batch = prepare_batch(
        [RawRecord("test", n, orjson.dumps(d)) for n, d in enumerate((plain, listed), 1)]
    )
    assert batch.houses[0].listing == ()
    assert batch.houses[1].listing == (
        {"category_path": "Toys & Hobbies > Dolls", "material": "plastic"},
    )
    (without,), (with_path,) = check_houses(model, batch.houses)
    assert with_path.suggested_hs[:4] == "9503"
    assert without.suggested_hs[:4] != "9503"


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    precedents = tmp_path / "precedents.jsonl"
    settings = Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        ledger_key_file=str(tmp_path / "ledger.key"),
        classifier_model_file=str(tmp_path / "none.npz"),
        classifier_precedents_file=str(precedents),
        risk_model_file=str(tmp_path / "none.json"),
        decision_wait_ms=60_000,
    )
    keys = {
        name: add_participant(engine, name, role, filer_id=filer).key
        for name, role, filer in [
            ("officer", "customs_officer", None),
            ("shop", "marketplace", "mkt-a"),
        ]
    }
    client = TestClient(create_app(settings, engine=engine))
    doc = f.declaration(
        items=[
            f.item(description="TWS ENC earbuds wireless", hs_code="851830"),
            f.item(description="zorblax gadget", hs_code=None, gtin=None, sku="SKU-2"),
        ],
        declaration_id="C-1",
        filer={"id": "mkt-a", "role": "marketplace", "name": "mkt-a"},
        totals={"value": "25.00", "currency": "EUR"},
    )
    done = client.post(
        "/api/declarations",
        content=orjson.dumps(doc),
        headers={"Authorization": f"Bearer {keys['shop']}"},
    )
    assert done.status_code == 200, done.text
    yield client, keys, precedents
    client.app.state.context.service.stop()  # type: ignore[attr-defined]


def test_officers_confirm_and_correct_item_codes(
    api: tuple[TestClient, dict[str, str], Path], engine: Engine
) -> None:
    client, keys, precedents = api
    path = "/api/declarations/C-1/items/{line}/classification"
    officer = {"Authorization": f"Bearer {keys['officer']}"}
    denied = client.post(
        path.format(line=0),
        json={"action": "confirm"},
        headers={"Authorization": f"Bearer {keys['shop']}"},
    )
    assert denied.status_code == 403
    confirmed = client.post(path.format(line=0), json={"action": "confirm"}, headers=officer)
    assert confirmed.status_code == 201, confirmed.text
    assert {k: confirmed.json()[k] for k in ("action", "declared_hs", "hs", "officer")} == {
        "action": "confirm",
        "declared_hs": "851830",
        "hs": "851830",
        "officer": "officer",
    }
    corrected = client.post(
        path.format(line=1),
        json={"action": "correct", "hs": "9503000090", "note": "a toy"},
        headers=officer,
    )
    assert corrected.status_code == 201, corrected.text
    for body, line, message in [
        ({"action": "confirm"}, 1, ("action", "nothing_declared", "'confirm'")),
        ({"action": "correct"}, 1, ("hs", "hs_required", "Got None")),
        ({"action": "correct", "hs": "999999"}, 1, ("hs", "hs_code", "'999999'")),
        ({"action": "confirm", "hs": "950300"}, 0, ("hs", "hs_is_declared", "'950300'")),
        ({"action": "confirm"}, 7, ("item_line", "item_line_range", "Got 7")),
    ]:
        refused = client.post(path.format(line=line), json=body, headers=officer)
        assert refused.status_code == 422, refused.text
        assert refused.json()["ok"] is False
        (error,) = refused.json()["errors"]
        field, rule, value = message
        assert (error["field"], error["code"]) == (field, rule)
        assert error["message"].endswith(value)
    wrong = client.post(path.format(line=0), json={"action": "approve"}, headers=officer)
    assert wrong.status_code == 422
    with engine.connect() as conn:
        rows = conn.execute(select(hs_confirmations).order_by(hs_confirmations.c.id)).all()
        events = conn.execute(
            select(ledger_entries).where(ledger_entries.c.event_type == "item.hs_confirmed")
        ).all()
    assert [(r.item_line, r.action, r.hs) for r in rows] == [
        (0, "confirm", "851830"),
        (1, "correct", "9503000090"),
    ]
    assert len(events) == 2
    assert read_precedents(precedents)[:2] == (
        ["TWS ENC earbuds wireless", "zorblax gadget"],
        ["851830", "9503000090"],
    )


def test_cli_classify_prints_evidence_and_rebuilds_precedents(
    tmp_path: Path, sqlite_url: str
) -> None:
    files = {
        "CLEARWAY_CLASSIFIER_MODEL_FILE": str(tmp_path / "none.npz"),
        "CLEARWAY_CLASSIFIER_PRECEDENTS_FILE": str(tmp_path / "p.jsonl"),
    }
    run = {"cwd": tmp_path, "url": sqlite_url, "settings": files}
    append_precedents(tmp_path / "p.jsonl", [("zorblax gadget thing", "950300")] * 2)
    result = clearway("classify", "zorblax gadget", "--json", **run)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    (row,) = orjson.loads(result.stdout)
    assert row["suggestions"][0]["hs"] == "950300"
    assert row["evidence"]["precedents"] == [
        {"hs": "950300", "count": 2, "text": "zorblax gadget thing"}
    ]
    shown = clearway("classify", "zorblax gadget", **run)  # type: ignore[arg-type]
    assert "like 2 confirmed filings of \u201czorblax gadget thing\u201d under 9503.00" in (
        shown.stdout
    )
    rebuilt = clearway("classifier", "precedents", **run)  # type: ignore[arg-type]
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert read_precedents(tmp_path / "p.jsonl")[0] == []


def test_the_workspace_shows_evidence_and_records_a_correction(
    api: tuple[TestClient, dict[str, str], Path], engine: Engine
) -> None:
    import re
    from datetime import UTC, datetime

    from clearway.web.accounts import add_user

    client, _, precedents = api
    # Signed in through the form, the user added on this test's engine (an
    # engine opened here and not disposed would leak PostgreSQL connections).
    password = add_user(engine, "hsofficer", "HS Officer", "customs_officer", datetime.now(UTC))
    form = client.get("/signin").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    signed = client.post(
        "/signin",
        data={"username": "hsofficer", "password": password, "csrf": token},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    queue = client.get("/queue").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', queue).group(1)  # type: ignore[union-attr]
    page = client.get("/declarations/C-1?filer=mkt-a")
    assert page.status_code == 200
    assert 'action="/declarations/C-1/items/1/classification?filer=mkt-a"' in page.text
    assert "shares words with \u201c" in page.text
    refused = client.post(
        "/declarations/C-1/items/1/classification?filer=mkt-a",
        data={"action": "correct", "hs": "950300", "csrf": "forged"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    done = client.post(
        "/declarations/C-1/items/1/classification?filer=mkt-a",
        data={"action": "correct", "hs": "950300", "note": "toy", "csrf": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "item+1%3A+correct+950300+recorded" in done.headers["location"]
    page = client.get("/declarations/C-1?filer=mkt-a")
    assert "correct 950300 by hsofficer" in page.text
    assert "like 1 confirmed filing of \u201czorblax gadget\u201d under 9503.00" in page.text
    assert read_precedents(precedents)[:2] == (["zorblax gadget"], ["950300"])
    with engine.connect() as conn:
        assert [r.officer for r in conn.execute(select(hs_confirmations))] == ["hsofficer"]


def test_the_confirmation_endpoint_is_scoped_and_refuses_bad_input(
    api: tuple[TestClient, dict[str, str], Path], engine: Engine
) -> None:
    client, keys, precedents = api
    officer = {"Authorization": f"Bearer {keys['officer']}"}
    other = add_participant(engine, "shop-b", "marketplace", filer_id="mkt-b").key
    doc = f.declaration(
        items=[f.item(description="TWS ENC earbuds wireless", hs_code="851830")],
        declaration_id="C-1",
        filer={"id": "mkt-b", "role": "marketplace", "name": "mkt-b"},
    )
    filed = client.post(
        "/api/declarations",
        content=orjson.dumps(doc),
        headers={"Authorization": f"Bearer {other}"},
    )
    assert filed.status_code == 200, filed.text
    path = "/api/declarations/C-1/items/0/classification"
    # Two filers used C-1: the officer must name one, in the one error shape.
    ambiguous = client.post(path, json={"action": "confirm"}, headers=officer)
    assert ambiguous.status_code == 400, ambiguous.text
    assert [(e["field"], e["code"]) for e in ambiguous.json()["errors"]] == [
        ("filer", "ambiguous_declaration")
    ]
    named = client.post(f"{path}?filer=mkt-b", json={"action": "confirm"}, headers=officer)
    assert named.status_code == 201, named.text
    missing = client.post(
        "/api/declarations/NOPE/items/0/classification", json={"action": "confirm"}, headers=officer
    )
    assert missing.status_code == 404
    assert missing.json()["ok"] is False
    nul = client.post(
        f"{path}?filer=mkt-a", json={"action": "confirm", "note": "a\x00b"}, headers=officer
    )
    assert nul.status_code == 422
    assert nul.json()["ok"] is False
    assert any("note" in e["field"] for e in nul.json()["errors"])
    too_long = client.post(
        f"{path}?filer=mkt-a", json={"action": "confirm", "note": "x" * 513}, headers=officer
    )
    assert too_long.status_code == 422
    # Only the named filer's declaration was confirmed; nothing else stored.
    with engine.connect() as conn:
        rows = conn.execute(select(hs_confirmations)).all()
    assert [(r.item_line, r.action, r.hs) for r in rows] == [(0, "confirm", "851830")]
    assert read_precedents(precedents)[:2] == (["TWS ENC earbuds wireless"], ["851830"])


def test_csv_rows_carry_the_listing_attributes(tmp_path: Path) -> None:
    from clearway.declarations import Declaration, validate_record
    from tests.test_intake import COLUMNS, _csv, csv_rows, records

    doc = f.declaration(
        items=[{**f.item(), "category_path": "Toys & Hobbies > Dolls", "material": "plastic"}]
    )
    path = tmp_path / "in.csv"
    path.write_text(_csv(csv_rows(doc), COLUMNS))
    (record,) = records(path)
    decl = validate_record(record.payload)
    assert isinstance(decl, Declaration)
    assert (decl.items[0].category_path, decl.items[0].material) == (
        "Toys & Hobbies > Dolls",
        "plastic",
    )
