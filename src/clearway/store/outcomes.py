"""Recording inspection outcomes, and reading the labelled history that
risk training and rule backtests learn from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

from clearway.errors import ErrorDetail, InputError
from clearway.store.bulk import bulk_insert
from clearway.store.engine import writing
from clearway.store.rollup import outcome_changes
from clearway.store.schema import declarations, inspection_outcomes

__all__ = [
    "OUTCOMES",
    "OutcomeRow",
    "labelled_history",
    "read_outcome_file",
    "record_outcomes",
]

# What an intervention can find; every one but "cleared" means the filing
# was at fault.
OUTCOMES = ("seized", "duty_corrected", "data_corrected", "cleared")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One outcome to record, for the current version of a declaration."""

    declaration_id: str
    outcome: str
    reason: str
    filer_id: str | None = None


def record_outcomes(
    engine: Engine, rows: Iterable[OutcomeRow], recorded_at: datetime
) -> tuple[int, list[ErrorDetail]]:
    """Record outcomes (a later outcome replaces an earlier one); rows naming
    an unknown outcome or declaration are reported, the rest recorded."""
    problems: list[ErrorDetail] = []
    wanted: list[OutcomeRow] = []
    for number, row in enumerate(rows, start=1):
        if row.outcome not in OUTCOMES:
            problems.append(
                ErrorDetail(
                    f"row {number}: outcome",
                    "outcome",
                    f"must be one of {', '.join(OUTCOMES)}. Got {row.outcome!r}",
                )
            )
            continue
        wanted.append(row)
    recorded = 0
    with writing(engine).begin() as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found: dict[str, list[tuple[str, int]]] = {}
            for ref, filer, row_id in conn.execute(
                select(declarations.c.ref, declarations.c.filer_id, declarations.c.id).where(
                    declarations.c.ref.in_([r.declaration_id for r in chunk]),
                    declarations.c.current,
                )
            ):
                found.setdefault(ref, []).append((filer, row_id))
            inserts: list[dict[str, Any]] = []
            for row in chunk:
                matches = [
                    row_id
                    for filer, row_id in found.get(row.declaration_id, [])
                    if row.filer_id in (None, filer)
                ]
                if len(matches) != 1:
                    why = "is not stored" if not matches else "is ambiguous: give filer_id"
                    problems.append(
                        ErrorDetail(
                            "declaration_id",
                            "unknown_declaration",
                            f"declaration {row.declaration_id!r} {why}",
                        )
                    )
                    continue
                inserts.append(
                    {
                        "declaration_id": matches[0],
                        "outcome": row.outcome,
                        "reason": row.reason[:512],
                        "recorded_at": recorded_at,
                    }
                )
            ids = [r["declaration_id"] for r in inserts]
            before = dict(
                conn.execute(
                    select(
                        inspection_outcomes.c.declaration_id, inspection_outcomes.c.outcome
                    ).where(inspection_outcomes.c.declaration_id.in_(ids))
                ).all()
            )
            if ids:
                conn.execute(
                    delete(inspection_outcomes).where(inspection_outcomes.c.declaration_id.in_(ids))
                )
            bulk_insert(conn, inspection_outcomes, inserts)
            # A row named twice in one chunk keeps its last outcome.
            outcome_changes(
                conn,
                {
                    r["declaration_id"]: (before.get(r["declaration_id"]), r["outcome"])
                    for r in inserts
                },
            )
            recorded += len(inserts)
    return recorded, problems


def labelled_history(engine: Engine) -> Iterator[list[tuple[str, str | None]]]:
    """Current declarations a filing day at a time, each day in the order
    re-scoring uses: (document, outcome or None where no intervention
    recorded one)."""
    from clearway.history.rescoring import day_batch
    from clearway.store.history import history_days, read_day

    for day in history_days(engine):
        rows = read_day(engine, day)
        if rows.num_rows:
            yield day_batch(rows)


def read_outcome_file(path: Path) -> list[OutcomeRow]:
    """Rows of an outcomes CSV: ``declaration_id,outcome[,reason][,filer_id]``,
    or the simulator's labels (``declaration_id,...,violations``)."""
    import csv

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
