"""The second half of ``ledger verify``: the stored rows against the leaves.

:func:`clearway.ledger.log.verify` proves the leaves are the signed tree's.
This module proves the rows are the leaves': every column of a ledger entry
against the tag and type its leaf commits to, each filing and assessment
re-derived from the stored record and encoded again (so a changed document,
time or version changes the leaf and is reported by index), and every
column of every declaration, master filing and item line re-derived from
its stored document by the intake code itself. Reads are chunked by key,
so memory stays bounded however large the store.

Columns left out, and why, are listed in :data:`UNCOVERED` (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, func, select, tuple_

from clearway.declarations.batch import PreparedHouse, PreparedMaster, prepare_batch
from clearway.declarations.intake.base import RawRecord
from clearway.ledger.events import LEAF_VERSION, Event, encode_leaf, entry_tag, subject_ref
from clearway.ledger.keys import LedgerKeys
from clearway.ledger.log import VerifyReport
from clearway.ledger.log import verify as verify_tree
from clearway.ledger.note import NoteError, NoteVerifier
from clearway.ledger.recording import assessment_events, confirmation_events, filing_events
from clearway.ledger.witness import published
from clearway.store.ledger import SqlTileStore
from clearway.store.schema import (
    declaration_items,
    declarations,
    duty_assessments,
    duty_lines,
    hs_confirmations,
    ledger_checkpoints,
    ledger_cosignatures,
    ledger_entries,
    master_filings,
    master_houses,
)

__all__ = ["UNCOVERED", "audit", "verify_ledger", "verify_on"]

# Columns whose stored value no leaf commits to, with the reason. Each is
# either rebuilt by verify itself or a workflow value whose changes are
# events of their own on the ledger.
UNCOVERED: dict[str, str] = {
    "ledger_checkpoints.issued_at": "when the row was written; a C2SP checkpoint signs origin, "
    "size and root only, and each event's time is in its leaf",
    "ledger_cosignatures.*": "a witness's signature, checked by whoever holds the witness's key "
    "(`ledger checkpoint --witness --quorum`, `ledger check-bundle`); local verify checks "
    "the lines of the witnesses it is given with --witness",
    "declaration_parties.*": "party resolution's output (entity and evidence), re-decided as "
    "entities are resolved; the declared parties are in the committed document",
    "duty_assessments.reason": "why a reassessment ran, free text; the assessed figures, time "
    "and version are committed by the duty.assessed event",
    "duty_assessments.problem": "a note on what the assessment could not rate; the figures "
    "are committed",
    "duty_assessments.current": "workflow: flips when the next assessment is written, which "
    "is itself a committed duty.assessed event",
}

_FILINGS = ("declaration.filed", "declaration.amended")
_CONFIRMED = "item.hs_confirmed"
_MASTERS = ("master.filed", "master.amended")
# The SQLite bound-parameter limit is far above this; PostgreSQL's too.
_CHUNK = 500


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive UTC; PostgreSQL, the session's zone.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def _chunks(conn: Connection, table: Table, chunk: int) -> Iterator[Sequence[Any]]:
    """The rows of ``table`` by its integer key, ``chunk`` at a time."""
    key = table.c.idx if "idx" in table.c else table.c.id
    last = -(2**63)
    while True:
        rows = conn.execute(select(table).where(key > last).order_by(key).limit(chunk)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].idx if "idx" in table.c else rows[-1].id


def _row(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    for name in ("received_at", "assessed_at", "confirmed_at"):
        if name in values:
            values[name] = _utc(values[name])
    return values


def _rebuilt(
    entry: Any, keys: LedgerKeys, decls: Mapping[int, Any], masters: Mapping[str, Any], record: Any
) -> tuple[Event | None, str]:
    """The event of a stored entry rebuilt from the records it commits, and
    what it was rebuilt from (for the report); None when its type is not
    re-derivable or its record is gone (reported by the caller)."""
    if entry.event_type in _FILINGS and entry.declaration_id in decls:
        return filing_events("declaration", [_row(decls[entry.declaration_id])])[0], (
            f"declaration row {entry.declaration_id}"
        )
    if entry.event_type in _MASTERS and entry.event_id in masters:
        row = masters[entry.event_id]
        return filing_events("master", [_row(row)])[0], f"master filing row {row.id}"
    if record is None:
        return None, ""
    decl = decls[entry.declaration_id]
    subjects = {entry.declaration_id: f"{decl.filer_id}/{decl.ref}"}
    if entry.event_type == "duty.assessed":
        return assessment_events([_row(record)], subjects)[0], f"duty assessment row {record.id}"
    if entry.event_type == _CONFIRMED:
        # The row's own declaration_id must be the entry's (else it names
        # another declaration's subject and the rebuilt leaf differs).
        subjects = {record.declaration_id: subjects[entry.declaration_id]}
        return confirmation_events([_row(record)], subjects)[0], f"confirmation row {record.id}"
    return None, ""


def _master_key(event_id: str) -> tuple[str, str, int] | None:
    """(filer, ref, version) of a master event id ``master.filed:filer/ref:vN``."""
    try:
        subject, version = event_id.split(":", 1)[1].rsplit(":v", 1)
        filer_id, ref = subject.split("/", 1)
        return filer_id, ref, int(version)
    except ValueError:
        return None


def _confirmation_key(event_id: str) -> int | None:
    """The row id of ``item.hs_confirmed:<id>``."""
    try:
        return int(event_id.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _duty_key(event_id: str) -> int | None:
    try:
        return int(event_id.rsplit(":v", 1)[1])
    except (IndexError, ValueError):
        return None


def _audit_entries(conn: Connection, keys: LedgerKeys, problems: list[str]) -> None:
    secret = keys.secret
    for entries in _chunks(conn, ledger_entries, _CHUNK):
        owners = {e.declaration_id for e in entries if e.declaration_id is not None}
        decls = {
            r.id: r for r in conn.execute(select(declarations).where(declarations.c.id.in_(owners)))
        }
        wanted = {
            e.event_id: key
            for e in entries
            if e.event_type in _MASTERS and (key := _master_key(e.event_id)) is not None
        }
        found = {}
        if wanted:
            rows = conn.execute(
                select(master_filings).where(
                    tuple_(
                        master_filings.c.filer_id, master_filings.c.ref, master_filings.c.version
                    ).in_(list(set(wanted.values())))
                )
            )
            found = {(r.filer_id, r.ref, r.version): r for r in rows}
        masters = {event: found[key] for event, key in wanted.items() if key in found}
        duty_wanted = [
            (e.declaration_id, v)
            for e in entries
            if e.event_type == "duty.assessed" and (v := _duty_key(e.event_id)) is not None
        ]
        duties = {}
        if duty_wanted:
            duties = {
                (r.declaration_id, r.version): r
                for r in conn.execute(
                    select(duty_assessments).where(
                        tuple_(duty_assessments.c.declaration_id, duty_assessments.c.version).in_(
                            duty_wanted
                        )
                    )
                )
            }
        confirmed = [
            row_id
            for e in entries
            if e.event_type == _CONFIRMED and (row_id := _confirmation_key(e.event_id)) is not None
        ]
        confirmations = {}
        if confirmed:
            confirmations = {
                r.id: r
                for r in conn.execute(
                    select(hs_confirmations).where(hs_confirmations.c.id.in_(confirmed))
                )
            }
        for entry in entries:
            problems.extend(
                _entry_problems(entry, secret, keys, decls, masters, duties, confirmations)
            )


def _entry_problems(
    entry: Any,
    secret: bytes,
    keys: LedgerKeys,
    decls: Mapping[int, Any],
    masters: Mapping[str, Any],
    duties: Mapping[tuple[int, int], Any],
    confirmations: Mapping[int, Any],
) -> list[str]:
    at = f"event {entry.idx}"
    leaf_bytes = _bytes(entry.leaf)
    try:
        leaf = orjson.loads(leaf_bytes)
    except orjson.JSONDecodeError:
        return [f"{at}: its leaf is not canonical JSON"]
    if not isinstance(leaf, dict) or leaf.get("v") != LEAF_VERSION:
        return [f"{at}: its leaf is not a version-{LEAF_VERSION} leaf"]
    problems = []
    if leaf.get("type") != entry.event_type:
        problems.append(f"{at}: its event_type column is not the type its leaf commits to")
    if leaf.get("id") != entry_tag(secret, str(entry.event_id), entry.declaration_id):
        problems.append(
            f"{at}: its event_id or declaration_id column is not the one its leaf commits to"
        )
    decl = decls.get(entry.declaration_id) if entry.declaration_id is not None else None
    if entry.declaration_id is not None:
        if decl is None:
            return [*problems, f"{at}: its declaration row {entry.declaration_id} is missing"]
        if leaf.get("ref") != subject_ref(secret, f"{decl.filer_id}/{decl.ref}"):
            problems.append(
                f"{at}: declaration row {decl.id}'s filer_id or ref is not the one "
                "its leaf commits to"
            )
    return problems + _record_problems(
        at, entry, leaf, secret, keys, decls, masters, duties, confirmations
    )


def _record_problems(
    at: str,
    entry: Any,
    leaf: Mapping[str, Any],
    secret: bytes,
    keys: LedgerKeys,
    decls: Mapping[int, Any],
    masters: Mapping[str, Any],
    duties: Mapping[tuple[int, int], Any],
    confirmations: Mapping[int, Any],
) -> list[str]:
    """The entry's record, re-derived into its event, against the leaf."""
    problems: list[str] = []
    record = None
    if entry.event_type == "duty.assessed":
        version = _duty_key(str(entry.event_id))
        record = duties.get((entry.declaration_id, version or 0))
        if record is None:
            return [*problems, f"{at}: its duty assessment is missing"]
    if entry.event_type == _CONFIRMED:
        record = confirmations.get(_confirmation_key(str(entry.event_id)) or 0)
        if record is None or entry.declaration_id not in decls:
            return [*problems, f"{at}: its confirmation row is missing"]
    if entry.event_type in _MASTERS and entry.event_id not in masters:
        return [*problems, f"{at}: its master filing is missing"]
    event, source = _rebuilt(entry, keys, decls, masters, record)
    if event is None:
        return problems
    if event.event_id != entry.event_id:
        problems.append(
            f"{at}: {source} is not the filing its event names (filer_id, ref or version changed)"
        )
        return problems
    rebuilt = orjson.loads(encode_leaf(event, secret, entry.declaration_id))
    for name, what in (
        ("sd", "its committed fields"),
        ("time", "its time"),
        ("actors", "its actors"),
    ):
        if rebuilt.get(name) != leaf.get(name):
            problems.append(f"{at}: {source} does not match {what} in the leaf")
    return problems


