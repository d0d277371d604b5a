"""Outcomes, rule backtests and learning from outcomes, through the CLI."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.test_cli import clearway


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store with two simulated days ingested and their outcomes recorded."""
    folder = tmp_path_factory.mktemp("history")
    url = f"sqlite:///{folder / 'clearway.db'}"
    run = [
        ("simulate", "--out", "s.jsonl", "--days", "2", "--per-day", "1500", "--truth", "s.csv"),
        ("ingest", "s.jsonl"),
        ("outcomes", "record", "s.csv"),
    ]
    for args in run:
        done = clearway(*args, cwd=folder, url=url)
        assert done.returncode == 0, done.stderr
    return folder, url


def test_outcomes_record_names_bad_rows(history: tuple[Path, str]) -> None:
    folder, url = history
    path = folder / "bad.csv"
    path.write_text("declaration_id,outcome,reason\nNOPE,seized,x\nMKT000000001,burnt,x\n")
    done = clearway("outcomes", "record", str(path), cwd=folder, url=url)
    assert done.returncode == 2
    assert "declaration 'NOPE' is not stored" in done.stdout
    assert "must be one of seized, duty_corrected, data_corrected, cleared" in done.stdout
    assert orjson.loads(done.stdout.strip().splitlines()[-1]) == {"recorded": 0, "skipped": 2}


def test_backtest_reports_hits_share_and_precision(history: tuple[Path, str]) -> None:
    folder, url = history
    rules = folder / "rules.yaml"
    rules.write_text(
        """
version: 4
rules:
  - {id: misclassified, owner: me, valid_from: 2030-01-01, when: {feature: misclassification, op: ">=", value: 0.5}, weight: 0.5, reason: x}
  - {id: everything, owner: me, valid_from: 2025-01-01, when: {feature: dq_score, op: ">=", value: 0}, weight: 0.1, reason: x}
"""  # noqa: E501
    )
    done = clearway("rules", "backtest", str(rules), cwd=folder, url=url)
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert result["declarations"] == 3000
    assert result["version"] == 4
    found = {r["rule"]: r for r in result["rules"]}
    # A draft valid only from 2030 is still backtested.
    assert found["misclassified"]["hits"] > 0
    assert found["misclassified"]["precision"] > 0.8
    assert found["everything"]["hits"] == 3000
    assert found["everything"]["share"] == 1.0
    # Precision of "everything" is the base rate of faults: low.
    assert found["everything"]["precision"] < 0.3


def test_learning_from_outcomes_feeds_intake(history: tuple[Path, str]) -> None:
    folder, url = history
    done = clearway("risk", "train", "--output", "model.json", cwd=folder, url=url)
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert summary["replaced"] is True
    assert summary["recent_metrics"]["auc"] > 0.8
    # Retraining on the same outcomes does not beat the model in use.
    again = clearway("risk", "train", "--output", "model.json", cwd=folder, url=url)
    assert orjson.loads(again.stdout.strip().splitlines()[-1])["replaced"] is False
    more = clearway(
        "simulate",
        "--out",
        "next.jsonl",
        "--days",
        "1",
        "--per-day",
        "300",
        "--seed",
        "3",
        "--start",
        "2026-11-05",
        cwd=folder,
        url=url,
    )
    assert more.returncode == 0, more.stderr
    ingested = clearway(
        "ingest",
        "next.jsonl",
        cwd=folder,
        url=url,
        settings={"CLEARWAY_RISK_MODEL_FILE": str(folder / "model.json")},
    )
    assert ingested.returncode == 0, ingested.stderr
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as conn:
        models = conn.execute(
            text("select count(*) from risk_decisions where model != ''")
        ).scalar_one()
    assert models == 300
