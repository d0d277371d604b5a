from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select

from clearway.declarations.batch import prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.errors import NotFound
from clearway.store import write_batch
from clearway.store.reading import get_declaration, get_master, summary
from clearway.store.schema import declaration_items, declarations
from tests import factories as f


def raw(*docs: dict) -> list[RawRecord]:
    return [RawRecord("t.jsonl", n, orjson.dumps(d)) for n, d in enumerate(docs, start=1)]


def store(engine: Engine, *docs: dict):
    return write_batch(engine, prepare_batch(raw(*docs)))


def count(engine: Engine, table=declarations) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_first_filing_is_accepted_and_stored_with_items(engine: Engine) -> None:
    doc = f.declaration(items=[f.item(), f.item(description="cotton t-shirt", hs_code="610910")])
    result = store(engine, doc)
    assert (result.accepted, result.amended, result.duplicate) == (1, 0, 0)
    view = get_declaration(engine, doc["declaration_id"])
    assert view.version == 1
    assert [i["description"] for i in view.items] == [
        "wireless earbuds bluetooth 5.3",
        "cotton t-shirt",
    ]
    assert view.document["items"][0]["unit_value"] == "12.50"
    assert view.dq_score == 1.0


def test_resubmitting_identical_content_is_a_no_op(engine: Engine) -> None:
    doc = f.declaration()
    store(engine, doc)
    again = store(engine, f.clone(doc))
    assert (again.accepted, again.amended, again.duplicate) == (0, 0, 1)
    assert count(engine) == 1


def test_same_content_in_another_key_order_is_still_a_duplicate(engine: Engine) -> None:
    doc = f.declaration()
    store(engine, doc)
    reordered = dict(reversed(list(f.clone(doc).items())))
    assert store(engine, reordered).duplicate == 1


def test_changed_content_is_an_amendment_and_history_is_kept(engine: Engine) -> None:
    doc = f.declaration()
    store(engine, doc)
    changed = f.clone(doc)
    changed["consignee"]["name"] = "Anna Schmidt-Meyer"
    result = store(engine, changed)
    assert (result.accepted, result.amended) == (0, 1)
    view = get_declaration(engine, doc["declaration_id"])
    assert view.version == 2
    assert view.document["consignee"]["name"] == "Anna Schmidt-Meyer"
    assert [v["version"] for v in view.versions] == [1, 2]
    assert count(engine) == 2
    with engine.connect() as conn:
        current = conn.execute(select(func.count()).where(declarations.c.current)).scalar_one()
    assert current == 1


def test_same_id_from_another_filer_is_another_declaration(engine: Engine) -> None:
    doc = f.declaration()
    other = f.clone(doc)
    other["filer"] = {"id": "car-skyline", "role": "carrier"}
    result = store(engine, doc, other)
    assert result.accepted == 2
    with pytest.raises(Exception, match="several filers"):
        get_declaration(engine, doc["declaration_id"])
    assert get_declaration(engine, doc["declaration_id"], "car-skyline").filer_id == "car-skyline"


def test_amendment_inside_one_batch_keeps_order(engine: Engine) -> None:
    doc = f.declaration()
    changed = f.clone(doc)
    changed["transport"]["arrival_office"] = "DEMUC"
    result = store(engine, doc, f.clone(doc), changed)
    assert (result.accepted, result.duplicate, result.amended) == (1, 1, 1)
    assert (
        get_declaration(engine, doc["declaration_id"]).document["transport"]["arrival_office"]
        == "DEMUC"
    )


def test_rejected_declaration_leaves_nothing_behind(engine: Engine) -> None:
    good = f.declaration()
    bad = f.declaration(items=[f.item(hs_code="999999"), f.item()])
    batch = prepare_batch(raw(good, bad))
    assert len(batch.rejections) == 1
    write_batch(engine, batch)
    assert count(engine) == 1
    assert count(engine, declaration_items) == 1
    with pytest.raises(NotFound):
        get_declaration(engine, bad["declaration_id"])


def test_multiple_filing_links_houses_and_masters(engine: Engine) -> None:
    h1, h2, h3 = (f.declaration() for _ in range(3))
    refs = [h["transport"]["tracking_number"] for h in (h1, h2)]
    store(engine, h1, h2, h3)
    view = get_declaration(engine, h1["declaration_id"])
    assert not view.link.complete
    assert "master filing 176-00000001" in view.link.missing[0]

    store(engine, f.master([*refs, "TRK-NOT-FILED"]))
    assert get_declaration(engine, h1["declaration_id"]).link.complete
    h3_view = get_declaration(engine, h3["declaration_id"])
    assert not h3_view.link.complete
    assert h3["transport"]["tracking_number"] in h3_view.link.missing[0]
    master = get_master(engine, "176-00000001")
    assert sorted(master.houses_filed) == sorted(refs)
    assert master.houses_missing == ["TRK-NOT-FILED"]

    facts = summary(engine)
    assert facts["declarations"] == 3
    assert facts["linked_to_master"] == 2
    assert facts["missing_master_part"] == 1


def test_master_amendment_relinks(engine: Engine) -> None:
    house = f.declaration()
    store(engine, house, f.master(["OTHER"]))
    assert not get_declaration(engine, house["declaration_id"]).link.complete
    result = store(engine, f.master(["OTHER", house["transport"]["tracking_number"]]))
    assert result.amended == 1
    assert get_declaration(engine, house["declaration_id"]).link.complete


def test_reopening_an_existing_sqlite_store_keeps_data(tmp_path: Path) -> None:
    from clearway.store import open_engine

    url = f"sqlite:///{tmp_path / 'x.db'}"
    store(open_engine(url), f.declaration())
    assert count(open_engine(url)) == 1
