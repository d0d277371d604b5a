"""This node as a witness of other clearway nodes' logs (C2SP tlog-witness).

The witness keeps, per log origin, only the latest checkpoint it cosigned.
A request is checked by :class:`clearway.ledger.Witness` against that state
and the state advances by compare-and-set on the size, so two concurrent
requests from the same old size cannot both be cosigned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from clearway.errors import Conflict
from clearway.ledger.note import NoteError, NoteSigner, NoteVerifier, parse_checkpoint
from clearway.ledger.witness import Witness, WitnessRefusal, decode_add_checkpoint
from clearway.store.bulk import row_dict
from clearway.store.engine import writing
from clearway.store.schema import witnessed_logs

__all__ = ["add_witnessed_log", "list_witnessed_logs", "witness_checkpoint"]


def add_witnessed_log(engine: Engine, vkey: str, now: datetime) -> str:
    """Start witnessing the log of verifier key ``vkey``; returns its origin."""
    from clearway.errors import InputError

    try:
        log = NoteVerifier.from_vkey(vkey.strip())
    except (NoteError, ValueError) as exc:
        raise InputError(f"vkey is not a signed-note verifier key: {exc}") from None
    with writing(engine).begin() as conn:
        if conn.execute(
            select(witnessed_logs.c.origin).where(witnessed_logs.c.origin == log.name)
        ).first():
            raise Conflict(f"log {log.name!r} is witnessed already.")
        conn.execute(
            insert(witnessed_logs).values(
                origin=log.name, vkey=log.vkey(), size=0, note=None, updated_at=now
            )
        )
    return log.name


def list_witnessed_logs(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            row_dict(r)
            for r in conn.execute(
                select(
                    witnessed_logs.c.origin, witnessed_logs.c.size, witnessed_logs.c.updated_at
                ).order_by(witnessed_logs.c.origin)
            )
        ]


def witness_checkpoint(engine: Engine, signer: NoteSigner, body: bytes, now: datetime) -> str:
    """Answer a tlog-witness ``add-checkpoint`` request: the cosignature line,
    or :class:`WitnessRefusal` with the status the protocol gives."""
    old_size, proof, note = decode_add_checkpoint(body)
    origin = note.split("\n", 1)[0]
    with engine.connect() as conn:
        row = conn.execute(select(witnessed_logs).where(witnessed_logs.c.origin == origin)).first()
    if row is None:
        raise WitnessRefusal(404, f"this witness does not witness log {origin!r}")
    log = NoteVerifier.from_vkey(row.vkey)
    witness = Witness(signer, {origin: log})
    if row.note is not None:
        witness.latest[origin] = parse_checkpoint(row.note, log)
    line = witness.add_checkpoint(note, old_size, proof, int(now.timestamp()))
    new = witness.latest[origin]
    with writing(engine).begin() as conn:
        moved = conn.execute(
            update(witnessed_logs)
            .where(witnessed_logs.c.origin == origin, witnessed_logs.c.size == row.size)
            .values(size=new.size, note=new.note, updated_at=now)
        ).rowcount
        if moved != 1:
            current = conn.execute(
                select(witnessed_logs.c.size).where(witnessed_logs.c.origin == origin)
            ).scalar_one()
            raise WitnessRefusal(
                409, f"witness moved to size {current} meanwhile", known_size=int(current)
            )
    return line
