"""The trusted-operator register: operators, their compliance measured from
the store over the trailing window, tier reviews with a history of every
change, and the benefits intake applies."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from clearway.errors import Conflict, InputError, NotFound
from clearway.parties.operators import Measures, Tiers, decide_tier, load_tiers
from clearway.store.bulk import row_dict
from clearway.store.engine import as_utc, writing
from clearway.store.schema import (
    declarations,
    inspection_outcomes,
    operator_tier_history,
    operators,
    referrals,
)

__all__ = [
    "KINDS",
    "current_filers",
    "list_operators",
    "measure_operator",
    "operator_benefits",
    "operator_record",
    "register_operator",
    "review_operators",
]

KINDS = ("marketplace", "seller", "carrier", "post", "broker")


def register_operator(engine: Engine, filer_id: str, name: str, kind: str, now: datetime) -> None:
    """Enter an operator in the register, at the standard tier."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}. Got {kind!r}")
    try:
        with writing(engine).begin() as conn:
            if conn.execute(
                select(operators.c.filer_id).where(operators.c.filer_id == filer_id)
            ).first():
                raise Conflict(f"operator {filer_id!r} is already registered")
            conn.execute(
                insert(operators).values(
                    filer_id=filer_id, name=name, kind=kind, tier="standard", tier_since=now
                )
            )
            conn.execute(
                insert(operator_tier_history).values(
                    filer_id=filer_id,
                    previous="",
                    tier="standard",
                    reason="registered",
                    measures="{}",
                    changed_at=now,
                )
            )
    except IntegrityError:
        # Two registrations of one operator at once: both passed the check
        # above, the primary key let one in. The other is answered as if it
        # had come second (and its transaction, history row included, is
        # rolled back).
        raise Conflict(f"operator {filer_id!r} is already registered") from None


def measure_operator(engine: Engine, filer_id: str, since: datetime) -> Measures:
    """Compliance of ``filer_id`` from the store since ``since``: filings,
    mean data quality, median advance notice, share of recorded outcomes
    that found a fault, median referral response time."""
    d = declarations.c
    with engine.connect() as conn:
        filings, quality = conn.execute(
            select(func.count(), func.avg(d.dq_score)).where(
                d.filer_id == filer_id, d.current, d.filed_at >= since
            )
        ).one()
        advance = [
            (as_utc(arrival) - as_utc(filed)).total_seconds() / 3600
            for filed, arrival in conn.execute(
                select(d.filed_at, d.expected_arrival).where(
                    d.filer_id == filer_id, d.current, d.filed_at >= since
                )
            )
            if filed is not None and arrival is not None
        ]
        outcomes = [
            outcome
            for (outcome,) in conn.execute(
                select(inspection_outcomes.c.outcome)
                .join(declarations, declarations.c.id == inspection_outcomes.c.declaration_id)
                .where(d.filer_id == filer_id, d.filed_at >= since)
            )
        ]
        responses = [
            (as_utc(updated) - as_utc(created)).total_seconds() / 3600
            for created, updated in conn.execute(
                select(referrals.c.created_at, referrals.c.updated_at).where(
                    referrals.c.addressed_to == filer_id,
                    referrals.c.response.is_not(None),
                    referrals.c.created_at >= since,
                )
            )
        ]
    return Measures(
        filings=int(filings),
        data_quality=round(float(quality), 4) if quality is not None else None,
        advance_hours=round(statistics.median(advance), 2) if advance else None,
        fault_rate=(
            round(sum(o != "cleared" for o in outcomes) / len(outcomes), 4) if outcomes else None
        ),
        response_hours=round(statistics.median(responses), 2) if responses else None,
    )


def review_operators(
    engine: Engine, now: datetime, tiers: Tiers | None = None
) -> list[dict[str, Any]]:
    """Measure every registered operator and move it to the tier its
    measures earn; every change is kept in the history. Returns the changes."""
    programme = tiers or load_tiers()
    since = now - timedelta(days=programme.window_days)
    changes = []
    for row in list_operators(engine):
        measures = measure_operator(engine, row["filer_id"], since)
        decision = decide_tier(programme, row["tier"], measures)
        if decision.tier == row["tier"]:
            continue
        with writing(engine).begin() as conn:
            conn.execute(
                update(operators)
                .where(operators.c.filer_id == row["filer_id"])
                .values(tier=decision.tier, tier_since=now)
            )
            conn.execute(
                insert(operator_tier_history).values(
                    filer_id=row["filer_id"],
                    previous=row["tier"],
                    tier=decision.tier,
                    reason=decision.reason,
                    measures=orjson.dumps(measures.as_dict()).decode(),
                    changed_at=now,
                )
            )
        changes.append(
            {
                "filer_id": row["filer_id"],
                "previous": row["tier"],
                "tier": decision.tier,
                "reason": decision.reason,
                "measures": measures.as_dict(),
            }
        )
    return changes


def current_filers(engine: Engine) -> list[tuple[str, str]]:
    """(filer id, role) of every filer of a current declaration, sorted:
    the candidates for the register."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(declarations.c.filer_id, declarations.c.filer_role)
            .where(declarations.c.current)
            .distinct()
            .order_by(declarations.c.filer_id, declarations.c.filer_role)
        ).all()
    return [(str(filer), str(role)) for filer, role in rows]


def list_operators(
    engine: Engine, history: bool = False, filer_id: str | None = None
) -> list[dict[str, Any]]:
    query = select(operators).order_by(operators.c.filer_id)
    if filer_id is not None:
        query = query.where(operators.c.filer_id == filer_id)
    with engine.connect() as conn:
        rows = [row_dict(r) for r in conn.execute(query)]
        if history:
            for row in rows:
                row["history"] = [
                    row_dict(h)
                    for h in conn.execute(
                        select(operator_tier_history)
                        .where(operator_tier_history.c.filer_id == row["filer_id"])
                        .order_by(operator_tier_history.c.id)
                    )
                ]
    return rows


def operator_record(engine: Engine, filer_id: str, now: datetime) -> dict[str, Any]:
    """One operator: its tier, its history and its measures over the
    programme's trailing window as of ``now``."""
    programme = load_tiers()
    rows = list_operators(engine, history=True, filer_id=filer_id)
    if not rows:
        raise NotFound(f"operator {filer_id!r} not found.")
    since = now - timedelta(days=programme.window_days)
    return {
        **rows[0],
        "window_days": programme.window_days,
        "measures": measure_operator(engine, filer_id, since).as_dict(),
    }


def operator_benefits(engine: Engine) -> tuple[tuple[str, float, float], ...]:
    """(filer id, score discount, random-check factor) of every operator
    whose tier brings a benefit: what intake applies."""
    programme = load_tiers()
    out = []
    for row in list_operators(engine):
        benefits = programme.benefits(row["tier"])
        if benefits.score_discount or benefits.random_check_factor < 1.0:
            out.append((row["filer_id"], benefits.score_discount, benefits.random_check_factor))
    return tuple(out)
