"""The write path's adapter: the durable intake queue, the sequencer's
ticks (one transaction each, under a store-wide lock) and the decided
history its state is rebuilt from. Implements the Protocols of
:mod:`clearway.clearance.ports`; no decisions are made here."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import select as io_select
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import orjson
from sqlalchemy import Connection, Engine, delete, func, insert, select, text, tuple_, union_all
from sqlalchemy.exc import OperationalError

from clearway.classification.misclassification import ItemClassification
from clearway.clearance.ports import Counts, QueuedFiling, StoredDecision
from clearway.declarations.batch import PreparedBatch
from clearway.duty import DutyResult
from clearway.errors import StoreError
from clearway.ledger.events import Event
from clearway.ledger.keys import LedgerKeys
from clearway.parties.checks import PartyChecks
from clearway.store.engine import as_utc, writing
from clearway.store.filings import FilingPlan, plan_filings, raise_lanes, write_filings
from clearway.store.ledger import record_events
from clearway.store.schema import (
    declaration_items,
    declarations,
    intake_queue,
    master_filings,
    officer_decisions,
    risk_decisions,
    sequencer_ticks,
)
from clearway.store.screening import screening_candidates, write_rescreen

__all__ = ["SqlClearanceStore", "SqlIntake", "SqlTick"]

# The sequencer's lock on PostgreSQL (an arbitrary constant: "clearway").
_LOCK = 0x636C656172776179
_CHUNK = 500
_ITEM_COLUMNS = ("hs_code", "gtin", "sku", "currency", "origin_country", "unit_value",
                 "quantity", "net_weight_kg")  # fmt: skip


@functools.cache
def _ringer() -> socket.socket:
    """One sending socket per process, for every store's doorbell."""
    ring = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ring.setblocking(False)
    return ring


