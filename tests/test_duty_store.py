"""Duty in the pipeline and the store: assessed on intake, reassessed with
history, totals per filer and per day, printed by the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from clearway.clearance import DutyOptions, Stages
from clearway.duty import load_book
from clearway.duty.services import reassess
from clearway.errors import InputError
from clearway.store.duty import SqlAssessmentStore, duty_totals, read_assessment
from clearway.store.reading import get_declaration
from clearway.store.schema import duty_assessments
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway
from tests.test_duty import eu_parcel, uk_parcel

BOOK = load_book()


def ingest(engine: Engine, tmp_path: Path, *docs: dict, workers: int = 0) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    report = ingest_files(engine, [path], workers=workers, stages=Stages(duty=DutyOptions(BOOK)))
    assert report.rejected == 0


def test_intake_stores_the_assessment_with_lines(engine: Engine, tmp_path: Path) -> None:
    doc = eu_parcel()
    ingest(engine, tmp_path, doc)
    view = get_declaration(engine, doc["declaration_id"])
    assessment, history = read_assessment(engine, view.row_id)
    assert assessment.regime == "eu-flat-duty-2026"
    assert assessment.duty == 6.0
    assert [(line.rule, line.item_line) for line in assessment.lines] == [
        ("eu-flat-duty-per-line", 0),
        ("eu-flat-duty-per-line", 1),
        ("eu-handling-fee", 0),
        ("eu-handling-fee", 1),
        ("eu-import-vat", None),
    ]
    # The handling fee reads back from its lines, and is in the total.
    assert assessment.fee == 4.0
    assert assessment.total == pytest.approx(6.0 + assessment.vat + 4.0)
    assert [h["reason"] for h in history] == ["filed"]


def test_duplicates_do_not_reassess_and_amendments_do(engine: Engine, tmp_path: Path) -> None:
    doc = eu_parcel()
    ingest(engine, tmp_path, doc)
    ingest(engine, tmp_path, doc)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(duty_assessments)).scalar_one() == 1
    amended = f.clone(doc)
    amended["items"][1]["unit_value"] = "200.00"
    amended["totals"]["value"] = "220.00"
    ingest(engine, tmp_path, amended)
    view = get_declaration(engine, doc["declaration_id"])
    assert view.version == 2
    assessment, _ = read_assessment(engine, view.row_id)
    assert "eu-mfn-duty" in {line.rule for line in assessment.lines}


def test_undervaluation_found_later_updates_the_assessment(engine: Engine, tmp_path: Path) -> None:
    doc = uk_parcel("20.00", vat_collected="4.00")
    ingest(engine, tmp_path, doc)
    view = get_declaration(engine, doc["declaration_id"])
    before, _ = read_assessment(engine, view.row_id)
    assert before.shortfall == 0.0
    after = reassess(
        SqlAssessmentStore(engine), BOOK, view.row_id, {0: 180.0}, "undervaluation: listing price"
    )
    assert after.value == 180.0
    assert after.duty == pytest.approx(21.6)  # now over GBP 135: duty at 12%
    _, history = read_assessment(engine, view.row_id)
    assert [h["reason"] for h in history] == ["filed", "reassessed: undervaluation: listing price"]
    assert [h["current"] for h in history] == [False, True]
    with pytest.raises(InputError, match="item line"):
        reassess(SqlAssessmentStore(engine), BOOK, view.row_id, {7: 1.0}, "typo")


def test_totals_per_filer_and_day(engine: Engine, tmp_path: Path) -> None:
    docs = [eu_parcel("2026-11-02"), eu_parcel("2026-11-02"), eu_parcel("2026-11-03")]
    docs[2]["filer"] = {"id": "brk-x", "role": "broker"}
    ingest(engine, tmp_path, *docs, workers=0)
    by_day = {str(r["day"]): r for r in duty_totals(engine, "day")}
    assert by_day["2026-11-02"]["duty"] == 12.0
    assert by_day["2026-11-02"]["declarations"] == 2
    assert by_day["2026-11-03"]["duty"] == 6.0
    by_filer = {r["filer"]: r for r in duty_totals(engine, "filer")}
    assert by_filer["mkt-1"]["duty"] == 12.0
    assert by_filer["brk-x"]["duty"] == 6.0


def test_cli_prints_the_breakdown_and_reassesses(tmp_path: Path, sqlite_url: str) -> None:
    doc = eu_parcel()
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    assert clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url).returncode == 0
    shown = clearway("duty", doc["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert shown.returncode == 0, shown.stderr
    assert "eu-flat-duty-per-line" in shown.stdout
    assert "duty 6.00" in shown.stdout
    again = clearway(
        "duty-reassess",
        doc["declaration_id"],
        "--line",
        "1",
        "--unit-value",
        "140",
        "--reason",
        "undervalued shoes",
        cwd=tmp_path,
        url=sqlite_url,
    )
    assert again.returncode == 0, again.stderr
    assert "reassessed: undervalued shoes" in again.stdout
    totals = clearway("duty-totals", "--by", "filer", cwd=tmp_path, url=sqlite_url)
    assert "mkt-1" in totals.stdout
