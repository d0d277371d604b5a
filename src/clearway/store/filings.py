"""Writing filings: idempotent, versioned, one transaction per batch.

Resubmitting the same ``(filer_id, ref)`` with identical content is a no-op
(a *duplicate*); with different content it becomes the next version (an
*amendment*) and the previous version stays as history. A batch is written
whole or not at all, so a declaration is never half-stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from clearway.classification.misclassification import ItemClassification
from clearway.declarations.batch import PreparedBatch, PreparedHouse, PreparedMaster
from clearway.duty.assess import DutyResult
from clearway.errors import StoreError
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.parties.checks import PartyChecks
from clearway.store.bulk import allocate_ids, bulk_insert
from clearway.store.catalogue import check_catalogue
from clearway.store.classification import write_item_classifications
from clearway.store.duty import write_assessments
from clearway.store.engine import writing
from clearway.store.ledger import record_batch
from clearway.store.parties import write_party_checks
from clearway.store.partitions import lock_keys
from clearway.store.resolution import resolve_batch
from clearway.store.risk import queue_columns
from clearway.store.rollup import carrier_of, carriers_for, roll_up_batch
from clearway.store.schema import (
    declaration_items,
    declarations,
    master_filings,
    master_houses,
    risk_decisions,
)

__all__ = [
    "FilingPlan",
    "WriteResult",
    "plan_filings",
    "raise_lanes",
    "write_batch",
    "write_filings",
]

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
    # House rows get their ids when planned (the sequencer's decisions
    # name them); master rows here.
    if "id" not in rows[0]:
        for row, row_id in zip(rows, allocate_ids(conn, table, len(rows)), strict=True):
            row["id"] = row_id
    ids = [row["id"] for row in rows]
    # Current rows go in after the superseded ones are cleared so the partial
    # unique index never sees two current versions of one key.
    bulk_insert(conn, table, rows)
    return ids


@dataclass(slots=True)
class FilingPlan:
    """A batch's filings placed among the stored versions, before anything
    is written: ``houses`` the rows to insert (ids allocated), ``sources``
    the index in ``batch.houses`` of each, ``status`` per filing of the
    batch (accepted, amended, duplicate), ``previous`` the superseded
    version's decision per amended house row (lane, how it was selected)."""

    batch: PreparedBatch
    received_at: datetime
    result: WriteResult
    houses: list[dict[str, Any]]
    sources: list[int]
    superseded: list[int]
    masters: list[dict[str, Any]]
    master_sources: list[int]
    master_superseded: list[int]
    status: list[str]
    previous: dict[int, dict[str, Any]]


def _previous_decisions(conn: Connection, superseded: list[int]) -> dict[int, dict[str, Any]]:
    """The superseded versions' decisions, with their item descriptions and
    the features they were decided on (an amendment is compared with them)."""
    found: dict[int, dict[str, Any]] = {}
    r, i = risk_decisions.c, declaration_items.c
    for start in range(0, len(superseded), _LOOKUP_CHUNK):
        part = superseded[start : start + _LOOKUP_CHUNK]
        for row in conn.execute(
            select(r.declaration_id, r.lane, r.selected_by, r.features).where(
                r.declaration_id.in_(part)
            )
        ):
            found[row.declaration_id] = {
                "lane": row.lane,
                "selected_by": row.selected_by,
                "features": orjson.loads(row.features) if row.features else {},
                "descriptions": [],
            }
        for row_id, description in conn.execute(
            select(i.declaration_id, i.description)
            .where(i.declaration_id.in_(part))
            .order_by(i.declaration_id, i.line_no)
        ):
            if row_id in found:
                found[row_id]["descriptions"].append(description)
    return found


def plan_filings(conn: Connection, batch: PreparedBatch, received_at: datetime) -> FilingPlan:
    """Place the batch among stored versions (in input order) and allocate
    row ids; nothing is written yet."""
    result = WriteResult()
    lock_keys(conn, [(house.filer_id, house.ref) for house in batch.houses])
    house_rows, superseded, sources = _plan(conn, declarations, batch.houses, received_at, result)
    if house_rows:
        for row, row_id in zip(
            house_rows, allocate_ids(conn, declarations, len(house_rows)), strict=True
        ):
            row["id"] = row_id
    master_rows, master_superseded, master_sources = _plan(
        conn, master_filings, batch.masters, received_at, result
    )
    status = ["duplicate"] * len(batch.houses)
    for row, index in zip(house_rows, sources, strict=True):
        status[index] = "accepted" if row["version"] == 1 else "amended"
    previous_rows = _previous_decisions(conn, superseded)
    # Which superseded row each amended row replaces: the key's previous head.
    by_key = {(row["filer_id"], row["ref"]): row for row in house_rows}
    previous: dict[int, dict[str, Any]] = {}
    if superseded:
        heads = conn.execute(
            select(declarations.c.id, declarations.c.filer_id, declarations.c.ref).where(
                declarations.c.id.in_(superseded)
            )
        )
        for row_id, filer_id, ref in heads:
            planned = by_key.get((filer_id, ref))
            if planned is not None and row_id in previous_rows:
                previous[planned["id"]] = previous_rows[row_id]
    return FilingPlan(
        batch,
        received_at,
        result,
        house_rows,
        sources,
        superseded,
        master_rows,
        master_sources,
        master_superseded,
        status,
        previous,
    )


