"""Storing and reading duty assessments: one current assessment per
declaration version, earlier ones kept with the reason they were replaced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import Connection, Engine, func, select, update

from clearway.duty.assess import NO_ITEM, Assessment, AssessmentLine, DutyResult
from clearway.errors import NotFound
from clearway.ledger.keys import LedgerKeys
from clearway.store.bulk import allocate_ids, bulk_insert, row_dict
from clearway.store.engine import writing
from clearway.store.ledger import record_batch
from clearway.store.schema import declaration_items, declarations, duty_assessments, duty_lines

__all__ = [
    "SqlAssessmentStore",
    "duty_totals",
    "read_assessment",
    "us_filings",
    "write_assessments",
]


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def write_assessments(
    conn: Connection,
    declaration_ids: list[int],
    indices: list[int],
    result: DutyResult,
    reason: str,
    when: datetime,
) -> list[dict[str, Any]]:
    """Store the assessments of batch positions ``indices`` for the declaration
    rows ``declaration_ids`` and return the rows written; any current
    assessment of those rows is kept as history."""
    if not declaration_ids:
        return []
    c = duty_assessments.c
    previous = dict(
        conn.execute(
            select(c.declaration_id, func.max(c.version))
            .where(c.declaration_id.in_(declaration_ids))
            .group_by(c.declaration_id)
        ).all()
    )
    if previous:
        conn.execute(
            update(duty_assessments)
            .where(c.declaration_id.in_(list(previous)), c.current)
            .values(current=False)
        )
    ids = allocate_ids(conn, duty_assessments, len(declaration_ids))
    total = result.total
    rows = []
    for assessment_id, row_id, k in zip(ids, declaration_ids, indices, strict=True):
        r = int(result.regime[k])
        rows.append(
            {
                "id": assessment_id,
                "declaration_id": row_id,
                "version": previous.get(row_id, 0) + 1,
                "current": True,
                "reason": reason,
                "assessed_at": when,
                "regime": result.regimes[r].id if r >= 0 else None,
                "currency": result.regimes[r].currency if r >= 0 else None,
                "value": float(result.value[k]),
                "duty": float(result.duty[k]),
                "vat": float(result.vat[k]),
                "total": float(total[k]),
                "due_at_sale": float(result.due_at_sale[k]),
                "collected": _none_if_nan(result.collected[k]),
                "shortfall": _none_if_nan(result.shortfall[k]),
                "problem": result.problem[k],
            }
        )
    bulk_insert(conn, duty_assessments, rows)
    owner = np.full(len(result.value), -1, dtype=np.int64)
    owner[np.array(indices, dtype=np.int64)] = ids
    picked = np.flatnonzero(owner[result.line_decl] >= 0)
    picked = picked[np.argsort(result.line_decl[picked], kind="stable")]
    lines = []
    last, number = -1, 0
    for position in picked:
        decl = int(result.line_decl[position])
        number = number + 1 if decl == last else 0
        last = decl
        rule = result.rules[int(result.line_rule[position])]
        item = int(result.line_item[position])
        lines.append(
            {
                "assessment_id": int(owner[decl]),
                "line_no": number,
                "rule": rule.id,
                "kind": rule.kind,
                "item_line": None if item == NO_ITEM else item,
                "base": float(result.line_base[position]),
                "rate": float(result.line_rate[position]),
                "amount": float(result.line_amount[position]),
            }
        )
    bulk_insert(conn, duty_lines, lines)
    return rows


def read_assessment(
    engine: Engine, declaration_row_id: int, reasons: dict[str, str] | None = None
) -> tuple[Assessment, list[dict[str, Any]]]:
    """The current assessment of a declaration row and the history of versions."""
    c = duty_assessments.c
    with engine.connect() as conn:
        history = [
            row_dict(r)
            for r in conn.execute(
                select(c.version, c.reason, c.assessed_at, c.total, c.current)
                .where(c.declaration_id == declaration_row_id)
                .order_by(c.version)
            )
        ]
        row = conn.execute(
            select(duty_assessments).where(c.declaration_id == declaration_row_id, c.current)
        ).first()
        if row is None:
            raise NotFound("no duty assessment stored for this declaration.")
        lines = conn.execute(
            select(duty_lines)
            .where(duty_lines.c.assessment_id == row.id)
            .order_by(duty_lines.c.line_no)
        ).all()
    assessment = Assessment(
        regime=row.regime,
        currency=row.currency,
        value=row.value,
        duty=row.duty,
        vat=row.vat,
        total=row.total,
        due_at_sale=row.due_at_sale,
        collected=row.collected,
        shortfall=row.shortfall,
        problem=row.problem,
        lines=tuple(
            AssessmentLine(
                rule=line.rule,
                reason=(reasons or {}).get(line.rule, ""),
                item_line=line.item_line,
                base=line.base,
                rate=line.rate,
                amount=line.amount,
                kind=line.kind,
            )
            for line in lines
        ),
    )
    return assessment, history


class SqlAssessmentStore:
    """:class:`clearway.duty.services.AssessmentStore` over this store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def declaration(self, row_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            row = conn.execute(select(declarations).where(declarations.c.id == row_id)).one()
            items = [
                dict(r._mapping)
                for r in conn.execute(
                    select(declaration_items)
                    .where(declaration_items.c.declaration_id == row.id)
                    .order_by(declaration_items.c.line_no)
                )
            ]
        return dict(row._mapping), items

    def save(
        self,
        row_id: int,
        result: DutyResult,
        reason: str,
        when: datetime,
        ledger: LedgerKeys | None,
    ) -> None:
        with writing(self.engine).begin() as conn:
            rows = write_assessments(conn, [row_id], [0], result, reason, when)
            if ledger is not None:
                record_batch(conn, ledger, [], [], rows, when)

    def assessment(self, row_id: int, reasons: Mapping[str, str]) -> Assessment:
        return read_assessment(self.engine, row_id, dict(reasons))[0]


def duty_totals(
    engine: Engine,
    by: Literal["filer", "day"],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Duty and tax assessed on current declarations, per filer or per filing
    day, for those filed in [since, until) when given."""
    d, a = declarations.c, duty_assessments.c
    key = d.filer_id if by == "filer" else func.date(d.filed_at)
    query = (
        select(
            key.label(by),
            a.currency,
            func.count().label("declarations"),
            func.sum(a.value).label("value"),
            func.sum(a.duty).label("duty"),
            func.sum(a.vat).label("vat"),
            func.sum(a.total).label("total"),
            func.sum(a.due_at_sale).label("due_at_sale"),
            func.coalesce(func.sum(a.shortfall), 0.0).label("shortfall"),
        )
        .select_from(declarations.join(duty_assessments, a.declaration_id == d.id))
        .where(d.current, a.current)
        .where(*([d.filed_at >= since] if since else []), *([d.filed_at < until] if until else []))
        .group_by(key, a.currency)
        .order_by(key, a.currency)
    )
    with engine.connect() as conn:
        return [
            {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r._mapping.items()}
            for r in conn.execute(query)
        ]


def us_filings(
    engine: Engine, since: datetime, until: datetime, destinations: Sequence[str] = ("US",)
) -> list[tuple[str, float | None]]:
    """The document of every current filing to ``destinations`` filed in
    [since, until), with the duty of its current assessment (None when not
    assessed): what remittance and Type 13 matching read."""
    d, a = declarations.c, duty_assessments.c
    query = (
        select(d.document, a.duty)
        .select_from(
            declarations.outerjoin(duty_assessments, (a.declaration_id == d.id) & a.current)
        )
        .where(d.current, d.destination_country.in_(list(destinations)))
        .where(d.filed_at >= since, d.filed_at < until)
        .order_by(d.id)
    )
    with engine.connect() as conn:
        return [(str(row.document), row.duty) for row in conn.execute(query)]