def _columns_problems(at: str, stored: Any, derived: PreparedHouse | PreparedMaster) -> list[str]:
    problems = []
    expected: dict[str, Any] = {
        "filer_id": derived.filer_id,
        "ref": derived.ref,
        "content_hash": derived.content_hash,
        "document": derived.document,
        **derived.columns,
    }
    for name, value in expected.items():
        if _differs(stored._mapping[name], value):
            problems.append(f"{at}: its {name} is not the one its committed document gives")
    return problems


def _differs(have: Any, want: Any) -> bool:
    """Whether a stored value is not the derived one, of the same type."""
    if isinstance(have, datetime) or isinstance(want, datetime):
        return not (isinstance(have, datetime) and isinstance(want, datetime)) or (
            _utc(have) != _utc(want)
        )
    return have != want or (type(have) is not type(want) and not _same_number(have, want))


def _same_number(a: Any, b: Any) -> bool:
    # 3 and 3.0 are one stored FLOAT; True and 1 are not one BOOLEAN.
    numbers = (int, float)
    return (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and a == b
    )


def _derive(document: str) -> PreparedHouse | PreparedMaster | None:
    batch = prepare_batch([RawRecord("store", 1, document.encode())])
    filings: list[PreparedHouse | PreparedMaster] = [*batch.houses, *batch.masters]
    return filings[0] if filings else None


