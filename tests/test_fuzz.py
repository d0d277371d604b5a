"""Bounded fuzzing in the suite: each target of tests/fuzzing.py runs a few
thousand coverage-guided inputs with atheris (libFuzzer) from valid seeds.
A crash is any exception other than a clear rejection; libFuzzer then
exits non-zero and writes the input. Longer runs: see tests/fuzzing.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzzing import TARGETS

HARNESS = Path(__file__).with_name("fuzzing.py")
RUNS = 3000
FLAGS = (f"-runs={RUNS}", "-max_len=16384", "-seed=7")


@pytest.mark.parametrize("target", TARGETS)
def test_no_crash_on_fuzzed_input(target: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    done = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            target,
            *FLAGS,
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    crashes = list(tmp_path.glob("crash-*"))
    assert done.returncode == 0, done.stderr[-4000:]
    assert not crashes, [c.read_bytes()[:500] for c in crashes]
    assert f"Done {RUNS} runs" in done.stderr
    assert any(corpus.iterdir()), "the seeds and what the fuzzer kept"
