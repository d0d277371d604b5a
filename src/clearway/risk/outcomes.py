"""Inspection outcomes as data: what an intervention can find, one outcome
to record, and the outcome files officers (or the simulator's labels)
supply."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from clearway.errors import InputError

__all__ = ["OUTCOMES", "OutcomeRow", "read_outcome_file"]

# What an intervention can find; every one but "cleared" means the filing
# was at fault.
OUTCOMES = ("seized", "duty_corrected", "data_corrected", "cleared")


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One outcome to record, for the current version of a declaration."""

    declaration_id: str
    outcome: str
    reason: str
    filer_id: str | None = None


def read_outcome_file(path: Path) -> list[OutcomeRow]:
    """Rows of an outcomes CSV: ``declaration_id,outcome[,reason][,filer_id]``,
    or the simulator's labels (``declaration_id,...,violations``)."""
    from clearway.simulate import truth_outcome

    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        columns = set(reader.fieldnames or [])
        if "declaration_id" not in columns or not columns & {"outcome", "violations"}:
            raise InputError(
                f"{path}: the header must name declaration_id and outcome (or violations). "
                f"Got {sorted(columns)}"
            )
        rows = []
        for row in reader:
            if "outcome" in columns:
                outcome, reason = row["outcome"].strip(), (row.get("reason") or "").strip()
            else:
                found = [v for v in (row.get("violations") or "").split(";") if v]
                outcome, reason = truth_outcome(found)
            rows.append(
                OutcomeRow(row["declaration_id"].strip(), outcome, reason, row.get("filer_id"))
            )
    return rows