def _latest_versions(conn: Connection, table: Table, rows: Sequence[Any]) -> dict[Any, int]:
    refs = sorted({r.ref for r in rows})
    return {
        (filer_id, ref): version
        for filer_id, ref, version in conn.execute(
            select(table.c.filer_id, table.c.ref, func.max(table.c.version))
            .where(table.c.ref.in_(refs))
            .group_by(table.c.filer_id, table.c.ref)
        )
    }


def _audit_declarations(conn: Connection, problems: list[str]) -> None:
    for rows in _chunks(conn, declarations, _CHUNK):
        ids = [r.id for r in rows]
        events: dict[int, int] = {}
        for idx, owner in conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.declaration_id).where(
                ledger_entries.c.declaration_id.in_(ids),
                ledger_entries.c.event_type.in_(_FILINGS),
            )
        ):
            events.setdefault(owner, idx)
        latest = _latest_versions(conn, declarations, rows)
        items: dict[int, list[Any]] = {}
        for item in conn.execute(
            select(declaration_items)
            .where(declaration_items.c.declaration_id.in_(ids))
            .order_by(declaration_items.c.declaration_id, declaration_items.c.line_no)
        ):
            items.setdefault(item.declaration_id, []).append(item)
        for row in rows:
            at, derived = _version_problems(
                f"declaration row {row.id}", events.get(row.id), row, latest, problems
            )
            if not isinstance(derived, PreparedHouse):
                problems.append(f"{at}: its document is not a valid declaration")
                continue
            problems.extend(_columns_problems(at, row, derived))
            problems.extend(_item_problems(at, items.get(row.id, []), derived.items))


