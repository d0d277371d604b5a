"""Re-scoring and learning over stored history on this machine: the lanes
intake gave, from the store and from its Parquet export; a day's result
depends on the arrival order its rows carry, not on the order they are
handed over; a re-run day replaces its result."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from clearway.history.parquet import parquet_days, read_parquet_day
from clearway.history.rescoring import DAY_ROWS, RESCORED, HistoryConfig, rescore_day
from clearway.history.runs import History, labelled_history_frame, rescored_of
from clearway.store import open_engine
from clearway.store.history import StoreHistory
from clearway.store.schema import declarations, risk_decisions
from tests.test_cli import clearway

DAYS = 3
PER_DAY = 400
ORDER = [("day", "ascending"), ("filer_id", "ascending"), ("ref", "ascending")]


def build_history(folder: Path, url: str) -> None:
    """Simulated days ingested through every stage, outcomes recorded for
    every declaration (the labels of the simulation)."""
    simulated = ("--days", str(DAYS), "--per-day", str(PER_DAY), "--truth", "s.csv")
    run = [
        ("simulate", "--out", "s.jsonl", *simulated),
        ("ingest", "s.jsonl"),
        ("outcomes", "record", "s.csv"),
    ]
    for args in run:
        done = clearway(*args, cwd=folder, url=url)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("history")
    url = f"sqlite:///{folder / 'clearway.db'}"
    build_history(folder, url)
    return folder, url


def stored_rescored(url: str) -> pa.Table:
    return rescored_of(History(store=StoreHistory(url))).sort_by(ORDER)


def intake_lanes(url: str) -> dict[tuple[str, str], str]:
    engine = open_engine(url)
    d, r = declarations.c, risk_decisions.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.filer_id, d.ref, r.lane)
            .join(risk_decisions, r.declaration_id == d.id)
            .where(d.current)
        ).all()
    engine.dispose()
    return {(row.filer_id, row.ref): row.lane for row in rows}


def parquet_rescored(root: Path) -> pa.Table:
    tables = [read_parquet_day(root, day, RESCORED) for day in parquet_days(root)]
    return pa.concat_tables(tables).sort_by(ORDER)


def last_json(done: object) -> dict[str, object]:
    out = getattr(done, "stdout", "")
    result: dict[str, object] = orjson.loads(out.strip().splitlines()[-1])
    return result


def test_rescore_store_parquet_and_export_agree(history: tuple[Path, str]) -> None:
    folder, url = history
    into_store = clearway("history", "rescore", cwd=folder, url=url)
    assert into_store.returncode == 0, into_store.stderr
    report = last_json(into_store)
    assert report["engine"] == "local"
    assert report["days"] == DAYS
    assert report["declarations"] == DAYS * PER_DAY
    lanes = report["lanes"]
    assert isinstance(lanes, dict)
    assert sum(lanes.values()) == DAYS * PER_DAY
    # The same sequencer as intake: the lanes intake gave, declaration by declaration.
    intake = intake_lanes(url)
    assert lanes == dict(sorted(Counter(intake.values()).items()))
    assert {
        (r["filer_id"], r["ref"]): r["lane"] for r in stored_rescored(url).to_pylist()
    } == intake

    exported = clearway("history", "export", str(folder / "hist"), cwd=folder, url=url)
    assert exported.returncode == 0, exported.stderr
    assert last_json(exported) == {"days": DAYS, "declarations": DAYS * PER_DAY}
    from_parquet = clearway(
        "history", "rescore", "--history", str(folder / "hist"), "--out", str(folder / "out"),
        cwd=folder, url=url,
    )  # fmt: skip
    assert from_parquet.returncode == 0, from_parquet.stderr
    assert last_json(from_parquet)["lanes"] == lanes

    stored = stored_rescored(url)
    written = parquet_rescored(folder / "out")
    assert stored.num_rows == DAYS * PER_DAY
    assert stored.equals(written)
    # Reasons are in words; the red lane says why it is red.
    red = [row for row in stored.to_pylist() if row["lane"] == "red"]
    assert all(row["selected_by"] in {"rule", "score", "exploration"} for row in red)
    assert all(row["reasons"] for row in red)


def test_a_rerun_day_replaces_its_result(history: tuple[Path, str]) -> None:
    folder, url = history
    assert clearway("history", "rescore", cwd=folder, url=url).returncode == 0
    before = stored_rescored(url)
    last = max(before.column("day").to_pylist()).isoformat()
    again = clearway("history", "rescore", "--since", last, cwd=folder, url=url)
    assert again.returncode == 0, again.stderr
    assert last_json(again)["days"] == 1
    assert last_json(again)["declarations"] == PER_DAY
    assert stored_rescored(url).equals(before)


@settings(max_examples=8, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_days_result_does_not_depend_on_row_order(rng: random.Random) -> None:
    rows = _first_day()
    shuffled = list(range(rows.num_rows))
    rng.shuffle(shuffled)
    config = HistoryConfig(as_of=date(2026, 11, 24))
    assert rescore_day(rows.take(shuffled), config).equals(rescore_day(rows, config))


_DAY: list[pa.Table] = []


def _first_day() -> pa.Table:
    if not _DAY:
        from clearway.simulate import SimulationConfig
        from clearway.simulate.traffic import simulate

        documents = [
            orjson.dumps(filing).decode()
            for filing, truth in simulate(SimulationConfig(days=1, per_day=300))
            if truth is not None
        ]
        n = len(documents)
        _DAY.append(
            pa.table(
                {
                    "day": [date(2026, 11, 2)] * n,
                    "seq": list(range(1, n + 1)),
                    "received_at": [datetime(2026, 11, 2, 21, tzinfo=UTC)] * n,
                    "document": documents,
                    "outcome": [None] * n,
                },
                schema=DAY_ROWS,
            )
        )
    return _DAY[0]


def test_training_rows_are_the_same_from_store_and_parquet(history: tuple[Path, str]) -> None:
    folder, url = history
    export = folder / "train-export"
    assert clearway("history", "export", str(export), cwd=folder, url=url).returncode == 0
    config = HistoryConfig(as_of=date(2026, 11, 24))
    stored = labelled_history_frame(History(store=StoreHistory(url)), config)
    exported = labelled_history_frame(History(parquet=export), config)
    assert len(stored.labels) == DAYS * PER_DAY  # every declaration has an outcome
    assert (stored.labels == exported.labels).all()
    assert (stored.dates == exported.dates).all()
    assert stored.frame.keys() == exported.frame.keys()
    for name, values in stored.frame.items():
        assert (values == exported.frame[name]).all(), name
    # Trained from the export, the model is the one trained from the store.
    a = clearway("risk", "train", "--output", "a.json", cwd=folder, url=url)
    b = clearway(
        "risk", "train", "--output", "b.json", "--history", str(export), cwd=folder, url=url
    )
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    first, second = last_json(a), last_json(b)
    assert first["recent_metrics"] == second["recent_metrics"]
    assert first["rows"] == second["rows"]


def test_bad_history_options_name_the_option(history: tuple[Path, str]) -> None:
    folder, url = history
    bad_day = clearway("history", "rescore", "--since", "2026-13-01", cwd=folder, url=url)
    assert bad_day.returncode == 2
    assert "--since" in bad_day.stderr
    assert "must be a date YYYY-MM-DD. Got '2026-13-01'" in bad_day.stderr
    missing = clearway(
        "history", "rescore", "--history", str(folder / "nowhere"), cwd=folder, url=url
    )
    assert missing.returncode == 1
    assert "nowhere: no such folder" in missing.stderr
    # Nothing was written by the refused runs: an empty range writes nothing.
    empty = clearway("history", "rescore", "--since", "2030-01-01", cwd=folder, url=url)
    assert empty.returncode == 0, empty.stderr
    assert last_json(empty)["declarations"] == 0
