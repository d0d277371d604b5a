"""The tamper suite of ``ledger verify``: whoever can write the database but
does not hold the node's signing key changes one stored value (raw SQL,
foreign keys switched off as an attacker with write access can), and verify
fails naming the index or the row. Every column of every ledger table and of
every declaration table the ledger commits to is changed in turn; the few
columns no leaf can cover are an explicit, documented allow-list.

Each table builds one store, then tries each change in a transaction that
is rolled back, verifying inside it (so one ingest serves every column)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Column, Connection, Engine, Table, delete, func, select, text, update

from clearway.classification.confirmation import check_confirmation
from clearway.clearance import DutyOptions, Stages
from clearway.duty import load_book
from clearway.ledger import Witness, load_or_create_keys
from clearway.ledger.keys import LedgerKeys, load_or_create_witness_key
from clearway.ledger.note import NoteVerifier
from clearway.store.confirmations import record_confirmation
from clearway.store.ledger_audit import UNCOVERED, verify_on
from clearway.store.ledger_reading import add_cosignature, checkpoint_with_cosignatures
from clearway.store.reading import get_declaration
from clearway.store.schema import (
    declaration_items,
    declaration_parties,
    declarations,
    duty_assessments,
    hs_confirmations,
    ledger_checkpoints,
    ledger_cosignatures,
    ledger_entries,
    ledger_tiles,
    master_filings,
    master_houses,
)
from clearway.wiring import ingest_files
from tests import factories as f

DOCS = Path(__file__).resolve().parents[1] / "docs" / "security.md"

# Columns verify cannot cover, each with why (the same list, and reasons, as
# clearway.store.ledger_audit.UNCOVERED and docs/security.md). A change to
# one of them must still verify: if it stops doing so, it is covered and
# leaves this list.
ALLOWED = {
    "ledger_checkpoints.issued_at",
    "declaration_parties.*",
    "duty_assessments.reason",
    "duty_assessments.problem",
    "duty_assessments.current",
}


@pytest.fixture
def ledger(engine: Engine, tmp_path: Path) -> tuple[Engine, LedgerKeys, NoteVerifier]:
    """A store with two filings, an amendment, a master, their duty
    assessments and checks, an officer's correction of an item's HS code,
    and a checkpoint cosigned by a witness."""
    keys = load_or_create_keys(tmp_path / "ledger.key", "customs.example/clearway")
    stages = Stages(duty=DutyOptions(load_book()), ledger=keys)
    first, second = f.declaration(), f.declaration()
    amended = f.clone(first)
    amended["consignee"]["name"] = "Anna Schmidt-Meyer"
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(first, second, f.master([first["transport"]["tracking_number"]])))
    ingest_files(engine, [path], stages=stages)
    path.write_bytes(f.jsonl(amended))
    ingest_files(engine, [path], stages=stages)
    view = get_declaration(engine, amended["declaration_id"], amended["filer"]["id"])
    correction = check_confirmation(view.ref, view.document["items"], 0, "correct", "950300")
    record_confirmation(engine, view, correction, "officer-1", "a toy", datetime.now(UTC), keys)
    log = keys.signer.verifier
    signer = load_or_create_witness_key(tmp_path / "witness.key", "witness.example/w1")
    witness = Witness(signer, {log.name: log})
    note = checkpoint_with_cosignatures(engine)
    size = int(note.split("\n")[1])
    add_cosignature(engine, size, signer.name, witness.add_checkpoint(note, 0, [], 1_790_000_000))
    with engine.connect() as conn:
        report = verify_on(conn, keys, [signer.verifier])
    assert report.ok, report.problems
    return engine, keys, signer.verifier


def _attacker(conn: Connection) -> None:
    """Foreign keys off for this transaction, as database write access allows."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        conn.execute(text("PRAGMA defer_foreign_keys = ON"))


def _longest_string(value: Any) -> list[Any]:
    """The path to the longest string in a JSON value."""
    best: tuple[int, list[Any]] = (-1, [])

    def walk(node: Any, path: list[Any]) -> None:
        nonlocal best
        if isinstance(node, str) and len(node) > best[0]:
            best = (len(node), path)
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(child, [*path, key])
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, [*path, index])

    walk(value, [])
    return best[1]


def changed(column: Column[Any], value: Any) -> Any:
    """Another value of the column's type, as small a change as it can be."""
    python = column.type.python_type
    if value is None:
        return {
            bool: True,
            int: 7,
            float: 1.5,
            str: "Z",
            datetime: datetime(2026, 11, 3),
            bytes: b"Z",
        }[python]
    if python is bool:
        return not value
    if python is int:
        return value + 1000
    if python is float:
        return value + 1.0
    if python is datetime:
        return value + timedelta(seconds=1)
    if python is bytes:
        data = bytearray(value)
        data[-1] ^= 1
        return bytes(data)
    if column.name == "document":
        doc = orjson.loads(value)
        path = _longest_string(doc)
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] += "X"
        return orjson.dumps(doc).decode()
    return value[:-1] + ("Y" if value[-1:] != "Y" else "Z")


