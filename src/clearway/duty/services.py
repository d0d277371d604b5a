"""Duty on stored declarations: assess, reassess after a value correction,
and read back. The store sits behind :class:`AssessmentStore` (the SQL one
is :class:`clearway.store.duty.SqlAssessmentStore`): this module decides
what is assessed and why, the store only reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from clearway.duty.assess import Assessment, DutyResult, assess
from clearway.duty.inputs import duty_input
from clearway.duty.regimes import DutyBook
from clearway.errors import InputError
from clearway.ledger.keys import LedgerKeys

__all__ = ["AssessmentStore", "assess_stored", "reassess"]


class AssessmentStore(Protocol):
    """What assessing a stored declaration version needs of a store."""

    def declaration(self, row_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The version's columns, and its item lines in line order."""

    def save(
        self,
        row_id: int,
        result: DutyResult,
        reason: str,
        when: datetime,
        ledger: LedgerKeys | None,
    ) -> None:
        """Store ``result`` (one declaration) as the version's current
        assessment, the previous one kept as history; with ``ledger``, put
        it on the ledger in the same transaction."""

    def assessment(self, row_id: int, reasons: Mapping[str, str]) -> Assessment:
        """The version's current assessment, with the reasons of its rules."""


def assess_stored(
    store: AssessmentStore,
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
    columns, items = store.declaration(declaration_row_id)
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
    store.save(declaration_row_id, result, reason, datetime.now(UTC), ledger)
    return store.assessment(declaration_row_id, {rule.id: rule.reason for rule in result.rules})


def reassess(
    store: AssessmentStore,
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
        store,
        book,
        declaration_row_id,
        postal_method=postal_method,
        reason=f"reassessed: {reason}",
        unit_values=unit_values,
        ledger=ledger,
    )