def _version_problems(
    at: str, event: int | None, row: Any, latest: dict[Any, Any], problems: list[str]
) -> tuple[str, Any]:
    """What a stored version (declaration or master) must show whatever its
    kind: a filing event that records it, a current flag that says whether
    it is the latest version. Returns where it is (named by its event when
    there is one) and its document as intake derives it again."""
    if event is None:
        problems.append(f"{at}: no filing event on the ledger records it")
    else:
        at += f" (event {event})"
    if row.current is not (latest.get((row.filer_id, row.ref)) == row.version):
        problems.append(f"{at}: its current flag is not whether it is the latest version")
    return at, _derive(str(row.document))


def _item_problems(at: str, stored: Sequence[Any], derived: Sequence[dict[str, Any]]) -> list[str]:
    problems = []
    by_line = {item.line_no: item for item in stored}
    for line in derived:
        item = by_line.pop(line["line_no"], None)
        if item is None:
            problems.append(f"{at}: item line {line['line_no']} is missing")
            continue
        for name, value in line.items():
            if _differs(item._mapping[name], value):
                problems.append(
                    f"{at}: item line {line['line_no']}'s {name} is not the one its "
                    "committed document gives"
                )
    problems.extend(f"{at}: item line {n} is not in its document" for n in sorted(by_line))
    return problems


def _audit_masters(conn: Connection, problems: list[str]) -> None:
    for rows in _chunks(conn, master_filings, _CHUNK):
        ids = [r.id for r in rows]
        wanted = [
            f"master.{'filed' if r.version == 1 else 'amended'}:{r.filer_id}/{r.ref}:v{r.version}"
            for r in rows
        ]
        events = {
            row.event_id: row.idx
            for row in conn.execute(
                select(ledger_entries.c.event_id, ledger_entries.c.idx).where(
                    ledger_entries.c.event_id.in_(wanted)
                )
            )
        }
        latest = _latest_versions(conn, master_filings, rows)
        houses: dict[int, set[str]] = {}
        for master_id, house_ref in conn.execute(
            select(master_houses.c.master_id, master_houses.c.house_ref).where(
                master_houses.c.master_id.in_(ids)
            )
        ):
            houses.setdefault(master_id, set()).add(house_ref)
        for row, event_id in zip(rows, wanted, strict=True):
            at, derived = _version_problems(
                f"master filing row {row.id}", events.get(event_id), row, latest, problems
            )
            if not isinstance(derived, PreparedMaster):
                problems.append(f"{at}: its document is not a valid master filing")
                continue
            problems.extend(_columns_problems(at, row, derived))
            if houses.get(row.id, set()) != set(derived.house_refs):
                problems.append(
                    f"{at}: its master_houses rows are not the houses its document lists"
                )