@dataclass(slots=True)
class SqlTick:
    conn: Connection

    def generation(self) -> int:
        return int(
            self.conn.execute(select(func.coalesce(func.max(sequencer_ticks.c.id), 0))).scalar_one()
        )

    def officer_lanes(self, after: int) -> list[tuple[int, int, str | None]]:
        o = officer_decisions.c
        return [
            (int(row.id), int(row.declaration_id), row.lane)
            for row in self.conn.execute(
                select(o.id, o.declaration_id, o.lane).where(o.id > after).order_by(o.id)
            )
        ]

    def last_officer_decision(self) -> int:
        found = self.conn.execute(select(func.max(officer_decisions.c.id))).scalar()
        return int(found or 0)

    def load_decided(self, horizon: timedelta) -> Iterator[StoredDecision]:
        r, d = risk_decisions.c, declarations.c
        newest = self.conn.execute(
            select(func.max(r.filed_at)).where(
                r.current, r.filed_at <= datetime.now(UTC) + timedelta(days=2)
            )
        ).scalar()
        if newest is None:
            return
        since = as_utc(newest) - horizon
        rows = self.conn.execute(
            select(
                d.id, d.filer_id, d.ref, d.filed_at, d.received_at, d.arrival_office,
                d.total_value, d.consignee_name, d.consignee_country, d.seller_name,
                r.lane, r.score, r.selected_by, r.rules, r.reasons, r.features,
            )
            .select_from(risk_decisions.join(declarations, d.id == r.declaration_id))
            .where(r.current, r.filed_at >= since)
            .order_by(d.id)
        ).all()  # fmt: skip
        items: dict[int, list[dict[str, Any]]] = {}
        ids = [row.id for row in rows]
        i = declaration_items.c
        for start in range(0, len(ids), _CHUNK):
            part = ids[start : start + _CHUNK]
            for item in self.conn.execute(
                select(i.declaration_id, *(i[name] for name in _ITEM_COLUMNS))
                .where(i.declaration_id.in_(part))
                .order_by(i.declaration_id, i.line_no)
            ):
                items.setdefault(item.declaration_id, []).append(
                    {name: getattr(item, name) for name in _ITEM_COLUMNS}
                )
        for row in rows:
            yield StoredDecision(
                row.id,
                row.filer_id,
                row.ref,
                as_utc(row.filed_at) if row.filed_at else None,
                as_utc(row.received_at),
                {
                    "arrival_office": row.arrival_office,
                    "total_value": row.total_value,
                    "consignee_name": row.consignee_name,
                    "consignee_country": row.consignee_country,
                    "seller_name": row.seller_name,
                },
                items.get(row.id, []),
                row.lane,
                float(row.score),
                row.selected_by,
                tuple(orjson.loads(row.rules)),
                tuple(orjson.loads(row.reasons)),
                orjson.loads(row.features) if row.features else None,
            )

    def claim(self, queue_ids: Sequence[int]) -> set[int]:
        q = intake_queue.c
        found: set[int] = set()
        for start in range(0, len(queue_ids), _CHUNK):
            query = select(q.id).where(q.id.in_(queue_ids[start : start + _CHUNK]))
            if self.conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found.update(int(i) for i in self.conn.execute(query).scalars())
        return found

    def plan(self, batch: PreparedBatch, received_at: datetime) -> FilingPlan:
        return plan_filings(self.conn, batch, received_at)

    def write(
        self,
        plan: Any,
        *,
        duty: DutyResult | None,
        ledger: LedgerKeys | None,
        parties: PartyChecks | None,
        classified: Sequence[Sequence[ItemClassification]] | None,
        decisions: Sequence[Mapping[str, Any]] | None,
        events: Sequence[tuple[Event, int | None]],
    ) -> Counts:
        result = write_filings(
            self.conn,
            plan,
            duty=duty,
            ledger=ledger,
            parties=parties,
            classified=classified,
            decisions=decisions,
            events=events,
        )
        return Counts(result.accepted, result.amended, result.duplicate)

    def raise_lanes(self, raises: Sequence[Mapping[str, Any]]) -> None:
        raise_lanes(self.conn, raises)

    def screening_candidates(
        self, pending_since: datetime, history: tuple[date, date] | None
    ) -> list[dict[str, Any]]:
        return screening_candidates(self.conn, pending_since, history)

    def write_rescreen(
        self, hits: Sequence[Mapping[str, Any]], alerts: Sequence[Mapping[str, Any]]
    ) -> None:
        write_rescreen(self.conn, [dict(h) for h in hits], [dict(a) for a in alerts])

    def append_events(self, ledger: LedgerKeys, events: Sequence[tuple[Event, int | None]]) -> None:
        if events:
            record_events(
                self.conn,
                ledger,
                [event for event, _ in events],
                [owner for _, owner in events],
                datetime.now(UTC),
            )

    def finish(self, queue_ids: Sequence[int], filings: int, raised: int) -> int:
        for start in range(0, len(queue_ids), _CHUNK):
            self.conn.execute(
                delete(intake_queue).where(intake_queue.c.id.in_(queue_ids[start : start + _CHUNK]))
            )
        return int(
            self.conn.execute(
                insert(sequencer_ticks)
                .values(ticked_at=datetime.now(UTC), filings=filings, raised=raised)
                .returning(sequencer_ticks.c.id)
            ).scalar_one()
        )


def _pending(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(intake_queue)).scalar_one())


