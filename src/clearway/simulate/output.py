"""Writing a simulation to JSON Lines and its truth file to CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import orjson

from clearway.simulate.traffic import SimulationConfig, simulate

__all__ = ["TRUTH_COLUMNS", "truth_outcome", "write_simulation"]

TRUTH_COLUMNS = ("declaration_id", "filer_id", "day", "violations", "detail")


def write_simulation(
    config: SimulationConfig,
    out: Path,
    truth: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Write filings to ``out`` and labels to ``truth``; return (houses, masters)."""
    houses = masters = 0
    with (
        out.open("wb") as stream,
        truth.open("w", newline="") if truth else open("/dev/null", "w") as truth_stream,
    ):
        writer = csv.writer(truth_stream)
        writer.writerow(TRUTH_COLUMNS)
        for filing, row in simulate(config):
            stream.write(orjson.dumps(filing))
            stream.write(b"\n")
            if row is None:
                masters += 1
                continue
            houses += 1
            writer.writerow(
                (row.declaration_id, row.filer_id, row.day, ";".join(row.violations), row.detail)
            )
            if on_progress and houses % 10_000 == 0:
                on_progress(10_000)
    return houses, masters


# What an inspection of a simulated declaration finds, by its labelled
# violations: goods taken for the gravest, corrections for the rest.
_SEIZED = {"prohibited_goods", "counterfeit", "restricted_party"}
_DUTY = {"undervaluation", "misclassification", "split_shipment"}


def truth_outcome(violations: list[str]) -> tuple[str, str]:
    """The inspection outcome (see ``clearway.store.outcomes.OUTCOMES``) and
    its reason for a simulated declaration with these violations."""
    found = set(violations)
    reason = ", ".join(sorted(found)) or "nothing found"
    if found & _SEIZED:
        return "seized", reason
    if found & _DUTY:
        return "duty_corrected", reason
    if found:
        return "data_corrected", reason
    return "cleared", reason
