"""Restricted-party lists in the store: import (a new version replaces the
list's previous one and says which entries changed), list, remove; the
active lists for the screening stage; officers' false-positive marks; the
rows a rescreen reads and writes (called inside a sequencer tick)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, delete, exists, insert, or_, select

from clearway.errors import NotFound
from clearway.parties.lists import ScreeningList
from clearway.parties.screening import ListedParty, entry_digest
from clearway.store.bulk import bulk_insert, row_dict
from clearway.store.engine import as_utc, writing
from clearway.store.schema import (
    declarations,
    officer_decisions,
    risk_decisions,
    screening_alerts,
    screening_entries,
    screening_false_positives,
    screening_hits,
    screening_lists,
)

__all__ = [
    "ListImport",
    "active_lists",
    "false_positive_marks",
    "import_list",
    "mark_false_positive",
    "party_of",
    "read_alerts",
    "read_false_positives",
    "remove_list",
    "screening_candidates",
    "stored_lists",
    "write_rescreen",
]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ListImport:
    """What an import changed: entries new or different from the list's
    previous version (all of them for a new list), and entries gone."""

    name: str
    published: date
    entries: int
    changed: tuple[ListedParty, ...]
    removed: tuple[str, ...]
    replaced: bool


def _list_digest(digests: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()


def import_list(engine: Engine, listed: ScreeningList, now: datetime) -> ListImport:
    """Store ``listed`` as the current version of its list (by name)."""
    digests = {e.entry_id: entry_digest(e) for e in listed.entries}
    s, e = screening_lists.c, screening_entries.c
    with writing(engine).begin() as conn:
        old_id = conn.execute(select(s.id).where(s.name == listed.name)).scalar()
        before: dict[str, str] = {}
        if old_id is not None:
            before = {
                row.entry_id: row.digest
                for row in conn.execute(select(e.entry_id, e.digest).where(e.list_id == old_id))
            }
            conn.execute(delete(screening_entries).where(e.list_id == old_id))
            conn.execute(delete(screening_lists).where(s.id == old_id))
        list_id = conn.execute(
            insert(screening_lists)
            .values(
                name=listed.name,
                source=listed.source[:1024],
                format=listed.format,
                published=listed.published,
                entries=len(listed.entries),
                imported_at=now,
                digest=_list_digest(list(digests.values())),
                notes="; ".join(listed.notes),
            )
            .returning(s.id)
        ).scalar_one()
        rows = [
            {
                "list_id": list_id,
                "entry_id": entry.entry_id,
                "name": entry.name,
                "kind": entry.kind,
                "programs": entry.programs,
                "names": orjson.dumps(list(entry.names)).decode(),
                "countries": orjson.dumps(sorted(entry.countries)).decode(),
                "digest": digests[entry.entry_id],
            }
            for entry in {x.entry_id: x for x in listed.entries}.values()
        ]
        for start in range(0, len(rows), _CHUNK):
            bulk_insert(conn, screening_entries, rows[start : start + _CHUNK])
    changed = tuple(x for x in listed.entries if before.get(x.entry_id) != digests[x.entry_id])
    removed = tuple(sorted(set(before) - set(digests)))
    return ListImport(
        listed.name, listed.published, len(rows), changed, removed, old_id is not None
    )


def stored_lists(engine: Engine) -> list[dict[str, Any]]:
    """Every imported list: name, source, format, publication date, entries,
    imported at."""
    with engine.connect() as conn:
        rows = conn.execute(select(screening_lists).order_by(screening_lists.c.name)).all()
    out = []
    for row in rows:
        found = row_dict(row)
        found["imported_at"] = as_utc(found["imported_at"])
        out.append(found)
    return out


def remove_list(engine: Engine, name: str) -> int:
    """Remove a list and its entries; the number of entries removed."""
    s, e = screening_lists.c, screening_entries.c
    with writing(engine).begin() as conn:
        found = conn.execute(select(s.id, s.entries).where(s.name == name)).first()
        if found is None:
            raise NotFound(
                f"screening list {name!r} is not imported (see `clearway screening lists`)."
            )
        conn.execute(delete(screening_entries).where(e.list_id == found.id))
        conn.execute(delete(screening_lists).where(s.id == found.id))
    return int(found.entries)


_ACTIVE: dict[tuple[str, str], tuple[tuple[Any, ...], tuple[ScreeningList, ...]]] = {}


def active_lists(engine: Engine) -> tuple[ScreeningList, ...]:
    """Every imported list with its entries, read again only when a list
    changed (a refresh reads one small row per list)."""
    s, e = screening_lists.c, screening_entries.c
    with engine.connect() as conn:
        meta = conn.execute(select(screening_lists).order_by(s.name)).all()
        stamp = tuple((m.id, m.digest) for m in meta)
        cached = _ACTIVE.get((str(engine.url), ""))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        lists = []
        for m in meta:
            entries = tuple(
                ListedParty(
                    m.name,
                    row.entry_id,
                    row.name,
                    row.kind,
                    row.programs,
                    tuple(orjson.loads(row.names)),
                    frozenset(orjson.loads(row.countries)),
                )
                for row in conn.execute(
                    select(e.entry_id, e.name, e.kind, e.programs, e.names, e.countries)
                    .where(e.list_id == m.id)
                    .order_by(e.entry_id)
                )
            )
            lists.append(
                ScreeningList(
                    m.name,
                    m.source,
                    m.format,
                    m.published,
                    entries,
                    tuple(filter(None, [m.notes])),
                    f"{m.id}:{m.digest}",
                )
            )
    found = tuple(lists)
    _ACTIVE[(str(engine.url), "")] = (stamp, found)
    return found


def mark_false_positive(
    engine: Engine,
    *,
    party_key: str,
    party_name: str,
    list_name: str,
    entry_id: str,
    entry_digest: str,
    declaration_id: int | None,
    officer: str,
    note: str,
    now: datetime,
) -> dict[str, Any]:
    """Record that a party is not a list entry (as the entry reads now)."""
    values = {
        "party_key": party_key,
        "party_name": party_name[:512],
        "list_name": list_name,
        "entry_id": entry_id,
        "entry_digest": entry_digest,
        "declaration_id": declaration_id,
        "marked_by": officer,
        "marked_at": now,
        "note": note,
    }
    with writing(engine).begin() as conn:
        values["id"] = conn.execute(
            insert(screening_false_positives)
            .values(**values)
            .returning(screening_false_positives.c.id)
        ).scalar_one()
    return values


def party_of(engine: Engine, row_id: int, role: str) -> tuple[str, str, str, str | None]:
    """(filer id, ref, name, country) of a declaration row's seller or consignee."""
    d = declarations.c
    with engine.connect() as conn:
        row = conn.execute(
            select(d.filer_id, d.ref, d[f"{role}_name"], d[f"{role}_country"]).where(d.id == row_id)
        ).first()
    if row is None:
        raise NotFound(f"declaration row {row_id} does not exist.")
    return str(row[0]), str(row[1]), str(row[2] or ""), row[3]


