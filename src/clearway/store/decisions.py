"""Officers' decisions on declarations: release (green), inspect (red),
hold and requests for information (referrals), outcomes. Each is kept in
the audit trail with the lane before and after, and put on the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select, update

from clearway.errors import Conflict, InputError
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.store.bulk import row_dict
from clearway.store.engine import writing
from clearway.store.ledger import record_events
from clearway.store.outcomes import OutcomeRow, record_outcomes
from clearway.store.reading import DeclarationView
from clearway.store.referrals import open_referral
from clearway.store.schema import officer_decisions, risk_decisions

__all__ = ["ACTIONS", "decide", "read_decisions"]

# What each action does to the lane (None: the lane is left as it is).
ACTIONS: dict[str, str | None] = {
    "release": "green",
    "inspect": "red",
    "hold": None,
    "rfi": None,
    "outcome": None,
}


def decide(
    engine: Engine,
    view: DeclarationView,
    action: str,
    officer: str,
    note: str,
    now: datetime,
    *,
    keys: LedgerKeys | None = None,
    outcome: str | None = None,
    due: timedelta = timedelta(hours=24),
) -> dict[str, Any]:
    """Take ``action`` on a declaration as ``officer``; returns the audit row."""
    if action not in ACTIONS:
        raise InputError(f"action must be one of {', '.join(ACTIONS)}. Got {action!r}")
    if not note.strip():
        raise InputError("note must say why (it is kept in the audit trail)")
    if action in ("hold", "rfi"):
        open_referral(engine, view.row_id, action, note, officer, due, now, keys=keys)
    if action == "outcome":
        if outcome is None:
            raise InputError("outcome must be given: seized, duty_corrected, ...")
        _, problems = record_outcomes(
            engine, [OutcomeRow(view.ref, outcome, note, view.filer_id)], now
        )
        if problems:
            raise InputError(f"outcome not recorded: {problems[0].message}")
    with writing(engine).begin() as conn:
        decision = conn.execute(
            select(risk_decisions.c.lane, risk_decisions.c.reasons).where(
                risk_decisions.c.declaration_id == view.row_id
            )
        ).first()
        previous = decision.lane if decision else None
        lane = ACTIONS[action] or previous
        if ACTIONS[action] is not None:
            if decision is None:
                raise Conflict(f"declaration {view.ref!r} has no lane to change yet.")
            reasons = [*orjson.loads(decision.reasons), f"{action} by officer {officer}: {note}"]
            conn.execute(
                update(risk_decisions)
                .where(risk_decisions.c.declaration_id == view.row_id)
                .values(lane=lane, selected_by="officer", reasons=orjson.dumps(reasons).decode())
            )
        row = {
            "declaration_id": view.row_id,
            "officer": officer,
            "action": action if action != "outcome" else f"outcome:{outcome}",
            "previous_lane": previous,
            "lane": lane,
            "note": note,
            "decided_at": now,
        }
        row["id"] = conn.execute(
            insert(officer_decisions).values(**row).returning(officer_decisions.c.id)
        ).scalar_one()
        if keys is not None:
            event = Event(
                event_id=f"declaration.decided:{row['id']}",
                type="declaration.decided",
                time=now.isoformat(),
                actors=(officer,),
                subject=f"{view.filer_id}/{view.ref}",
                fields={
                    "action": row["action"],
                    "previous_lane": previous,
                    "lane": lane,
                    "note": note,
                },
            )
            record_events(conn, keys, [event], [view.row_id], now)
    return row


def read_decisions(engine: Engine, declaration_row_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            row_dict(r)
            for r in conn.execute(
                select(officer_decisions)
                .where(officer_decisions.c.declaration_id == declaration_row_id)
                .order_by(officer_decisions.c.id)
            )
        ]
