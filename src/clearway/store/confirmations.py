"""The audit table of HS codes confirmed on item lines (rules:
:mod:`clearway.classification.confirmation`): each row is written with its
``item.hs_confirmed`` ledger event in one transaction, and all of them are
the classifier's precedents (``clearway classifier precedents``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from clearway.classification.confirmation import Confirmation
from clearway.ledger.keys import LedgerKeys
from clearway.ledger.recording import confirmation_events
from clearway.store.bulk import row_dict
from clearway.store.engine import writing
from clearway.store.ledger import record_events
from clearway.store.reading import DeclarationView
from clearway.store.schema import hs_confirmations

__all__ = ["read_confirmations", "record_confirmation"]


def record_confirmation(
    engine: Engine,
    view: DeclarationView,
    confirmation: Confirmation,
    officer: str,
    note: str,
    now: datetime,
    keys: LedgerKeys | None = None,
) -> dict[str, Any]:
    """Store a checked confirmation of declaration ``view`` (and, with
    ``keys``, its ledger event); returns the stored row."""
    row: dict[str, Any] = {
        "declaration_id": view.row_id,
        "item_line": confirmation.item_line,
        "action": confirmation.action,
        "declared_hs": confirmation.declared_hs,
        "hs": confirmation.hs,
        "text": confirmation.text,
        "officer": officer,
        "note": note,
        "confirmed_at": now,
    }
    with writing(engine).begin() as conn:
        row["id"] = conn.execute(
            insert(hs_confirmations).values(**row).returning(hs_confirmations.c.id)
        ).scalar_one()
        if keys is not None:
            events = confirmation_events([row], {view.row_id: f"{view.filer_id}/{view.ref}"})
            record_events(conn, keys, events, [view.row_id], now)
    return row


def read_confirmations(
    engine: Engine, declaration_row_id: int | None = None
) -> list[dict[str, Any]]:
    """Confirmations, oldest first: of one declaration, or all of them."""
    query = select(hs_confirmations).order_by(hs_confirmations.c.id)
    if declaration_row_id is not None:
        query = query.where(hs_confirmations.c.declaration_id == declaration_row_id)
    with engine.connect() as conn:
        return [row_dict(r) for r in conn.execute(query)]