def _audit_orphans(conn: Connection, problems: list[str]) -> None:
    """Rows that hang off no stored declaration or master: an item line or
    master house whose parent id was changed."""
    for (declaration_id,) in conn.execute(
        select(declaration_items.c.declaration_id)
        .where(~declaration_items.c.declaration_id.in_(select(declarations.c.id)))
        .distinct()
    ):
        problems.append(f"declaration items of row {declaration_id}: no such declaration")
    for (master_id,) in conn.execute(
        select(master_houses.c.master_id)
        .where(~master_houses.c.master_id.in_(select(master_filings.c.id)))
        .distinct()
    ):
        problems.append(f"master houses of row {master_id}: no such master filing")
    for (assessment_id,) in conn.execute(
        select(duty_lines.c.assessment_id)
        .where(~duty_lines.c.assessment_id.in_(select(duty_assessments.c.id)))
        .distinct()
    ):
        problems.append(f"duty lines of assessment row {assessment_id}: no such assessment")


def _audit_confirmations(conn: Connection, problems: list[str]) -> None:
    """Every confirmation row is recorded by its ``item.hs_confirmed``
    event (a row whose id was changed, or added without one, is not)."""
    for rows in _chunks(conn, hs_confirmations, _CHUNK):
        wanted = {f"{_CONFIRMED}:{r.id}": r for r in rows}
        query = select(ledger_entries.c.event_id, ledger_entries.c.declaration_id).where(
            ledger_entries.c.event_id.in_(list(wanted))
        )
        found: dict[str, int | None] = {
            row.event_id: row.declaration_id for row in conn.execute(query)
        }
        for event_id, row in wanted.items():
            if event_id not in found:
                problems.append(f"confirmation row {row.id}: no event on the ledger records it")
            elif found[event_id] != row.declaration_id:
                problems.append(f"confirmation row {row.id}: its declaration_id is not its event's")


def audit(conn: Connection, keys: LedgerKeys) -> list[str]:
    """Every problem found between the stored rows and their leaves."""
    problems: list[str] = []
    _audit_entries(conn, keys, problems)
    _audit_declarations(conn, problems)
    _audit_masters(conn, problems)
    _audit_confirmations(conn, problems)
    _audit_orphans(conn, problems)
    return problems


def _audit_cosignatures(
    conn: Connection, log: NoteVerifier, witnesses: Sequence[NoteVerifier], problems: list[str]
) -> None:
    """The stored cosignature lines of the witnesses named, each against the
    checkpoint it is stored with; lines of other witnesses need their keys."""
    known = {w.name: w for w in witnesses}
    last = (-1, "")
    while True:
        rows = conn.execute(
            select(
                ledger_cosignatures.c.size,
                ledger_cosignatures.c.witness,
                ledger_cosignatures.c.line,
                ledger_checkpoints.c.note,
            )
            .outerjoin(ledger_checkpoints, ledger_checkpoints.c.size == ledger_cosignatures.c.size)
            .where(tuple_(ledger_cosignatures.c.size, ledger_cosignatures.c.witness) > last)
            .order_by(ledger_cosignatures.c.size, ledger_cosignatures.c.witness)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        last = (rows[-1].size, rows[-1].witness)
        for size, name, line, note in rows:
            if note is None:
                problems.append(f"cosignature of {name} at size {size}: no such checkpoint")
                continue
            if not str(line).startswith(f"\u2014 {name} "):
                problems.append(f"cosignature at size {size}: its line is not signed by {name}")
                continue
            witness = known.get(name)
            if witness is None:
                continue
            try:
                published(f"{note}{line}\n", log, [witness], 1)
            except NoteError:
                problems.append(f"cosignature of {name} at size {size} does not verify")


def verify_ledger(
    engine: Engine,
    keys: LedgerKeys,
    witnesses: Sequence[NoteVerifier] = (),
    chunk: int = 10_000,
) -> VerifyReport:
    """``clearway ledger verify``: the tree against its tiles and signed
    checkpoints, then every stored row against the leaves, in one read."""
    with engine.connect() as conn:
        return verify_on(conn, keys, witnesses, chunk)


def verify_on(
    conn: Connection,
    keys: LedgerKeys,
    witnesses: Sequence[NoteVerifier] = (),
    chunk: int = 10_000,
) -> VerifyReport:
    """:func:`verify_ledger` on an open connection (one read)."""
    log = keys.signer.verifier
    report = verify_tree(SqlTileStore(conn), log, chunk)
    report.problems.extend(audit(conn, keys))
    _audit_cosignatures(conn, log, witnesses, report.problems)
    return report