@dataclass(slots=True)
class SqlIntake:
    """The intake queue inside one transaction (committed when it closes)."""

    conn: Connection

    def known(self, keys: Sequence[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        found: set[tuple[str, str, str]] = set()
        wanted = set(keys)
        pairs = sorted({(filer, ref) for filer, ref, _ in wanted})
        for start in range(0, len(pairs), _CHUNK):
            part = pairs[start : start + _CHUNK]
            # One statement for the three places a filing can be (one round
            # trip per chunk), each by (filer, ref): the queue's only index.
            query = union_all(
                *(
                    select(table.c.filer_id, table.c.ref, table.c.content_hash).where(
                        tuple_(table.c.filer_id, table.c.ref).in_(part),
                        *([table.c.current] if table is not intake_queue else []),
                    )
                    for table in (declarations, master_filings, intake_queue)
                )
            )
            found.update(key for key in map(tuple, self.conn.execute(query)) if key in wanted)
        return found

    def pending(self) -> int:
        return _pending(self.conn)

    def enqueue(self, filings: Sequence[QueuedFiling]) -> list[int]:
        rows = [
            {
                "kind": f.kind,
                "filer_id": f.filer_id,
                "ref": f.ref,
                "content_hash": f.content_hash,
                "document": f.document,
                "source": f.source,
                "received_at": f.received_at,
                "request_id": f.request_id,
            }
            for f in filings
        ]
        if not rows:
            return []
        return [
            int(i)
            for i in self.conn.execute(
                insert(intake_queue).returning(intake_queue.c.id, sort_by_parameter_order=True),
                rows,
            ).scalars()
        ]


class SqlClearanceStore:
    """The write path's store on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lead: Connection | IO[str] | None = None
        self._doorbell: socket.socket | None = None

    # -- the doorbell: a filing queued in one process of the server wakes the
    # sequencer loop in another at once (a Unix datagram on this host; from
    # other hosts the loop finds it on its next look at the queue).

    def _doorbell_path(self) -> str:
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return f"{url.database}.sequencer.sock"
        name = f"{url.host or 'local'}-{url.port or ''}-{url.database or ''}"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return os.path.join(tempfile.gettempdir(), f"clearway-sequencer-{safe}.sock")

    def notify(self) -> None:
        """Ring the sequencer's doorbell (nobody listening is fine)."""
        with contextlib.suppress(OSError):
            _ringer().sendto(b"1", self._doorbell_path())

    def wait_for_filings(self, timeout: float) -> None:
        """In the leading process: wait until a filing is queued or
        ``timeout`` seconds pass."""
        bell = self._doorbell
        if bell is None:
            time.sleep(timeout)
            return
        ready, _, _ = io_select.select([bell], [], [], timeout)
        while ready:
            with contextlib.suppress(OSError):
                bell.recv(64)
            ready, _, _ = io_select.select([bell], [], [], 0)

    def _open_doorbell(self) -> None:
        path = self._doorbell_path()
        # Only the leader binds: a stale socket of a dead leader goes.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            bell.bind(path)
        except OSError:
            bell.close()
            return
        self._doorbell = bell

    @contextmanager
    def tick(self) -> Iterator[SqlTick]:
        try:
            with writing(self.engine).begin() as conn:
                if conn.dialect.name == "postgresql":
                    # One sequencer at a time per store; SQLite's BEGIN
                    # IMMEDIATE already excludes every other writer.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
                yield SqlTick(conn)
        except OperationalError as exc:
            raise StoreError(f"a sequencer tick failed: {exc.orig}") from exc

    # -- leadership: which process runs the background sequencer -------------

    def try_lead(self) -> bool:
        """Become the process that runs the sequencer loop (held until
        :meth:`resign` or exit); False if another process is."""
        if self._lead is not None:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK + 1}).scalar()
            conn.commit()
            if not got:
                conn.close()
                return False
            self._lead = conn
            self._open_doorbell()
            return True
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True
        stream = open(f"{database}.sequencer", "a")  # noqa: SIM115 - held while leading
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            stream.close()
            return False
        stream.write(f"{os.getpid()}\n")
        stream.flush()
        self._lead = stream
        self._open_doorbell()
        return True

    def resign(self) -> None:
        lead, self._lead = self._lead, None
        if lead is not None:
            lead.close()
        bell, self._doorbell = self._doorbell, None
        if bell is not None:
            bell.close()

    # -- the intake queue ----------------------------------------------------

    def peek(self, limit: int) -> list[QueuedFiling]:
        with self.engine.connect() as conn:
            return [
                QueuedFiling(
                    row.id,
                    row.kind,
                    row.filer_id,
                    row.ref,
                    row.content_hash,
                    row.document,
                    as_utc(row.received_at),
                    row.source,
                    request_id=row.request_id,
                )
                for row in conn.execute(
                    select(intake_queue).order_by(intake_queue.c.id).limit(limit)
                )
            ]

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return _pending(conn)

    @contextmanager
    def intake(self) -> Iterator[SqlIntake]:
        """One transaction for intake's look at the queue and its append:
        a group commit costs a few round trips to the store, not three
        connections' worth."""
        with writing(self.engine).begin() as conn:
            yield SqlIntake(conn)

    def waiting(self, queue_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(queue_ids), _CHUNK):
                found.update(
                    int(i)
                    for i in conn.execute(
                        select(intake_queue.c.id).where(
                            intake_queue.c.id.in_(queue_ids[start : start + _CHUNK])
                        )
                    ).scalars()
                )
        return found
