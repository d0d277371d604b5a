"""Witnesses: parties that check a log only ever grows, and cosign it.

A witness keeps the latest checkpoint it cosigned per log. Offered a new one
with a consistency proof from that size (tlog-witness), it verifies the
log's signature and the proof, then cosigns (cosignature/v1). A checkpoint
counts as published once a quorum of configured witnesses cosigned it. Two
validly signed checkpoints of one size with different roots are a split
view, reported with both notes as evidence.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from clearway.ledger.merkle import ProofError, verify_consistency
from clearway.ledger.note import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    cosign,
    parse_checkpoint,
    verify_cosignature,
)

__all__ = [
    "SplitView",
    "Witness",
    "WitnessRefusal",
    "decode_add_checkpoint",
    "encode_add_checkpoint",
    "find_split_view",
    "published",
]

# tlog-witness: a request carries at most 63 consistency proof lines.
MAX_PROOF_LINES = 63


class WitnessRefusal(ValueError):
    """The witness will not cosign; ``status`` follows tlog-witness (409
    stale or mismatched size, 422 bad proof, 403 bad signature)."""

    def __init__(self, status: int, message: str, known_size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        # On a size mismatch the witness tells the log the size it knows
        # (tlog-witness: 409 with a text/x.tlog.size body).
        self.known_size = known_size


@dataclass(frozen=True, slots=True)
class SplitView:
    """Evidence that a log showed two different trees of the same size."""

    origin: str
    size: int
    first: str
    second: str


@dataclass(slots=True)
class Witness:
    signer: NoteSigner
    logs: dict[str, NoteVerifier]
    latest: dict[str, Checkpoint] = field(default_factory=dict)

    def add_checkpoint(
        self, note: str, old_size: int, proof: Sequence[bytes], timestamp: int
    ) -> str:
        """Verify and cosign ``note``; return the cosignature line."""
        origin = note.split("\n", 1)[0]
        verifier = self.logs.get(origin)
        if verifier is None:
            raise WitnessRefusal(404, f"unknown log {origin!r}")
        try:
            new = parse_checkpoint(note, verifier)
        except NoteError as exc:
            raise WitnessRefusal(403, f"checkpoint does not verify: {exc}") from None
        if old_size > new.size:
            raise WitnessRefusal(400, f"old size {old_size} is past the checkpoint's {new.size}")
        seen = self.latest.get(origin)
        seen_size = seen.size if seen else 0
        if old_size != seen_size:
            raise WitnessRefusal(
                409, f"witness is at size {seen_size}, not {old_size}", known_size=seen_size
            )
        if seen is None and proof:
            raise WitnessRefusal(422, "a first checkpoint comes with no consistency proof")
        if seen is not None:
            if new.size == seen.size and new.root != seen.root:
                raise WitnessRefusal(409, "split view: same size, different root")
            try:
                verify_consistency(seen.size, new.size, proof, seen.root, new.root)
            except ProofError as exc:
                raise WitnessRefusal(422, f"consistency proof fails: {exc}") from None
        self.latest[origin] = new
        return cosign(new, self.signer, timestamp)


def encode_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The body of a tlog-witness ``add-checkpoint`` request: ``old <size>``,
    one base64 proof hash per line, an empty line, then the checkpoint."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


def decode_add_checkpoint(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, proof, checkpoint note) of an ``add-checkpoint`` body;
    :class:`WitnessRefusal` 400 when it is malformed."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "the request is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise WitnessRefusal(400, "the request must start with 'old <size>' and a blank line")
    size = lines[0].removeprefix("old ")
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise WitnessRefusal(400, f"old size must be a decimal number. Got {size!r}")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, f"at most {MAX_PROOF_LINES} proof lines. Got {len(lines) - 1}")
    proof = []
    for line in lines[1:]:
        try:
            digest = base64.b64decode(line, validate=True)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise WitnessRefusal(400, f"proof line {line[:60]!r} is not a base64 SHA-256 hash")
        proof.append(digest)
    return int(size), proof, note


def published(
    note: str, log: NoteVerifier, witnesses: Sequence[NoteVerifier], quorum: int
) -> Checkpoint:
    """The checkpoint of ``note`` if the log signed it and at least ``quorum``
    of ``witnesses`` cosigned it; raise NoteError otherwise."""
    checkpoint = parse_checkpoint(note, log)
    good = 0
    for witness in witnesses:
        try:
            verify_cosignature(note, witness)
        except NoteError:
            continue
        good += 1
    if good < quorum:
        raise NoteError(f"checkpoint has {good} valid cosignature(s), the policy needs {quorum}")
    return checkpoint


def find_split_view(notes: Sequence[str], log: NoteVerifier) -> SplitView | None:
    """Two validly signed checkpoints of one size with different roots, if any."""
    by_size: dict[int, Checkpoint] = {}
    for note in notes:
        checkpoint = parse_checkpoint(note, log)
        other = by_size.setdefault(checkpoint.size, checkpoint)
        if other.root != checkpoint.root:
            return SplitView(checkpoint.origin, checkpoint.size, other.note, checkpoint.note)
    return None