def _target(conn: Connection, table: Table) -> dict[str, Any]:
    """The row each table's changes are made to: the current version of the
    amended declaration and what hangs off it, the master, the first checkpoint."""
    amended = conn.execute(select(func.max(declarations.c.id))).scalar_one()
    query = select(table)
    if table is declarations:
        query = query.where(table.c.id == amended)
    elif table in (declaration_items, declaration_parties, duty_assessments, hs_confirmations):
        query = query.where(table.c.declaration_id == amended)
    elif table is ledger_entries:
        query = query.where(table.c.idx == 2)
    elif table is ledger_checkpoints:
        query = query.order_by(table.c.size)
    row = conn.execute(query.limit(1)).first()
    assert row is not None, f"{table.name} has no row to change"
    return dict(row._mapping)


def _expected(conn: Connection, table: Table, row: dict[str, Any], new: Any) -> str:
    """How verify must name the changed row: its index or its row id (a key
    column's new value counts too: that is the row's name now)."""

    def entry_of(declaration_id: int, kind: str) -> int:
        return int(
            conn.execute(
                select(ledger_entries.c.idx).where(
                    ledger_entries.c.declaration_id == declaration_id,
                    ledger_entries.c.event_type.like(f"{kind}%"),
                )
            ).scalar_one()
        )

    if table is ledger_entries:
        names = [rf"events? {row['idx']}\b"]
    elif table is ledger_tiles:
        names = [rf"tile {row['level']}/{row['idx']}\b", r"event 255\b|event \d+ was changed"]
    elif table is ledger_checkpoints:
        names = [rf"size {row['size']}\b"]
    elif table is ledger_cosignatures:
        names = [rf"cosignature.* at size {row['size']}\b"]
    elif table in (declarations, declaration_items):
        owner = row["id"] if table is declarations else row["declaration_id"]
        names = [
            rf"declaration row {owner}\b",
            rf"event {entry_of(owner, 'declaration.')}\b",
            rf"items of row {owner}\b",
        ]
    elif table is hs_confirmations:
        names = [
            rf"confirmation row {row['id']}\b",
            rf"event {entry_of(row['declaration_id'], 'item.')}\b",
        ]
    elif table in (master_filings, master_houses):
        owner = row["id"] if table is master_filings else row["master_id"]
        names = [rf"master filing row {owner}\b", rf"houses of row {owner}\b"]
    else:
        names = [
            rf"event {entry_of(row['declaration_id'], 'duty.')}\b",
            rf"assessment row {row['id']}\b",
        ]
    if isinstance(new, int) and not isinstance(new, bool):
        names.append(rf"\b{new}\b")
    return "|".join(names)


TABLES = [
    ledger_entries,
    ledger_tiles,
    ledger_checkpoints,
    ledger_cosignatures,
    declarations,
    declaration_items,
    declaration_parties,
    master_filings,
    master_houses,
    duty_assessments,
    hs_confirmations,
]


@pytest.mark.parametrize("table", TABLES, ids=[t.name for t in TABLES])
def test_every_column_change_is_reported_by_index(
    ledger: tuple[Engine, LedgerKeys, NoteVerifier], table: Table
) -> None:
    engine, keys, witness = ledger
    missed: list[str] = []
    passed_allowed: list[str] = []
    with engine.connect() as conn:
        for column in table.c:
            name = f"{table.name}.{column.name}"
            allowed = name in ALLOWED or f"{table.name}.*" in ALLOWED
            with conn.begin() as transaction:
                _attacker(conn)
                row = _target(conn, table)
                new = changed(column, row[column.name])
                pattern = "" if allowed else _expected(conn, table, row, new)
                keys_of = list(table.primary_key.columns)
                where = [c == row[c.name] for c in keys_of]
                conn.execute(update(table).where(*where).values({column.name: new}))
                report = verify_on(conn, keys, [witness])
                transaction.rollback()
            text_ = "\n".join(report.problems)
            if allowed:
                if report.ok:
                    passed_allowed.append(name)
                continue
            if report.ok or not re.search(pattern, text_):
                missed.append(f"{name} = {new!r}: {report.problems}")
    assert missed == []
    allowed_here = {n for n in ALLOWED if n.startswith(f"{table.name}.")}
    if allowed_here:
        # The allow-list is exact: an allowed column that verify now covers must leave it.
        assert passed_allowed, f"{table.name}: allowed columns no longer pass: {allowed_here}"


def test_the_allow_list_is_the_documented_one() -> None:
    assert set(UNCOVERED) - {"ledger_cosignatures.*"} == ALLOWED
    section = DOCS.read_text().split("## What `ledger verify` proves", 1)[1]
    for name in UNCOVERED:
        assert f"`{name}`" in section


