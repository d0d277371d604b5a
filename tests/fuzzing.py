"""Fuzz targets for the parts that take outside input: the JSON, JSON Lines
and CSV intake (read, then validate and shape), and the targeting rules
language (load, then evaluate against real features). The contract under
test: bad input never crashes, it is rejected with a clear error (a
rejection record, or a ClearwayError naming the field).

Run with atheris (coverage-guided), as `tests/test_fuzz.py` does in a
bounded form, or longer:

    .venv/bin/python tests/fuzzing.py intake_jsonl -runs=250000 -max_len=16384 fuzz-corpus/jsonl

A target's name is the first argument; the rest go to libFuzzer. Seeds
(valid filings from the simulator, the built-in rules) are written to the
corpus folder when it is empty.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

TARGETS = ("intake_json", "intake_jsonl", "intake_csv", "rules")
_SCRATCH = Path(tempfile.mkdtemp(prefix="clearway-fuzz-"))


def _intake(fmt: str, suffix: str) -> Callable[[bytes], None]:
    from clearway.declarations.batch import prepare_batch
    from clearway.declarations.intake import IntakeLimits, read_records

    path = _SCRATCH / f"input{suffix}"
    limits = IntakeLimits(max_record_bytes=65_536, max_json_document_bytes=1_048_576)

    def run(data: bytes) -> None:
        path.write_bytes(data)
        records = list(read_records([path], limits, fmt))
        batch = prepare_batch(records)
        for house in batch.houses:
            assert house.document, "an accepted filing keeps its document"
        for rejection in batch.rejections:
            assert rejection.errors, "a rejection says why"

    return run


def _rules() -> Callable[[bytes], None]:
    from clearway.declarations.batch import prepare_batch
    from clearway.declarations.intake import RawRecord
    from clearway.errors import ClearwayError
    from clearway.risk.frame import risk_frame
    from clearway.risk.rules import evaluate_rules, load_rules

    houses = prepare_batch(
        [RawRecord("seed", n, orjson.dumps(doc)) for n, doc in enumerate(_seed_filings(), 1)]
    ).houses
    frame = risk_frame(houses)

    def run(data: bytes) -> None:
        try:
            rules = load_rules(text=data.decode("utf-8", errors="replace"))
        except ClearwayError as exc:
            if not exc.message:
                raise AssertionError("a refused rules file must say why") from exc
            return
        active, hits = evaluate_rules(rules, frame, None)
        assert hits.shape == (len(houses), len(active))

    return run


def _seed_filings() -> list[dict[str, Any]]:
    from clearway.simulate import SimulationConfig, write_simulation

    out = _SCRATCH / "seed.jsonl"
    write_simulation(SimulationConfig(days=1, per_day=12, seed=3), out)
    return [orjson.loads(line) for line in out.read_bytes().splitlines() if line.strip()]


def seeds(target: str) -> list[bytes]:
    """Valid inputs to start mutating from."""
    filings = _seed_filings()
    if target == "intake_json":
        return [orjson.dumps(filings[:3]), orjson.dumps(filings[0])]
    if target == "intake_jsonl":
        return [b"\n".join(orjson.dumps(f) for f in filings[:4])]
    if target == "intake_csv":
        from clearway.declarations.intake.csv_rows import HOUSE_COLUMNS

        stream = io.StringIO()
        writer = csv.writer(stream)
        writer.writerow(HOUSE_COLUMNS)
        return [stream.getvalue().encode()]
    return [resources.files("clearway.risk").joinpath("data/rules.yaml").read_bytes()]


def target(name: str) -> Callable[[bytes], None]:
    if name == "rules":
        return _rules()
    fmt = name.removeprefix("intake_")
    return _intake(fmt, {"json": ".json", "jsonl": ".jsonl", "csv": ".csv"}[fmt])


def main() -> None:
    import atheris

    name, args = sys.argv[1], sys.argv[:1] + sys.argv[2:]
    if name not in TARGETS:
        raise SystemExit(f"target must be one of {', '.join(TARGETS)}. Got {name!r}")
    # Coverage for clearway's own code: imported for the first time here.
    with atheris.instrument_imports(include=["clearway"]):
        run = target(name)
    corpus = [a for a in args[1:] if not a.startswith("-")]
    for folder in corpus:
        Path(folder).mkdir(parents=True, exist_ok=True)
        if not any(Path(folder).iterdir()):
            for n, seed in enumerate(seeds(name)):
                (Path(folder) / f"seed-{n}").write_bytes(seed)
    atheris.Setup(args, run)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
