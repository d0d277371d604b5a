from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, func, select

from clearway.store.reading import get_declaration
from clearway.store.schema import declarations
from clearway.wiring import ingest_files
from tests import factories as f


def test_mixed_file_keeps_good_records_and_reports_bad_ones(engine: Engine, tmp_path: Path) -> None:
    good = [f.declaration() for _ in range(5)]
    bad_gtin = f.declaration(items=[f.item(gtin="4006381333932")])
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        f.jsonl(good[0], good[1]) + b'{"declaration_id": \n' + f.jsonl(bad_gtin, *good[2:])
    )
    report_path = tmp_path / "rejections.jsonl"
    report = ingest_files(engine, [path], batch_size=2, rejections_path=report_path)
    assert (report.accepted, report.rejected) == (5, 2)
    lines = [orjson.loads(line) for line in report_path.read_bytes().splitlines()]
    assert [r["position"] for r in lines] == [3, 4]
    assert lines[0]["errors"][0]["code"] == "json_invalid"
    assert lines[1]["declaration_id"] == bad_gtin["declaration_id"]
    assert lines[1]["errors"] == [
        {
            "code": "gtin",
            "field": "items[0].gtin",
            "message": ("must be a valid GTIN: it has a wrong check digit. Got '4006381333932'."),
        }
    ]
    for doc in good:
        assert get_declaration(engine, doc["declaration_id"]).version == 1


def test_no_report_file_when_nothing_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration()))
    report = ingest_files(engine, [path], rejections_path=tmp_path / "r.jsonl")
    assert report.rejections_path is None
    assert not (tmp_path / "r.jsonl").exists()


def test_worker_processes_give_the_same_result_as_in_process(
    tmp_path: Path, sqlite_url: str
) -> None:
    from clearway.simulate import SimulationConfig, write_simulation
    from clearway.store import open_engine

    traffic = tmp_path / "sim.jsonl"
    write_simulation(SimulationConfig(days=1, per_day=600, seed=5), traffic)
    results = []
    for workers, name in ((0, "a.db"), (2, "b.db")):
        engine = open_engine(f"sqlite:///{tmp_path / name}")
        report = ingest_files(engine, [traffic], batch_size=97, workers=workers)
        with engine.connect() as conn:
            hashes = conn.execute(
                select(declarations.c.ref, declarations.c.content_hash).order_by(declarations.c.ref)
            ).all()
        results.append((report.as_dict()["accepted"], report.rejected, hashes))
    assert results[0] == results[1]
    assert results[0][1] == 0


def test_resubmitting_a_whole_file_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*(f.declaration() for _ in range(20))))
    first = ingest_files(engine, [path], batch_size=7)
    second = ingest_files(engine, [path], batch_size=7)
    assert first.accepted == 20
    assert (second.accepted, second.duplicate) == (0, 20)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(declarations)).scalar_one() == 20
