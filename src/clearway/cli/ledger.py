"""``clearway ledger ...``: the shared ledger's commands."""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer

from clearway.cli._common import console, settings_from_environment

__all__ = ["ledger_app"]

ledger_app = typer.Typer(
    help="The shared ledger: checkpoints, proofs, verification.", no_args_is_help=True
)


@ledger_app.command("checkpoint")
def checkpoint(
    witness: Annotated[list[str] | None, typer.Option(help="Witness vkey (repeat).")] = None,
    quorum: Annotated[int, typer.Option(help="Cosignatures required to call it published.")] = 0,
) -> None:
    """Print the latest signed checkpoint with the cosignatures gathered; with
    --witness and --quorum, exit 1 unless the quorum cosigned it."""
    from clearway.errors import InputError
    from clearway.ledger import NoteError, NoteVerifier, published
    from clearway.ledger.keys import keys_for
    from clearway.store import open_engine
    from clearway.store.ledger_reading import checkpoint_with_cosignatures

    settings = settings_from_environment()
    note = checkpoint_with_cosignatures(open_engine(settings.database_url))
    sys.stdout.write(note)
    if quorum:
        try:
            published(
                note,
                keys_for(settings).signer.verifier,
                [NoteVerifier.from_vkey(w) for w in witness or []],
                quorum,
            )
        except NoteError as exc:
            raise InputError(f"not published: {exc}") from None