def _verify(engine: Engine, keys: LedgerKeys, witness: NoteVerifier, *sql: Any) -> list[str]:
    with engine.connect() as conn, conn.begin() as transaction:
        _attacker(conn)
        for statement in sql:
            conn.execute(statement)
        report = verify_on(conn, keys, [witness])
        transaction.rollback()
    return report.problems


def _sizes(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(ledger_checkpoints.c.size).order_by(ledger_checkpoints.c.size)
            ).scalars()
        )


def test_deleting_checkpoints_leaves_events_unsigned(
    ledger: tuple[Engine, LedgerKeys, NoteVerifier],
) -> None:
    engine, keys, witness = ledger
    # The two newest checkpoints (the fixture signs after each write).
    *_, first, last = _sizes(engine)
    everything = _verify(
        engine, keys, witness, delete(ledger_cosignatures), delete(ledger_checkpoints)
    )
    assert f"log holds {last} events but no checkpoint: none of them is signed" in everything
    latest = _verify(
        engine,
        keys,
        witness,
        delete(ledger_cosignatures),
        delete(ledger_checkpoints).where(ledger_checkpoints.c.size == last),
    )
    assert (
        f"events {first}..{last - 1} are under no signed checkpoint "
        "(appended without the log's key)"
    ) in latest


def test_deleting_reordering_and_truncating_events(
    ledger: tuple[Engine, LedgerKeys, NoteVerifier],
) -> None:
    engine, keys, witness = ledger
    size = _sizes(engine)[-1]
    removed = _verify(
        engine, keys, witness, delete(ledger_entries).where(ledger_entries.c.idx == 1)
    )
    assert "events 1..1 are missing" in removed
    truncated = _verify(
        engine, keys, witness, delete(ledger_entries).where(ledger_entries.c.idx >= 3)
    )
    assert f"log holds 3 events but the checkpoint says {size} (truncated)" in truncated
    swap = [
        update(ledger_entries).where(ledger_entries.c.idx == i).values(idx=j)
        for i, j in ((1, 10_000), (2, 1), (10_000, 2))
    ]
    reordered = _verify(engine, keys, witness, *swap)
    assert "event 1 was changed or moved: its hash is not the one in the tree" in reordered
    assert "event 2 was changed or moved: its hash is not the one in the tree" in reordered
    emptied = _verify(
        engine,
        keys,
        witness,
        delete(ledger_cosignatures),
        delete(ledger_checkpoints),
        delete(ledger_entries),
        delete(ledger_tiles),
    )
    with engine.connect() as conn:
        rows = list(conn.execute(select(declarations.c.id)).scalars())
    for row in rows:
        assert f"declaration row {row}: no filing event on the ledger records it" in emptied


def test_a_rewritten_leaf_with_recomputed_tiles_and_root_fails_on_the_signed_root(
    ledger: tuple[Engine, LedgerKeys, NoteVerifier],
) -> None:
    """The review's attack: rewrite a leaf, recompute every tile and overwrite
    the unsigned root column; only the signed note still holds the old root."""
    from clearway.ledger.log import LedgerEntry, append
    from clearway.ledger.note import NoteSigner
    from clearway.store.ledger import SqlTileStore

    engine, keys, witness = ledger
    forger = NoteSigner.generate(keys.signer.name)  # same origin, not the node's key
    with engine.connect() as conn, conn.begin() as transaction:
        _attacker(conn)
        leaves = [
            (r.idx, r.event_id, r.event_type, r.declaration_id, bytes(r.leaf))
            for r in conn.execute(select(ledger_entries).order_by(ledger_entries.c.idx))
        ]
        notes = {
            row.size: row.note
            for row in conn.execute(select(ledger_checkpoints.c.size, ledger_checkpoints.c.note))
        }
        conn.execute(delete(ledger_cosignatures))
        conn.execute(delete(ledger_checkpoints))
        conn.execute(delete(ledger_entries))
        conn.execute(delete(ledger_tiles))
        entries = [LedgerEntry(e, t, leaf, d) for _, e, t, d, leaf in leaves]
        forged = orjson.loads(entries[2].leaf)
        forged["sd"][0] = "A" * 43
        entries[2] = LedgerEntry(
            entries[2].event_id,
            entries[2].event_type,
            orjson.dumps(forged, option=orjson.OPT_SORT_KEYS),
            entries[2].declaration_id,
        )
        store = SqlTileStore(conn)
        checkpoint = append(store, entries, forger, datetime(2026, 11, 3))
        # Put the node's own signed notes back, with the forged tree's root.
        conn.execute(delete(ledger_checkpoints))
        for size, note in notes.items():
            conn.execute(
                ledger_checkpoints.insert().values(
                    size=size, root=checkpoint.root, note=note, issued_at=datetime(2026, 11, 3)
                )
            )
        report = verify_on(conn, keys, [witness])
        transaction.rollback()
    text_ = "\n".join(report.problems)
    last = max(notes)
    assert f"checkpoint at size {last}: its root column is not the signed root" in text_
    assert f"checkpoint at size {last} does not match the events" in text_
    assert "event 2: " in text_
