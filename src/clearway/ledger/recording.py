"""Which events each pipeline stage writes to the ledger, and what of them
is committed: every top-level field of a filing, every figure of a duty
assessment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from clearway.ledger.events import Event, encode_leaf
from clearway.ledger.keys import LedgerKeys

__all__ = ["assessment_events", "check_events", "filing_events", "leaves"]

DUTY_FIELDS = (
    "regime",
    "currency",
    "value",
    "duty",
    "vat",
    "total",
    "due_at_sale",
    "collected",
    "shortfall",
)


def filing_events(kind: str, rows: Sequence[Mapping[str, Any]]) -> list[Event]:
    """``declaration.filed`` / ``.amended`` (or ``master.``) per stored version."""
    events = []
    for row in rows:
        action = "filed" if row["version"] == 1 else "amended"
        subject = f"{row['filer_id']}/{row['ref']}"
        events.append(
            Event(
                event_id=f"{kind}.{action}:{subject}:v{row['version']}",
                type=f"{kind}.{action}",
                time=row["received_at"].isoformat(),
                actors=(row["filer_id"],),
                subject=subject,
                fields=orjson.loads(row["document"]),
            )
        )
    return events


def assessment_events(
    rows: Sequence[Mapping[str, Any]], subjects: Mapping[int, str]
) -> list[Event]:
    """``duty.assessed`` per stored assessment; ``subjects`` maps declaration
    row ids to ``filer/ref``."""
    return [
        Event(
            event_id=f"duty.assessed:{subjects[row['declaration_id']]}:d{row['declaration_id']}"
            f":v{row['version']}",
            type="duty.assessed",
            time=row["assessed_at"].isoformat(),
            actors=("customs",),
            subject=subjects[row["declaration_id"]],
            fields={name: row[name] for name in DUTY_FIELDS},
        )
        for row in rows
    ]


def check_events(
    rows: Sequence[Mapping[str, Any]], subjects: Mapping[int, str], when: datetime
) -> list[Event]:
    """``declaration.checked`` per declaration with screening hits or routings."""
    return [
        Event(
            event_id=f"declaration.checked:{subjects[row['declaration_id']]}"
            f":d{row['declaration_id']}",
            type="declaration.checked",
            time=when.isoformat(),
            actors=("customs",),
            subject=subjects[row["declaration_id"]],
            fields={
                "screening": [
                    {k: hit[k] for k in ("role", "list_name", "entry_id", "score")}
                    for hit in row["screening"]
                ],
                "routing": [
                    {k: r[k] for k in ("agency", "item_lines", "hs_codes")} for r in row["routing"]
                ],
            },
        )
        for row in rows
    ]


def leaves(events: Sequence[Event], keys: LedgerKeys) -> list[bytes]:
    return [encode_leaf(event, keys.secret) for event in events]
