"""Duty on stored declarations: assess, reassess after a value correction,
and read back. The edge between the store and the pure assessment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from clearway.duty.assess import Assessment, assess
from clearway.duty.inputs import duty_input
from clearway.duty.regimes import DutyBook
from clearway.errors import InputError
from clearway.ledger.keys import LedgerKeys
from clearway.store.duty import read_assessment, write_assessments
from clearway.store.engine import writing
from clearway.store.ledger import record_batch
from clearway.store.schema import declaration_items, declarations

__all__ = ["assess_stored", "reassess"]


def _row(engine: Engine, declaration_row_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(declarations).where(declarations.c.id == declaration_row_id)
        ).one()
        items = [
            dict(r._mapping)
            for r in conn.execute(
                select(declaration_items)
                .where(declaration_items.c.declaration_id == row.id)
                .order_by(declaration_items.c.line_no)
            )
        ]
    return dict(row._mapping), items


def assess_stored(
    engine: Engine,
    book: DutyBook,
    declaration_row_id: int,
    *,
    postal_method: str = "ad_valorem",
    reason: str = "assessed",
    unit_values: Mapping[int, float] | None = None,
    ledger: LedgerKeys | None = None,
) -> Assessment:
    """Assess a stored declaration version (with corrected unit values by item
    line when given), store the result as its current assessment, return it."""
    columns, items = _row(engine, declaration_row_id)
    lines = {item["line_no"] for item in items}
    unknown = sorted(set(unit_values or {}) - lines)
    if unknown:
        raise InputError(
            f"item line(s) {unknown} must be lines of the declaration ({sorted(lines)})."
        )
    for item in items:
        if unit_values and item["line_no"] in unit_values:
            item["unit_value"] = unit_values[item["line_no"]]
    received: datetime = columns["received_at"]
    result = assess(
        book, duty_input([(columns, items)], received.date()), postal_method=postal_method
    )
    when = datetime.now(UTC)
    with writing(engine).begin() as conn:
        rows = write_assessments(conn, [declaration_row_id], [0], result, reason, when)
        if ledger is not None:
            record_batch(conn, ledger, [], [], rows, when)
    reasons = {rule.id: rule.reason for rule in result.rules}
    return read_assessment(engine, declaration_row_id, reasons)[0]


def reassess(
    engine: Engine,
    book: DutyBook,
    declaration_row_id: int,
    unit_values: Mapping[int, float],
    reason: str,
    *,
    postal_method: str = "ad_valorem",
    ledger: LedgerKeys | None = None,
) -> Assessment:
    """A new assessment after values were found to be wrong (undervaluation
    found by risk, an inspection, an amendment of value by the officer); the
    previous one stays in the history."""
    if not reason.strip():
        raise InputError("a reassessment needs a reason.")
    return assess_stored(
        engine,
        book,
        declaration_row_id,
        postal_method=postal_method,
        reason=f"reassessed: {reason}",
        unit_values=unit_values,
        ledger=ledger,
    )
