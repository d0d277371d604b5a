"""Referrals stored, moved through their states, and put on the ledger:
every transition is a ``referral.*`` event in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, update

from clearway.errors import InputError, NotFound
from clearway.federation.referrals import KINDS, PAST, escalated_lane, next_state
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.store.bulk import row_dict
from clearway.store.engine import writing
from clearway.store.ledger import record_events
from clearway.store.schema import declarations, referrals, risk_decisions

__all__ = ["escalate_overdue", "list_referrals", "move_referral", "open_referral"]


def _event(conn: Connection, referral: dict[str, Any], action: str, when: datetime) -> Event:
    decl = conn.execute(
        select(declarations.c.filer_id, declarations.c.ref).where(
            declarations.c.id == referral["declaration_id"]
        )
    ).one()
    return Event(
        event_id=f"referral.{action}:{referral['id']}:{when.isoformat()}",
        type=f"referral.{action}",
        time=when.isoformat(),
        actors=(referral["requested_by"], referral["addressed_to"]),
        subject=f"{decl.filer_id}/{decl.ref}",
        fields={
            "referral": referral["id"],
            "kind": referral["kind"],
            "state": referral["state"],
            "due_at": str(referral["due_at"]),
            "text": referral.get("response") or referral.get("resolution") or referral["message"],
        },
    )


def _log(
    conn: Connection,
    keys: LedgerKeys | None,
    rows: list[dict[str, Any]],
    action: str,
    when: datetime,
) -> None:
    if keys is not None and rows:
        events = [_event(conn, row, action, when) for row in rows]
        record_events(conn, keys, events, [row["declaration_id"] for row in rows], when)


def _get(conn: Connection, referral_id: int) -> dict[str, Any]:
    row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).first()
    if row is None:
        raise NotFound(f"referral {referral_id} not found.")
    return row_dict(row)


def open_referral(
    engine: Engine,
    declaration_row_id: int,
    kind: str,
    message: str,
    requested_by: str,
    due: timedelta,
    now: datetime,
    keys: LedgerKeys | None = None,
) -> dict[str, Any]:
    """Open a referral on a stored declaration, addressed to its filer."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}. Got {kind!r}")
    if due <= timedelta(0):
        raise InputError(f"the deadline must be in the future. Got {due}")
    with writing(engine).begin() as conn:
        filer = conn.execute(
            select(declarations.c.filer_id).where(declarations.c.id == declaration_row_id)
        ).scalar_one()
        values = {
            "declaration_id": declaration_row_id,
            "kind": kind,
            "state": "open",
            "addressed_to": filer,
            "requested_by": requested_by,
            "message": message,
            "created_at": now,
            "due_at": now + due,
            "updated_at": now,
        }
        referral_id = conn.execute(
            insert(referrals).values(**values).returning(referrals.c.id)
        ).scalar_one()
        row = {**values, "id": referral_id}
        _log(conn, keys, [row], "opened", now)
    return row


def _claim(conn: Connection, referral_id: int, expected: str, values: dict[str, Any]) -> bool:
    """Move the referral out of ``expected`` only if it is still there
    (compare-and-set): of two requests that read the same state, exactly
    one wins. PostgreSQL re-checks the WHERE on the row after waiting for
    the other writer's lock; SQLite writers are serialised at BEGIN."""
    result = conn.execute(
        update(referrals)
        .where(referrals.c.id == referral_id, referrals.c.state == expected)
        .values(**values)
    )
    return result.rowcount == 1


def move_referral(
    engine: Engine,
    referral_id: int,
    action: str,
    text: str,
    now: datetime,
    *,
    addressed_to: str | None = None,
    keys: LedgerKeys | None = None,
) -> dict[str, Any]:
    """Answer (the filer: ``addressed_to`` must match, else 404), close or
    withdraw a referral.

    Requests racing on one referral are applied one after the other: the
    state is compared and set, and a request that finds the referral moved
    since it read it reads it again and is judged against the new state (a
    close after a concurrent answer closes it; an answer after a concurrent
    close or answer is a :class:`Conflict`, 409). A refused request writes
    nothing and puts nothing on the ledger."""
    column = {"answer": "response", "close": "resolution", "withdraw": "resolution"}.get(action)
    if column is None:
        next_state("open", action)  # the error naming the allowed actions
        raise InputError(f"action must be answer, close or withdraw. Got {action!r}")
    with writing(engine).begin() as conn:
        while True:
            row = _get(conn, referral_id)
            if addressed_to is not None and row["addressed_to"] != addressed_to:
                raise NotFound(f"referral {referral_id} not found.")
            state = next_state(row["state"], action)
            values = {"state": state, "updated_at": now, column: text}
            # Each lost race means another transition committed; the state
            # machine has no cycles, so this ends after a few rounds.
            if _claim(conn, referral_id, row["state"], values):
                break
        row.update(values)
        _log(conn, keys, [row], PAST[action], now)
    return row


def escalate_overdue(
    engine: Engine, now: datetime, keys: LedgerKeys | None = None
) -> list[dict[str, Any]]:
    """Escalate every open referral past its deadline: its state becomes
    escalated and its declaration's lane goes one up, with the reason.
    Callers running at once share the work: each referral is escalated
    (and its lane raised, and its event recorded) by exactly one of them."""
    with writing(engine).begin() as conn:
        candidates = [
            row_dict(r)
            for r in conn.execute(
                select(referrals)
                .where(referrals.c.state == "open", referrals.c.due_at < now)
                .order_by(referrals.c.id)
            )
        ]
        done = []
        for row in candidates:
            state = next_state(row["state"], "escalate")
            if not _claim(conn, row["id"], row["state"], {"state": state, "updated_at": now}):
                continue  # another caller escalated (or someone answered) it first
            row["state"] = state
            done.append(row)
            _raise_lane(conn, row)
        _log(conn, keys, done, "escalated", now)
    return done


def _raise_lane(conn: Connection, row: dict[str, Any]) -> None:
    # The decision row is locked (PostgreSQL) so that two referrals of one
    # declaration escalated at once raise its lane twice, never once.
    decision = conn.execute(
        select(risk_decisions.c.lane, risk_decisions.c.reasons)
        .where(risk_decisions.c.declaration_id == row["declaration_id"])
        .with_for_update()
    ).first()
    if decision is None:
        return
    reasons = [
        *orjson.loads(decision.reasons),
        f"{KINDS[row['kind']]} {row['id']} unanswered by its deadline {row['due_at']}",
    ]
    conn.execute(
        update(risk_decisions)
        .where(risk_decisions.c.declaration_id == row["declaration_id"])
        .values(
            lane=escalated_lane(decision.lane),
            selected_by="referral",
            reasons=orjson.dumps(reasons).decode(),
        )
    )
    row["lane"] = escalated_lane(decision.lane)


def list_referrals(
    engine: Engine,
    *,
    addressed_to: str | None = None,
    state: str | None = None,
    declaration_row_id: int | None = None,
) -> list[dict[str, Any]]:
    query = select(referrals, declarations.c.ref.label("declaration")).join(declarations)
    if declaration_row_id is not None:
        query = query.where(referrals.c.declaration_id == declaration_row_id)
    if addressed_to is not None:
        query = query.where(referrals.c.addressed_to == addressed_to)
    if state is not None:
        query = query.where(referrals.c.state == state)
    with engine.connect() as conn:
        rows = [row_dict(r) for r in conn.execute(query.order_by(referrals.c.due_at))]
    for row in rows:
        for key in ("created_at", "due_at", "updated_at"):
            row[key] = str(row[key])
    return rows
