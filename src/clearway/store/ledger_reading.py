"""Reading the ledger back for its owner: the committed fields of an event
(to disclose one), and cosignatures gathered from witnesses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, func, select

from clearway.errors import NotFound
from clearway.ledger.recording import DUTY_FIELDS, check_events
from clearway.store.engine import writing
from clearway.store.ledger import latest_checkpoint, prove_consistency
from clearway.store.parties import read_party_checks
from clearway.store.schema import (
    declarations,
    duty_assessments,
    ledger_checkpoints,
    ledger_cosignatures,
    ledger_entries,
    master_filings,
)

__all__ = [
    "SqlCosigningLog",
    "add_cosignature",
    "checkpoint_with_cosignatures",
    "declaration_events",
    "event_fields",
]


def event_fields(engine: Engine, event_id: str) -> tuple[int, bytes, dict[str, Any]]:
    """(index, leaf, committed fields) of an event, rebuilt from the records
    it was made from, exactly as they were committed."""
    with engine.connect() as conn:
        entry = conn.execute(
            select(ledger_entries).where(ledger_entries.c.event_id == event_id)
        ).first()
        if entry is None:
            raise NotFound(f"ledger event {event_id!r} not found.")
        kind = entry.event_type.split(".")[0]
        if entry.event_type == "declaration.checked":
            checks = read_party_checks(engine, entry.declaration_id)
            events = check_events(
                [{"declaration_id": entry.declaration_id, **checks}],
                {entry.declaration_id: ""},
                datetime.now(UTC),
            )
            return entry.idx, entry.leaf, dict(events[0].fields)
        if kind == "declaration":
            document = conn.execute(
                select(declarations.c.document).where(declarations.c.id == entry.declaration_id)
            ).scalar_one()
            return entry.idx, entry.leaf, orjson.loads(document)
        if kind == "master":
            subject, version = event_id.split(":", 1)[1].rsplit(":v", 1)
            filer_id, ref = subject.split("/", 1)
            document = conn.execute(
                select(master_filings.c.document).where(
                    master_filings.c.filer_id == filer_id,
                    master_filings.c.ref == ref,
                    master_filings.c.version == int(version),
                )
            ).scalar_one()
            return entry.idx, entry.leaf, orjson.loads(document)
        assessment_version = int(event_id.rsplit(":v", 1)[1])
        row = conn.execute(
            select(duty_assessments).where(
                duty_assessments.c.declaration_id == entry.declaration_id,
                duty_assessments.c.version == assessment_version,
            )
        ).one()
        return entry.idx, entry.leaf, {name: getattr(row, name) for name in DUTY_FIELDS}


def add_cosignature(engine: Engine, size: int, witness: str, line: str) -> None:
    with writing(engine).begin() as conn:
        conn.execute(ledger_cosignatures.insert().values(size=size, witness=witness, line=line))


class SqlCosigningLog:
    """:class:`clearway.federation.cosigning.CosigningLog` over this store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest_checkpoint(self) -> tuple[int, str] | None:
        with self.engine.connect() as conn:
            head = latest_checkpoint(conn)
        return None if head is None else (head[0], head[2])

    def last_cosigned(self, witness: str) -> int:
        with self.engine.connect() as conn:
            size = conn.execute(
                select(func.max(ledger_cosignatures.c.size)).where(
                    ledger_cosignatures.c.witness == witness
                )
            ).scalar()
        return int(size or 0)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return prove_consistency(self.engine, old, new)

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        add_cosignature(self.engine, size, witness, line)


def checkpoint_with_cosignatures(engine: Engine, size: int | None = None) -> str:
    """The signed note of the checkpoint of ``size`` (default: latest) with
    every stored cosignature line appended."""
    with engine.connect() as conn:
        query = select(ledger_checkpoints.c.size, ledger_checkpoints.c.note)
        query = (
            query.where(ledger_checkpoints.c.size == size)
            if size is not None
            else query.order_by(ledger_checkpoints.c.size.desc()).limit(1)
        )
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(
                "the ledger has no checkpoint"
                + (f" of size {size}." if size is not None else " yet.")
            )
        lines = [
            line
            for (line,) in conn.execute(
                select(ledger_cosignatures.c.line)
                .where(ledger_cosignatures.c.size == row.size)
                .order_by(ledger_cosignatures.c.witness)
            )
        ]
    return str(row.note) + "".join(f"{line}\n" for line in lines)


def declaration_events(engine: Engine, declaration_row_id: int) -> list[dict[str, Any]]:
    """A declaration's events on the ledger, in log order."""
    with engine.connect() as conn:
        return [
            {"index": r.idx, "event_id": r.event_id, "type": r.event_type}
            for r in conn.execute(
                select(ledger_entries.c.idx, ledger_entries.c.event_id, ledger_entries.c.event_type)
                .where(ledger_entries.c.declaration_id == declaration_row_id)
                .order_by(ledger_entries.c.idx)
            )
        ]
