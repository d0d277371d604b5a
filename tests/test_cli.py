"""The CLI run as users run it: a real process, real exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests import factories as f


def clearway(
    *args: str, cwd: Path, url: str, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    env.update(CLEARWAY_DATABASE_URL=url, CLEARWAY_WORKERS="0", COLUMNS="200")
    env.update(settings or {})
    return subprocess.run(
        [sys.executable, "-c", "from clearway.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ingest_all_accepted_exits_zero_then_duplicates(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration(), f.declaration()))
    first = clearway("ingest", str(path), "--json", cwd=tmp_path, url=sqlite_url)
    assert first.returncode == 0, first.stderr
    assert orjson.loads(first.stdout)["accepted"] == 2
    second = clearway("ingest", str(path), "--json", cwd=tmp_path, url=sqlite_url)
    assert orjson.loads(second.stdout)["duplicate"] == 2


def test_ingest_with_rejections_exits_two_and_names_the_field(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration(), f.declaration(destination_country="ZZ")))
    done = clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 2
    assert "destination_country" in done.stderr
    assert "'ZZ'" in done.stderr
    report = (tmp_path / "clearway-rejections.jsonl").read_bytes().splitlines()
    assert len(report) == 1


def test_ingest_missing_file_exits_one_with_a_message(tmp_path: Path, sqlite_url: str) -> None:
    done = clearway("ingest", str(tmp_path / "nope.jsonl"), cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 1
    assert "no such file" in done.stderr


def test_bad_database_url_exits_one(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration()))
    done = clearway("ingest", str(path), cwd=tmp_path, url="mysql://nope")
    assert done.returncode == 1
    assert "CLEARWAY_DATABASE_URL" in done.stderr


def test_csv_ingest_and_show(tmp_path: Path, sqlite_url: str) -> None:
    from tests.test_intake import COLUMNS, _csv, csv_rows

    doc = f.declaration(items=[f.item(), f.item(description="gift", gtin=None, hs_code=None)])
    path = tmp_path / "in.csv"
    path.write_text(_csv(csv_rows(doc), COLUMNS))
    done = clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 0, done.stderr
    shown = clearway("show", doc["declaration_id"], "--json", cwd=tmp_path, url=sqlite_url)
    data = orjson.loads(shown.stdout)
    assert len(data["declaration"]["items"]) == 2
    gaps = {g["field"] for g in data["data_quality"]["gaps"]}
    assert {"items[1].description", "items[1].hs_code"} <= gaps
    assert data["filing"]["complete"] is False
    text = clearway("show", doc["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert "vague goods description 'gift'" in text.stdout


def test_show_unknown_declaration(tmp_path: Path, sqlite_url: str) -> None:
    done = clearway("show", "NOPE", cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 1
    assert "not found" in done.stderr


def test_simulate_then_demo_on_default_sqlite(tmp_path: Path) -> None:
    out = tmp_path / "sim.jsonl"
    done = clearway(
        "simulate",
        "--days",
        "1",
        "--per-day",
        "50",
        "--seed",
        "1",
        "--out",
        str(out),
        "--truth",
        str(tmp_path / "t.csv"),
        cwd=tmp_path,
        url=f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert done.returncode == 0, done.stderr
    assert len(out.read_bytes().splitlines()) > 50
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    demo = subprocess.run(
        [
            sys.executable,
            "-c",
            "from clearway.cli import main; main()",
            "demo",
            "--days",
            "2",
            "--per-day",
            "100",
            "--no-serve",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "clearway.db").exists(), "demo uses ./clearway.db by default"
    assert "200" in demo.stdout
    assert "mean data quality" in demo.stdout
    assert re.search(r"\d+ submissions of \d+ to \d+ filings by \d+ filers", demo.stdout)


@pytest.mark.parametrize(
    "args",
    [["simulate", "--out", "x", "--start", "yesterday"], ["ingest", "x.jsonl", "--format", "xml"]],
)
def test_usage_errors_name_the_option(tmp_path: Path, sqlite_url: str, args: list[str]) -> None:
    (tmp_path / "x.jsonl").write_bytes(b"")
    done = clearway(*args, cwd=tmp_path, url=sqlite_url)
    assert done.returncode in (1, 2)
    assert ("--start" in done.stderr) or ("--format" in done.stderr)


def test_help_loads_no_command_dependencies() -> None:
    # `clearway --help` imports every command module: each imports what its
    # command needs when it runs, so none of these may load before.
    heavy = ["sqlalchemy", "numpy", "fastapi", "cryptography", "clearway.store", "clearway.risk"]
    code = (
        "import sys; from clearway.cli import app; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
