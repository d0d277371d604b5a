"""Which events each pipeline stage writes to the ledger, and what of them
is committed: every top-level field of a filing, every figure of a duty
assessment."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from clearway.ledger.events import Event, encode_leaf
from clearway.ledger.keys import LedgerKeys
from clearway.ledger.log import LedgerEntry

__all__ = [
    "assessment_events",
    "batch_entries",
    "check_events",
    "confirmation_events",
    "entries",
    "filing_events",
    "leaves",
]

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


def filing_events(
    kind: str,
    rows: Sequence[Mapping[str, Any]],
    documents: Sequence[Mapping[str, Any]] | None = None,
) -> list[Event]:
    """``declaration.filed`` / ``.amended`` (or ``master.``) per stored
    version; ``documents``: the rows' documents decoded already, if they are."""
    if documents is None:
        documents = [orjson.loads(row["document"]) for row in rows]
    events = []
    for row, document in zip(rows, documents, strict=True):
        action = "filed" if row["version"] == 1 else "amended"
        subject = f"{row['filer_id']}/{row['ref']}"
        events.append(
            Event(
                event_id=f"{kind}.{action}:{subject}:v{row['version']}",
                type=f"{kind}.{action}",
                time=row["received_at"].isoformat(),
                actors=(row["filer_id"],),
                subject=subject,
                fields=document,
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


CONFIRMATION_FIELDS = ("item_line", "action", "declared_hs", "hs", "text", "note")


def confirmation_events(
    rows: Sequence[Mapping[str, Any]], subjects: Mapping[int, str]
) -> list[Event]:
    """``item.hs_confirmed`` per stored confirmation of an item line's HS
    code; every column is committed (the row id in the event id, the
    officer as actor). ``subjects`` maps declaration row ids to ``filer/ref``."""
    return [
        Event(
            event_id=f"item.hs_confirmed:{row['id']}",
            type="item.hs_confirmed",
            time=row["confirmed_at"].isoformat(),
            actors=(row["officer"],),
            subject=subjects[row["declaration_id"]],
            fields={name: row[name] for name in CONFIRMATION_FIELDS},
        )
        for row in rows
    ]


def leaves(events: Sequence[Event], owners: Sequence[int | None], keys: LedgerKeys) -> list[bytes]:
    return [
        encode_leaf(event, keys.secret, owner) for event, owner in zip(events, owners, strict=True)
    ]


def entries(
    events: Sequence[Event], owners: Sequence[int | None], keys: LedgerKeys
) -> list[LedgerEntry]:
    """The log entries of ``events``; ``owners`` are the declaration rows
    they concern, one per event."""
    return [
        LedgerEntry(e.event_id, e.type, leaf, owner)
        for e, leaf, owner in zip(events, leaves(events, owners, keys), owners, strict=True)
    ]


def batch_entries(
    keys: LedgerKeys,
    houses: Sequence[Mapping[str, Any]],
    masters: Sequence[Mapping[str, Any]],
    assessments: Sequence[Mapping[str, Any]],
    when: datetime,
    checked: Sequence[Mapping[str, Any]],
    extra: Sequence[tuple[Event, int | None]],
    subjects_of: Callable[[Collection[int]], Mapping[int, str]],
    documents: Sequence[Mapping[str, Any]] | None = None,
) -> list[LedgerEntry]:
    """The entries of a written batch, in log order: filings, masters,
    assessments, checks, then ``extra`` events with their declaration rows.
    ``subjects_of`` gives ``filer/ref`` of declaration rows that assessments
    or checks concern but the batch did not file (read from the store);
    ``documents``: the houses' documents, if the caller decoded them."""
    subjects = {row["id"]: f"{row['filer_id']}/{row['ref']}" for row in houses}
    unknown = {row["declaration_id"] for row in [*assessments, *checked]} - set(subjects)
    if unknown:
        subjects.update(subjects_of(unknown))
    events = filing_events("declaration", houses, documents) + filing_events("master", masters)
    events += assessment_events(assessments, subjects)
    events += check_events(checked, subjects, when)
    events += [event for event, _ in extra]
    owners = (
        [row["id"] for row in houses]
        + [None] * len(masters)
        + [row["declaration_id"] for row in [*assessments, *checked]]
        + [owner for _, owner in extra]
    )
    return entries(events, owners, keys)