def _decision_rows(
    decisions: Sequence[Mapping[str, Any]], queue: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "declaration_id": d["declaration_id"],
            "score": round(float(d["score"]), 4),
            "lane": d["lane"],
            "selected_by": d["selected_by"],
            "rules": orjson.dumps(list(d["rules"])).decode(),
            "reasons": orjson.dumps(list(d["reasons"])).decode(),
            "rules_version": d["rules_version"],
            "model": d["model"],
            "decided_at": d["decided_at"],
            "features": orjson.dumps(d["features"], option=orjson.OPT_SERIALIZE_NUMPY).decode()
            if d.get("features") is not None
            else None,
            **columns,
        }
        for d, columns in zip(decisions, queue, strict=True)
    ]


def raise_lanes(conn: Connection, raises: Sequence[Mapping[str, Any]]) -> None:
    """Store lanes raised by later filings (never lowered: the sequencer
    only raises)."""
    if not raises:
        return
    statement = (
        update(risk_decisions)
        .where(risk_decisions.c.declaration_id == bindparam("row_id"))
        .values(
            lane=bindparam("new_lane"),
            selected_by=bindparam("new_selected_by"),
            score=bindparam("new_score"),
            rules=bindparam("new_rules"),
            reasons=bindparam("new_reasons"),
            features=bindparam("new_features"),
        )
    )
    conn.execute(
        statement,
        [
            {
                "row_id": r["declaration_id"],
                "new_lane": r["lane"],
                "new_selected_by": r["selected_by"],
                "new_score": round(float(r["score"]), 4),
                "new_rules": orjson.dumps(list(r["rules"])).decode(),
                "new_reasons": orjson.dumps(list(r["reasons"])).decode(),
                "new_features": orjson.dumps(
                    r["features"], option=orjson.OPT_SERIALIZE_NUMPY
                ).decode(),
            }
            for r in raises
        ],
    )


def write_filings(
    conn: Connection,
    plan: FilingPlan,
    *,
    duty: DutyResult | None = None,
    ledger: LedgerKeys | None = None,
    parties: PartyChecks | None = None,
    classified: Sequence[Sequence[ItemClassification]] | None = None,
    decisions: Sequence[Mapping[str, Any]] | None = None,
    events: Sequence[tuple[Event, int | None]] = (),
) -> WriteResult:
    """Write a planned batch and what the stages found, in the caller's
    transaction: versions, items, masters, duty, party checks, HS checks,
    the sequencer's ``decisions`` (aligned with ``plan.houses``), the
    catalogue, party resolution, daily counts and, with ``ledger`` keys,
    every event (``events`` besides the filings') under one checkpoint."""
    batch, received_at = plan.batch, plan.received_at
    house_rows, sources = plan.houses, plan.sources
    _insert_versions(conn, declarations, house_rows, plan.superseded)
    ids = [row["id"] for row in house_rows]
    if plan.superseded:
        conn.execute(
            update(risk_decisions)
            .where(risk_decisions.c.declaration_id.in_(plan.superseded))
            .values(current=False)
        )
    # Masters before the houses' decisions: the queue records each house's carrier.
    master_rows = plan.masters
    master_ids = _insert_versions(conn, master_filings, master_rows, plan.master_superseded)
    links = [
        {"master_id": row_id, "house_ref": ref}
        for row_id, index in zip(master_ids, plan.master_sources, strict=True)
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
    if decisions is not None:
        queue = [queue_columns(row, carrier_of(row, carriers)) for row in house_rows]
        bulk_insert(conn, risk_decisions, _decision_rows(decisions, queue))
    check_catalogue(conn, house_rows, items)
    # One decode per filing, for party resolution and the ledger alike.
    documents = [orjson.loads(row["document"]) for row in house_rows]
    resolve_batch(conn, house_rows, documents)
    roll_up_batch(conn, house_rows, carriers)
    if ledger is not None:
        record_batch(
            conn,
            ledger,
            house_rows,
            master_rows,
            assessed,
            received_at,
            checked,
            events,
            documents,
        )
    return plan.result


def write_batch(
    engine: Engine,
    batch: PreparedBatch,
    received_at: datetime | None = None,
    duty: DutyResult | None = None,
    ledger: LedgerKeys | None = None,
) -> WriteResult:
    """Store a prepared batch in one transaction (with its duty assessment
    and, with ``ledger`` keys, its events under a new checkpoint), without
    risk decisions: lanes are the sequencer's
    (:mod:`clearway.clearance.sequencer`). Retried if a concurrent writer
    stored the same key (or tree size) first."""
    when = received_at or datetime.now(UTC)
    last: Exception | None = None
    for _attempt in range(_RETRIES):
        try:
            with writing(engine).begin() as conn:
                return write_filings(
                    conn, plan_filings(conn, batch, when), duty=duty, ledger=ledger
                )
        except IntegrityError as exc:
            last = exc
        except OperationalError as exc:
            raise StoreError(f"writing a batch of filings failed: {exc.orig}") from exc
    raise StoreError(f"writing a batch of filings kept conflicting with another writer: {last}")
