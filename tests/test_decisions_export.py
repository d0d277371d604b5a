"""``clearway decisions export``: the lane of every current declaration
version as CSV, by the day it was decided, read from the store in chunks."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select, update

from clearway.clearance import RiskOptions, Stages
from clearway.store.exports import DECISION_COLUMNS, read_decisions_export
from clearway.store.schema import declarations, risk_decisions
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway

PROHIBITED = (
    "Description uses terms watched for prohibited or controlled goods (rule prohibited-terms)"
)
MISSING = (
    "Product identifiers or other required data missing (request for information) "
    "(rule missing-identifiers)"
)

# When each stored version was decided (set after intake, which decides now).
DECIDED = {
    ("EXP-1", 1): datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    ("EXP-2", 1): datetime(2026, 11, 3, 23, 59, 59, tzinfo=UTC),
    ("EXP-3", 1): datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
    ("EXP-3", 2): datetime(2026, 11, 4, 0, 0, tzinfo=UTC),
}
ROWS = {
    "EXP-1": ["EXP-1", "mkt-1", "1", "green", "0.0", "", "", "2026-11-02T09:00:00+00:00"],
    "EXP-2": [
        "EXP-2",
        "mkt-1",
        "1",
        "red",
        "0.92",
        "rule",
        f"{PROHIBITED}; {MISSING}",
        "2026-11-03T23:59:59+00:00",
    ],
    "EXP-3": ["EXP-3", "brk-1", "2", "green", "0.0", "", "", "2026-11-04T00:00:00+00:00"],
}


def _ingest(engine: Engine, tmp_path: Path) -> None:
    """Three declarations, one of them red by rule, one amended once."""
    plain = f.declaration(declaration_id="EXP-1")
    watched = f.declaration(
        declaration_id="EXP-2",
        items=[f.item(description="pill press for tablets", gtin=None, sku=None)],
        # Without a merchant id: accepted only when filed before 2026-11-01.
        filed_at="2026-10-31T10:00:00Z",
    )
    amended = f.declaration(
        declaration_id="EXP-3", filer={"id": "brk-1", "role": "broker", "name": "ClearFast"}
    )
    second = f.clone(amended)
    second["items"][0]["description"] = "wireless earbuds, white"
    stages = Stages(risk=RiskOptions())
    for docs in ((plain, watched, amended), (second,)):
        path = tmp_path / "in.jsonl"
        path.write_bytes(f.jsonl(*docs))
        assert ingest_files(engine, [path], stages=stages).rejected == 0
    with engine.begin() as conn:
        rows = conn.execute(select(declarations.c.id, declarations.c.ref, declarations.c.version))
        for row_id, ref, version in rows.all():
            conn.execute(
                update(risk_decisions)
                .where(risk_decisions.c.declaration_id == row_id)
                .values(decided_at=DECIDED[(ref, version)])
            )


def _export(engine: Engine, tmp_path: Path, *window: str) -> tuple[list[list[str]], dict]:
    out = tmp_path / "decisions.csv"
    url = engine.url.render_as_string(hide_password=False)
    done = clearway("decisions", "export", "--out", str(out), *window, cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    with out.open(newline="", encoding="utf-8") as stream:
        header, *rows = csv.reader(stream)
    assert tuple(header) == DECISION_COLUMNS
    assert not list(tmp_path.glob("*.part"))
    return rows, orjson.loads(done.stdout.splitlines()[-1])


def test_current_versions_in_decision_order(engine: Engine, tmp_path: Path) -> None:
    _ingest(engine, tmp_path)
    rows, summary = _export(engine, tmp_path)
    assert rows == [ROWS["EXP-1"], ROWS["EXP-2"], ROWS["EXP-3"]]
    assert summary == {"decisions": 3, "out": str(tmp_path / "decisions.csv")}


@pytest.mark.parametrize(
    ("window", "refs"),
    [
        (["--since", "2026-11-03"], ["EXP-2", "EXP-3"]),
        (["--until", "2026-11-03"], ["EXP-1", "EXP-2"]),
        (["--since", "2026-11-03", "--until", "2026-11-03"], ["EXP-2"]),
        (["--since", "2026-11-05"], []),
    ],
)
def test_since_and_until_are_decided_days_both_included(
    engine: Engine, tmp_path: Path, window: list[str], refs: list[str]
) -> None:
    _ingest(engine, tmp_path)
    rows, summary = _export(engine, tmp_path, *window)
    assert rows == [ROWS[ref] for ref in refs]
    assert summary["decisions"] == len(refs)


def test_rows_come_in_chunks(engine: Engine, tmp_path: Path) -> None:
    _ingest(engine, tmp_path)
    chunks = list(read_decisions_export(engine, chunk=2))
    assert [len(chunk) for chunk in chunks] == [2, 1]
    assert chunks[0][1]["reasons"] == [PROHIBITED, MISSING]
    assert chunks[1][0]["decided_at"] == DECIDED[("EXP-3", 2)]
    assert list(read_decisions_export(engine, date(2026, 11, 5))) == []


def test_bad_window_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    out = tmp_path / "x.csv"
    backwards = clearway(
        "decisions", "export", "--out", str(out), "--since", "2026-11-04", "--until", "2026-11-03",
        cwd=tmp_path, url=sqlite_url,
    )  # fmt: skip
    assert backwards.returncode == 1
    assert "--since must not be after --until" in backwards.stderr
    not_a_day = clearway(
        "decisions", "export", "--out", str(out), "--since", "yesterday",
        cwd=tmp_path, url=sqlite_url,
    )  # fmt: skip
    assert not_a_day.returncode == 2
    assert "--since" in not_a_day.stderr
    assert not out.exists()
