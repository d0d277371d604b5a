"""The sequencer's state and replays: history re-scoring reproduces intake's
lanes; amendments never lower a lane an officer set; a later part of a
split order raises the lane of an earlier one; the state survives a new
process (it is rebuilt from the store)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from sqlalchemy import Engine, select

from clearway.clearance import ClassificationOptions, RiskOptions, Stages
from clearway.declarations.intake import RawRecord
from clearway.history.rescoring import HistoryConfig, rescore_day
from clearway.history.runs import History, read_history_day, rescore_history, rescored_of
from clearway.ledger import load_or_create_keys
from clearway.simulate import SimulationConfig, simulate
from clearway.store import open_engine
from clearway.store.decisions import decide
from clearway.store.history import StoreHistory
from clearway.store.reading import get_declaration
from clearway.store.schema import declarations, risk_decisions
from clearway.wiring import service_for
from tests import factories as f
from tests.conftest import SHARED_DATA

SDN = SHARED_DATA / "sanctions" / "sdn.csv"


def _lanes(engine: Engine) -> dict[tuple[str, str], tuple[str, str]]:
    d, r = declarations.c, risk_decisions.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.filer_id, d.ref, r.lane, r.selected_by)
            .join(risk_decisions, r.declaration_id == d.id)
            .where(d.current)
        ).all()
    return {(row.filer_id, row.ref): (row.lane, row.selected_by) for row in rows}


def _stages(folder: Path, screening: bool = True, capacity: int | None = None) -> Stages:
    keys = load_or_create_keys(folder / "ledger.key", "test.example/log")
    return Stages(
        ledger=keys,
        screening_list=str(SDN) if screening and SDN.is_file() else None,
        classification=ClassificationOptions(str(folder / "none.npz")),
        risk=RiskOptions(model_file=str(folder / "none.json"), daily_capacity=capacity),
    )


@pytest.mark.slow
def test_history_rescore_reproduces_intakes_lanes(tmp_path: Path) -> None:
    """Three days filed in lists as they arrive; re-scoring the stored
    history (whole range, and one day alone with its context) gives every
    declaration the lane, and the reasons' rules, intake gave it."""
    url = f"sqlite:///{tmp_path / 'clearway.db'}"
    engine = open_engine(url)
    stages = _stages(tmp_path)
    service = service_for(engine, stages)
    config = SimulationConfig(days=3, per_day=800, seed=3, restricted_list=SDN)
    filings = sorted((doc for doc, _ in simulate(config)), key=lambda doc: doc["filed_at"])
    for start in range(0, len(filings), 50):
        part = [
            RawRecord("t", n, orjson.dumps(doc))
            for n, doc in enumerate(filings[start : start + 50])
        ]
        service.ingest_records(part)
    intake = _lanes(engine)
    assert Counter(lane for lane, _ in intake.values())["red"] > 0
    history = History(store=StoreHistory(url))
    replay = HistoryConfig(
        as_of=datetime.now(UTC).date(),
        screening_list=stages.screening_list,
        model_file=str(tmp_path / "none.json"),
        classifier_model_file=str(tmp_path / "none.npz"),
        exploration_key=stages.ledger.secret if stages.ledger else None,
    )
    report = rescore_history(history, history, replay)
    assert report.declarations == len(intake)
    rescored = rescored_of(history)
    replayed = {
        (row["filer_id"], row["ref"]): (row["lane"], row["selected_by"])
        for row in rescored.to_pylist()
    }
    differ = {k: (intake[k], replayed[k]) for k in intake if intake[k] != replayed[k]}
    assert differ == {}
    # One day alone, from its rows and its context's, as a Spark task does.
    day = date(2026, 11, 3)
    rows = pa.concat_tables([read_history_day(history, date(2026, 11, d)) for d in (2, 3, 4)])
    alone = rescore_day(rows, replay, day)
    assert {
        (row["filer_id"], row["ref"]): (row["lane"], row["selected_by"])
        for row in alone.to_pylist()
    } == {
        k: v
        for k, v in replayed.items()
        if k in {(r["filer_id"], r["ref"]) for r in alone.to_pylist()}
    }
    assert alone.num_rows == sum(1 for row in rescored.to_pylist() if row["day"] == day)
    engine.dispose()


def _submit(service: Any, *docs: dict[str, Any]) -> list[Any]:
    records = [RawRecord("t", n, orjson.dumps(doc)) for n, doc in enumerate(docs)]
    return service.ingest_records(records, keep_decided=True).decided


