"""Writing filings: idempotent, versioned, one transaction per batch.

Resubmitting the same ``(filer_id, ref)`` with identical content is a no-op
(a *duplicate*); with different content it becomes the next version (an
*amendment*) and the previous version stays as history. A batch is written
whole or not at all, so a declaration is never half-stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from clearway.classification.misclassification import ItemClassification
from clearway.declarations.batch import PreparedBatch, PreparedHouse, PreparedMaster
from clearway.duty.assess import DutyResult
from clearway.errors import StoreError
from clearway.ledger.keys import LedgerKeys
from clearway.parties.checks import PartyChecks
from clearway.risk.scoring import BatchRisk
from clearway.store.bulk import allocate_ids, bulk_insert
from clearway.store.catalogue import check_catalogue
from clearway.store.classification import write_item_classifications
from clearway.store.duty import write_assessments
from clearway.store.engine import writing
from clearway.store.ledger import record_batch
from clearway.store.parties import write_party_checks
from clearway.store.partitions import lock_keys
from clearway.store.resolution import resolve_batch
from clearway.store.risk import queue_columns, red_lanes_today, write_risk_decisions
from clearway.store.rollup import carrier_of, carriers_for, roll_up_batch
from clearway.store.schema import (
    declaration_items,
    declarations,
    master_filings,
    master_houses,
    risk_decisions,
)

__all__ = ["WriteResult", "write_batch"]

# Refs per "ref IN (...)" lookup, far below SQLite's parameter limit.
_LOOKUP_CHUNK = 500
_RETRIES = 3


@dataclass(slots=True)
class WriteResult:
    """What happened to each filing of a batch."""

    accepted: int = 0
    amended: int = 0
    duplicate: int = 0


@dataclass(slots=True)
class _Head:
    version: int
    content_hash: str
    row_id: int | None  # None while the row is still pending in this batch
    pending: dict[str, Any] | None = None


def _heads(
    conn: Connection, table: Table, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], _Head]:
    wanted = set(keys)
    refs = sorted({ref for _filer, ref in wanted})
    found: dict[tuple[str, str], _Head] = {}
    # "ref IN (...)" uses the plain ref index on SQLite and PostgreSQL alike;
    # a row-value IN over (filer_id, ref) made SQLite scan.
    for start in range(0, len(refs), _LOOKUP_CHUNK):
        rows = conn.execute(
            select(table.c.filer_id, table.c.ref, table.c.version, table.c.content_hash, table.c.id)
            .where(table.c.ref.in_(refs[start : start + _LOOKUP_CHUNK]))
            .where(table.c.current)
        )
        for filer_id, ref, version, content_hash, row_id in rows:
            if (filer_id, ref) in wanted:
                found[(filer_id, ref)] = _Head(version, content_hash, row_id)
    return found


def _plan(
    conn: Connection,
    table: Table,
    filings: Sequence[PreparedHouse | PreparedMaster],
    received_at: datetime,
    result: WriteResult,
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """Decide accepted / amended / duplicate for each filing, in input order.

    Returns the rows to insert, the ids of rows they supersede, and for each
    row the index of its filing in ``filings``.
    """
    heads = _heads(conn, table, [(f.filer_id, f.ref) for f in filings])
    rows: list[dict[str, Any]] = []
    sources: list[int] = []
    superseded: list[int] = []
    for index, filing in enumerate(filings):
        key = (filing.filer_id, filing.ref)
        head = heads.get(key)
        if head is not None and head.content_hash == filing.content_hash:
            result.duplicate += 1
            continue
        version = 1
        if head is not None:
            version = head.version + 1
            if head.pending is not None:
                head.pending["current"] = False
            elif head.row_id is not None:
                superseded.append(head.row_id)
            result.amended += 1
        else:
            result.accepted += 1
        row = {
            "filer_id": filing.filer_id,
            "ref": filing.ref,
            "version": version,
            "current": True,
            "content_hash": filing.content_hash,
            "received_at": received_at,
            "document": filing.document,
            **filing.columns,
        }
        rows.append(row)
        sources.append(index)
        heads[key] = _Head(version, filing.content_hash, None, row)
    return rows, superseded, sources


def _insert_versions(
    conn: Connection, table: Table, rows: list[dict[str, Any]], superseded: list[int]
) -> list[int]:
    if superseded:
        conn.execute(update(table).where(table.c.id.in_(superseded)).values(current=False))
    if not rows:
        return []
    ids = allocate_ids(conn, table, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    # Current rows go in after the superseded ones are cleared so the partial
    # unique index never sees two current versions of one key.
    bulk_insert(conn, table, rows)
    return ids


def _write(
    conn: Connection,
    batch: PreparedBatch,
    received_at: datetime,
    duty: DutyResult | None,
    ledger: LedgerKeys | None,
    parties: PartyChecks | None,
    classified: Sequence[Sequence[ItemClassification]] | None,
    risk: BatchRisk | None,
) -> WriteResult:
    result = WriteResult()
    lock_keys(conn, [(house.filer_id, house.ref) for house in batch.houses])
    house_rows, superseded, sources = _plan(conn, declarations, batch.houses, received_at, result)
    ids = _insert_versions(conn, declarations, house_rows, superseded)
    if superseded:
        conn.execute(
            update(risk_decisions)
            .where(risk_decisions.c.declaration_id.in_(superseded))
            .values(current=False)
        )
    # Masters before the houses' decisions: the queue records each house's carrier.
    master_rows, superseded, master_sources = _plan(
        conn, master_filings, batch.masters, received_at, result
    )
    master_ids = _insert_versions(conn, master_filings, master_rows, superseded)
    links = [
        {"master_id": row_id, "house_ref": ref}
        for row_id, index in zip(master_ids, master_sources, strict=True)
        for ref in batch.masters[index].house_refs
    ]
    bulk_insert(conn, master_houses, links)
    carriers = carriers_for(conn, house_rows)
    assessed = (
        write_assessments(conn, ids, sources, duty, "filed", received_at)
        if duty is not None
        else []
    )
    checked = write_party_checks(conn, ids, sources, parties) if parties is not None else []
    items = [
        {"declaration_id": row_id, **item}
        for row_id, index in zip(ids, sources, strict=True)
        for item in batch.houses[index].items
    ]
    bulk_insert(conn, declaration_items, items)
    if classified is not None:
        write_item_classifications(conn, ids, sources, classified)
    if risk is not None:
        # Lanes are bounded by the offices' daily capacity here, where
        # batches are written one after another: what earlier batches used
        # is known exactly.
        used = red_lanes_today(conn, received_at) if risk.daily_capacity is not None else {}
        write_risk_decisions(
            conn,
            ids,
            sources,
            risk.within(used),
            risk.rules_version,
            risk.model,
            received_at,
            queue=[queue_columns(row, carrier_of(row, carriers)) for row in house_rows],
        )
    check_catalogue(conn, house_rows, items)
    resolve_batch(conn, house_rows)
    roll_up_batch(conn, house_rows, carriers)
    if ledger is not None:
        record_batch(conn, ledger, house_rows, master_rows, assessed, received_at, checked)
    return result


def write_batch(
    engine: Engine,
    batch: PreparedBatch,
    received_at: datetime | None = None,
    duty: DutyResult | None = None,
    ledger: LedgerKeys | None = None,
    parties: PartyChecks | None = None,
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    risk: BatchRisk | None = None,
) -> WriteResult:
    """Store a prepared batch in one transaction, with the duty assessment of
    its houses when given (aligned with ``batch.houses``, as are ``parties``,
    the screening hits and routings, and ``classified``, the HS suggestions
    and misclassification signal per item line, and ``risk``, the lanes
    and reasons) and, with ``ledger``
    keys, every event on the ledger under a new signed checkpoint; retried
    if a concurrent writer stored the same key (or tree size) first."""
    when = received_at or datetime.now(UTC)
    last: Exception | None = None
    for _attempt in range(_RETRIES):
        try:
            with writing(engine).begin() as conn:
                return _write(conn, batch, when, duty, ledger, parties, classified, risk)
        except IntegrityError as exc:
            last = exc
        except OperationalError as exc:
            raise StoreError(f"writing a batch of filings failed: {exc.orig}") from exc
    raise StoreError(f"writing a batch of filings kept conflicting with another writer: {last}")