@ledger_app.command("prove")
def prove(
    event_id: Annotated[str, typer.Argument(help="Ledger event id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print an inclusion proof of an event against the latest checkpoint (verified first)."""
    from clearway.ledger import leaf_hash, verify_inclusion
    from clearway.ledger.keys import keys_for
    from clearway.ledger.note import parse_checkpoint
    from clearway.store import open_engine
    from clearway.store.ledger import prove as build

    settings = settings_from_environment()
    proof = build(open_engine(settings.database_url), event_id)
    checkpoint = parse_checkpoint(proof.checkpoint, keys_for(settings).signer.verifier)
    verify_inclusion(leaf_hash(proof.leaf), proof.index, proof.size, proof.hashes, checkpoint.root)
    data = {
        "event_id": event_id,
        "index": proof.index,
        "tree_size": proof.size,
        "leaf": base64.b64encode(proof.leaf).decode(),
        "proof": [base64.b64encode(h).decode() for h in proof.hashes],
        "checkpoint": proof.checkpoint,
    }
    if as_json:
        console.print_json(orjson.dumps(data).decode())
        return
    console.print(f"event {event_id} is leaf {proof.index} of {proof.size}")
    for digest in proof.hashes:
        console.print(f"  {base64.b64encode(digest).decode()}")
    sys.stdout.write(proof.checkpoint)


@ledger_app.command("verify")
def verify(
    witness: Annotated[
        list[str] | None, typer.Option(help="Witness vkey whose stored cosignatures to check.")
    ] = None,
) -> None:
    """Recompute the tree from the stored events and check it against the
    tiles and every signed checkpoint, then every stored event, declaration,
    item line and master filing against its leaf; exit 1 listing each
    problem by index (what this proves: docs/security.md)."""
    from clearway.errors import InputError
    from clearway.ledger import NoteError, NoteVerifier
    from clearway.ledger.keys import keys_for
    from clearway.store import open_engine
    from clearway.store.ledger_audit import verify_ledger

    settings = settings_from_environment()
    try:
        witnesses = [NoteVerifier.from_vkey(w) for w in witness or []]
    except (NoteError, ValueError) as exc:
        raise InputError(f"--witness is not a verifier key: {exc}") from None
    report = verify_ledger(open_engine(settings.database_url), keys_for(settings), witnesses)
    if report.ok:
        console.print(
            f"ledger verified: {report.size:,} events, checkpoint size {report.checkpoint_size:,}"
        )
        return
    for problem in report.problems[:100]:
        console.print(f"[red]tampered[/red] {problem}", highlight=False)
    if len(report.problems) > 100:
        console.print(f"... and {len(report.problems) - 100} more")
    raise typer.Exit(1)


@ledger_app.command("disclose")
def disclose(
    event_id: Annotated[str, typer.Argument(help="Ledger event id.")],
    field: Annotated[str, typer.Argument(help="Committed field to disclose.")],
    out: Annotated[Path, typer.Option(help="Where to write the bundle (JSON).")],
) -> None:
    """Write a disclosure bundle: one field with its salt, the leaf, an
    inclusion proof and the checkpoint, verifiable offline."""
    from clearway.errors import InputError
    from clearway.ledger import Disclosure, DisclosureBundle
    from clearway.ledger.keys import keys_for
    from clearway.store import open_engine
    from clearway.store.ledger import prove as build
    from clearway.store.ledger_reading import checkpoint_with_cosignatures, event_fields

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    keys = keys_for(settings)
    _, leaf, fields = event_fields(engine, event_id)
    if field not in fields:
        raise InputError(f"field must be one of {', '.join(sorted(fields))}. Got {field!r}.")
    proof = build(engine, event_id)
    bundle = DisclosureBundle(
        Disclosure.make(keys.secret, event_id, field, fields[field]).text,
        leaf,
        proof.index,
        proof.hashes,
        checkpoint_with_cosignatures(engine, proof.size),
    )
    out.write_bytes(orjson.dumps(bundle.as_json(), option=orjson.OPT_INDENT_2))
    console.print(f"wrote {out}: {field} of {event_id}")


@ledger_app.command("check-bundle")
def check_bundle(
    bundle: Annotated[Path, typer.Argument(help="Disclosure bundle (JSON).")],
    log_key: Annotated[
        str | None, typer.Option(help="The log's verifier key (vkey); default: this node's.")
    ] = None,
    witness: Annotated[list[str] | None, typer.Option(help="Witness vkey (repeat).")] = None,
    quorum: Annotated[int, typer.Option(help="Cosignatures required.")] = 0,
) -> None:
    """Verify a disclosure bundle offline and print the one field it discloses."""
    from clearway.errors import InputError
    from clearway.ledger import DisclosureBundle, NoteError, NoteVerifier, verify_bundle
    from clearway.ledger.keys import keys_for

    try:
        log = (
            NoteVerifier.from_vkey(log_key)
            if log_key
            else keys_for(settings_from_environment()).signer.verifier
        )
        witnesses = [NoteVerifier.from_vkey(w) for w in witness or []]
        name, value = verify_bundle(
            DisclosureBundle.from_json(orjson.loads(bundle.read_bytes())), log, witnesses, quorum
        )
    except (NoteError, orjson.JSONDecodeError) as exc:
        raise InputError(f"{bundle}: not a valid disclosure: {exc}") from None
    console.print(f"verified: {name} = {orjson.dumps(value).decode()}")


@ledger_app.command("public-key")
def public_key() -> None:
    """Print the log's verifier key (vkey) for witnesses and readers."""
    from clearway.ledger.keys import keys_for

    print(keys_for(settings_from_environment()).signer.verifier.vkey())


@ledger_app.command("cosign")
def cosign_latest(
    witness_key: Annotated[Path, typer.Option(help="The witness's key file (created if absent).")],
    name: Annotated[str, typer.Option(help="The witness's name (schema-less URL).")],
    state: Annotated[
        Path,
        typer.Option(help="The witness's state: last checkpoint it cosigned (created if absent)."),
    ],
) -> None:
    """Act as a witness for this node's log: check the latest checkpoint is
    consistent with the one this witness last cosigned, cosign it, and store
    the cosignature with the checkpoint."""
    from clearway.ledger import Witness
    from clearway.ledger.keys import keys_for, load_or_create_witness_key
    from clearway.ledger.note import parse_checkpoint
    from clearway.store import open_engine
    from clearway.store.ledger import prove_consistency
    from clearway.store.ledger_reading import add_cosignature, checkpoint_with_cosignatures

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    log = keys_for(settings).signer.verifier
    witness = Witness(load_or_create_witness_key(witness_key, name), {log.name: log})
    if state.exists():
        witness.latest[log.name] = parse_checkpoint(state.read_text(), log)
    note = checkpoint_with_cosignatures(engine)
    new = parse_checkpoint(note, log)
    old = witness.latest[log.name].size if log.name in witness.latest else 0
    proof = prove_consistency(engine, old, new.size) if 0 < old < new.size else []
    line = witness.add_checkpoint(note, old, proof, int(time.time()))
    add_cosignature(engine, new.size, name, line)
    state.write_text(new.note)
    console.print(f"{name} cosigned {log.name} at size {new.size:,} (was {old:,})")


@ledger_app.command("request-cosignature")
def request_cosignature_command(
    url: Annotated[str, typer.Argument(help="The witness's add-checkpoint URL.")],
    witness_key: Annotated[str, typer.Option(help="The witness's cosigning key (vkey).")],
) -> None:
    """Ask another node's witness (C2SP tlog-witness) to cosign the latest
    checkpoint, with a consistency proof from the size it last cosigned;
    the checked cosignature is stored with the checkpoint."""
    from clearway.errors import InputError
    from clearway.federation.cosigning import request_cosignature
    from clearway.federation.transport import post
    from clearway.ledger import NoteError, NoteVerifier
    from clearway.store import open_engine
    from clearway.store.ledger_reading import SqlCosigningLog

    try:
        witness = NoteVerifier.from_vkey(witness_key)
    except (NoteError, ValueError) as exc:
        raise InputError(f"--witness-key is not a verifier key: {exc}") from None
    engine = open_engine(settings_from_environment().database_url)
    done = request_cosignature(SqlCosigningLog(engine), url, witness, post)
    console.print(f"{done.witness} cosigned size {done.size:,} (it had cosigned {done.old_size:,})")
