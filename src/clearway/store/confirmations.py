"""HS codes confirmed on item lines: an officer confirms the declared code,
corrects it, or records that an inspection found it correct. Each is kept
in the audit table and put on the ledger (``item.hs_confirmed``); together
they are the classifier's precedents (``classifier_precedents_file``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from clearway.classification.listing import listing_text
from clearway.classification.model import normalise_code
from clearway.errors import InputError
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.store.bulk import row_dict
from clearway.store.engine import writing
from clearway.store.ledger import record_events
from clearway.store.reading import DeclarationView
from clearway.store.schema import hs_confirmations

__all__ = ["CONFIRM_ACTIONS", "confirm_classification", "read_confirmations"]

CONFIRM_ACTIONS = ("confirm", "correct", "inspection")


def confirm_classification(
    engine: Engine,
    view: DeclarationView,
    item_line: int,
    action: str,
    officer: str,
    note: str,
    now: datetime,
    *,
    hs: str | None = None,
    keys: LedgerKeys | None = None,
) -> dict[str, Any]:
    """Record the code of item ``item_line``: ``confirm`` and ``inspection``
    keep the declared code (``hs``, when given, must name the same one);
    ``correct`` needs ``hs``, a code of HS 2022 (6 to 10 digits, national
    digits kept). Returns the audit row."""
    if action not in CONFIRM_ACTIONS:
        raise InputError(f"action must be one of {', '.join(CONFIRM_ACTIONS)}. Got {action!r}")
    items = view.document.get("items") or []
    if not 0 <= item_line < len(items):
        raise InputError(
            f"item_line must be an item line of declaration {view.ref!r} "
            f"(0 to {len(items) - 1}). Got {item_line}"
        )
    item = items[item_line]
    declared = item.get("hs_code") or None
    code = (hs or "").strip().replace(".", "") or None
    if action == "correct" and code is None:
        raise InputError("hs must be given to correct a code")
    if action != "correct":
        if declared is None:
            raise InputError(f"item {item_line} has no declared code to {action}; use correct")
        if code is not None and code != declared:
            raise InputError(f"hs must be the declared code {declared!r} to {action}. Got {code!r}")
        code = declared
    assert code is not None
    if not (code.isdigit() and 6 <= len(code) <= 10) or normalise_code(code) is None:
        raise InputError(f"hs must be an HS 2022 code of 6 to 10 digits. Got {code!r}")
    text = listing_text(
        str(item.get("description") or ""),
        item.get("category_path"),
        item.get("material"),
        item.get("brand"),
    )
    row: dict[str, Any] = {
        "declaration_id": view.row_id,
        "item_line": item_line,
        "action": action,
        "declared_hs": declared,
        "hs": code,
        "text": text[:1024],
        "officer": officer,
        "note": note,
        "confirmed_at": now,
    }
    with writing(engine).begin() as conn:
        row["id"] = conn.execute(
            insert(hs_confirmations).values(**row).returning(hs_confirmations.c.id)
        ).scalar_one()
        if keys is not None:
            event = Event(
                event_id=f"item.hs_confirmed:{row['id']}",
                type="item.hs_confirmed",
                time=now.isoformat(),
                actors=(officer,),
                subject=f"{view.filer_id}/{view.ref}",
                fields={
                    "item_line": item_line,
                    "action": action,
                    "declared_hs": declared,
                    "hs": code,
                    "note": note,
                },
            )
            record_events(conn, keys, [event], [view.row_id], now)
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
