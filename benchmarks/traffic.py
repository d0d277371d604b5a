"""Simulated traffic for the benchmarks, written once and kept in benchmarks/out/."""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from clearway.simulate import SimulationConfig, write_simulation  # noqa: E402

OUT = HERE / "out"


def simulated(n: int, seed: int, prefix: str = "traffic") -> Path:
    """A JSON Lines file of about ``n`` house declarations (100,000 a day)."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{prefix}-{n}.jsonl"
    if not path.exists():
        days = max(1, n // 100_000)
        started = time.perf_counter()
        write_simulation(SimulationConfig(days=days, per_day=n // days, seed=seed), path)
        print(f"simulated {n:,} declarations in {time.perf_counter() - started:.0f} s")
    return path
