"""Recording inspection outcomes (what risk training and rule backtests
learn from); the rows themselves are :mod:`clearway.risk.outcomes`'s."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from clearway.errors import ErrorDetail
from clearway.risk.outcomes import OUTCOMES, OutcomeRow
from clearway.store.bulk import bulk_insert
from clearway.store.engine import writing
from clearway.store.rollup import outcome_changes
from clearway.store.schema import declarations, inspection_outcomes

__all__ = ["OUTCOMES", "OutcomeRow", "record_outcomes"]

_CHUNK = 500


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