def false_positive_marks(engine: Engine) -> frozenset[tuple[str, str, str, str]]:
    f = screening_false_positives.c
    with engine.connect() as conn:
        return frozenset(
            (r.party_key, r.list_name, r.entry_id, r.entry_digest)
            for r in conn.execute(select(f.party_key, f.list_name, f.entry_id, f.entry_digest))
        )


def read_false_positives(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    f = screening_false_positives.c
    with engine.connect() as conn:
        return [
            row_dict(r)
            for r in conn.execute(
                select(screening_false_positives).order_by(f.id.desc()).limit(limit)
            )
        ]


def read_alerts(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """The newest alerts rescreens raised, with the declaration's filer and ref."""
    a, d = screening_alerts.c, declarations.c
    with engine.connect() as conn:
        return [
            row_dict(r)
            for r in conn.execute(
                select(screening_alerts, d.filer_id, d.ref)
                .select_from(screening_alerts.join(declarations, d.id == a.declaration_id))
                .order_by(a.id.desc())
                .limit(limit)
            )
        ]


# -- inside a sequencer tick --------------------------------------------------


def screening_candidates(
    conn: Connection,
    pending_since: datetime,
    history: tuple[date, date] | None,
) -> list[dict[str, Any]]:
    """Current declarations to rescreen: those not yet released (no release
    decision) received since ``pending_since``, and with ``history`` every
    one filed in that date range (released or not)."""
    d, r, o = declarations.c, risk_decisions.c, officer_decisions.c
    released = exists().where(o.declaration_id == d.id, o.action == "release")
    pending = and_(~released, d.received_at >= pending_since)
    wanted = pending
    if history is not None:
        first, last = history
        in_range = and_(
            d.filed_at >= datetime.combine(first, time.min, tzinfo=UTC),
            d.filed_at < datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
        )
        wanted = or_(pending, in_range)
    rows = conn.execute(
        select(
            d.id, d.filer_id, d.ref, d.seller_name, d.seller_country, d.consignee_name,
            d.consignee_country, released.label("released"),
            r.lane, r.score, r.selected_by, r.rules, r.reasons, r.features,
        )
        .select_from(declarations.outerjoin(risk_decisions, r.declaration_id == d.id))
        .where(d.current, wanted)
        .order_by(d.id)
    ).all()  # fmt: skip
    return [row_dict(row) for row in rows]


def write_rescreen(
    conn: Connection, hits: list[dict[str, Any]], alerts: list[dict[str, Any]]
) -> None:
    """A rescreen's new hits (beside intake's, for ``show``) and alerts."""
    if hits:
        bulk_insert(conn, screening_hits, hits)
    if alerts:
        bulk_insert(conn, screening_alerts, alerts)
