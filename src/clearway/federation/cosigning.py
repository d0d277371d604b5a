"""This node's log asking another node's witness to cosign its latest
checkpoint (C2SP tlog-witness, the client side).

The log sends ``old <size>`` (the size that witness last cosigned here),
a consistency proof from there and the checkpoint. A witness that knows
another size answers 409 with it (``text/x.tlog.size``); the log retries
once from that size. A witness ahead of the log is evidence of a fork or a
rollback and is reported, never papered over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clearway.errors import Conflict, RemoteError
from clearway.federation.transport import Post
from clearway.ledger.note import NoteError, NoteVerifier, add_signature_lines, verify_cosignature
from clearway.ledger.witness import encode_add_checkpoint

__all__ = ["Cosigned", "CosigningLog", "request_cosignature"]


class CosigningLog(Protocol):
    """What asking for a cosignature needs of this node's log (the SQL one
    is :class:`clearway.store.ledger_reading.SqlCosigningLog`)."""

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """The latest checkpoint's size and signed note; None before the first."""

    def last_cosigned(self, witness: str) -> int:
        """The largest size ``witness`` has cosigned here (0: none)."""

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 consistency proof from tree size ``old`` to ``new``."""

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        """Keep a checked cosignature line with the checkpoint of ``size``."""


@dataclass(frozen=True, slots=True)
class Cosigned:
    witness: str
    size: int
    old_size: int
    line: str


def request_cosignature(log: CosigningLog, url: str, witness: NoteVerifier, send: Post) -> Cosigned:
    """Have the witness at ``url`` (its ``add-checkpoint`` endpoint) cosign
    the latest checkpoint; the checked cosignature is stored with it."""
    head = log.latest_checkpoint()
    if head is None:
        raise Conflict("the ledger has no checkpoint yet.")
    size, note = head
    old = log.last_cosigned(witness.name)
    for _ in range(2):
        if old > size:
            raise Conflict(
                f"witness {witness.name} has cosigned size {old} but this log is at {size}: "
                "the log was rolled back or forked; do not publish"
            )
        proof = log.consistency_proof(old, size) if 0 < old < size else []
        reply = send(
            url,
            encode_add_checkpoint(old, proof, note),
            {"Content-Type": "text/plain; charset=utf-8"},
        )
        known = reply.body.decode(errors="replace").strip()
        if reply.status == 409 and reply.content_type.startswith("text/x.tlog.size"):
            if not known.isdigit() or int(known) == old:
                break
            old = int(known)
            continue
        break
    if reply.status != 200:
        raise RemoteError(f"witness at {url} refused (HTTP {reply.status}): {known[:300]}")
    for line in reply.body.decode().splitlines():
        try:
            verify_cosignature(add_signature_lines(note, [line]), witness)
        except NoteError:
            continue
        log.add_cosignature(size, witness.name, line)
        return Cosigned(witness.name, size, old, line)
    raise RemoteError(f"witness at {url} answered no valid cosignature by {witness.name}")