def test_an_officers_inspect_survives_an_amendment(engine: Engine, tmp_path: Path) -> None:
    service = service_for(engine, _stages(tmp_path, screening=False))
    doc = f.declaration(declaration_id="AM-1")
    [first] = _submit(service, doc)
    assert first.lane == "green"
    view = get_declaration(engine, "AM-1", doc["filer"]["id"])
    decide(
        engine, view, "inspect", "officer-1", "x-ray shows more than declared", datetime.now(UTC)
    )
    # The filer corrects the consignee's street: nothing the rules care about.
    consignee = {
        **doc["consignee"],
        "address": {**doc["consignee"]["address"], "street": "2 Main St"},
    }
    amended = {**doc, "consignee": consignee}
    [second] = _submit(service, amended)
    assert (second.status, second.version, second.lane, second.selected_by) == (
        "amended",
        2,
        "red",
        "officer",
    )
    assert any("never lowers it" in reason for reason in second.reasons)


def _split_part(ref: str, hour: int) -> dict[str, Any]:
    """One parcel of a split order: EUR 95, under the EUR 150 threshold."""
    return f.declaration(
        declaration_id=ref,
        filed_at=f"2026-11-03T{hour:02d}:00:00+00:00",
        items=[f.item(unit_value="95.00", quantity=1, currency="EUR")],
        totals={"value": "95.00", "currency": "EUR"},
    )


def test_a_later_part_of_a_split_order_raises_the_earlier_lane(
    engine: Engine, tmp_path: Path
) -> None:
    """Two parcels from one seller to one consignee on one day, each under
    the EUR 150 threshold, together above it: the first is green when it
    arrives alone; the second makes both yellow, the first by a raise (the
    office has no red capacity today: yellow is what the rule asks)."""
    service = service_for(engine, _stages(tmp_path, screening=False, capacity=0))

    [first] = _submit(service, _split_part("SPLIT-1", 8))
    assert first.lane == "green"
    # A new process: the state is rebuilt from the store.
    later = service_for(engine, _stages(tmp_path, screening=False, capacity=0))
    [second] = _submit(later, _split_part("SPLIT-2", 14))
    assert second.lane == "yellow"
    assert any("split-shipment" in reason for reason in second.reasons)
    lanes = _lanes(engine)
    filer = _split_part("SPLIT-1", 8)["filer"]["id"]
    assert lanes[(filer, "SPLIT-1")] == ("yellow", "rule")
    with engine.connect() as conn:
        reasons = conn.execute(
            select(risk_decisions.c.reasons)
            .join(declarations, declarations.c.id == risk_decisions.c.declaration_id)
            .where(declarations.c.ref == "SPLIT-1")
        ).scalar_one()
    assert any(r.startswith("lane raised from green to yellow") for r in orjson.loads(reasons))


def test_rewriting_the_goods_after_a_decision_is_a_signal(engine: Engine, tmp_path: Path) -> None:
    """Each amendment that changes what the goods are, after a lane was
    decided, counts; at two the declaration is held for documents."""
    service = service_for(engine, _stages(tmp_path, screening=False, capacity=0))
    doc = f.declaration(declaration_id="DESC-1")
    lanes = []
    for n, text in enumerate(["wireless earbuds", "bluetooth headphones", "earphones, wired"]):
        version = {**doc, "items": [{**doc["items"][0], "description": text}]}
        [decided] = _submit(service, version)
        lanes.append((decided.version, decided.lane))
        if n == 2:
            assert any("(rule amended-descriptions)" in r for r in decided.reasons)
    assert lanes == [(1, "green"), (2, "green"), (3, "yellow")]


def test_a_released_declaration_is_never_raised(engine: Engine, tmp_path: Path) -> None:
    """An officer released the first part of what turns out to be a split
    order before the second arrived: the release stands."""
    service = service_for(engine, _stages(tmp_path, screening=False, capacity=0))

    _submit(service, _split_part("REL-1", 8))
    view = get_declaration(engine, "REL-1", _split_part("REL-1", 8)["filer"]["id"])
    decide(engine, view, "release", "officer-1", "goods seen at the counter", datetime.now(UTC))
    [second] = _submit(service, _split_part("REL-2", 14))
    assert second.lane == "yellow"
    assert _lanes(engine)[(view.filer_id, "REL-1")] == ("green", "officer")


def test_copy_of_a_store_is_a_new_generation(tmp_path: Path) -> None:
    """Another process writing ticks makes a sequencer reload its state."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    first = service_for(engine, _stages(tmp_path, screening=False))
    second = service_for(engine, _stages(tmp_path, screening=False))
    _submit(first, f.declaration(declaration_id="G-1"))
    _submit(second, f.declaration(declaration_id="G-2"))
    [again] = _submit(first, f.declaration(declaration_id="G-3"))
    assert again.lane == "green"
    assert first.sequencer.state.current.keys() >= {
        (f.declaration()["filer"]["id"], ref) for ref in ("G-1", "G-2", "G-3")
    }
    shutil.rmtree(tmp_path / "none", ignore_errors=True)
    engine.dispose()
