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
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clearway.ledger.merkle import ProofError, verify_consistency
from clearway.ledger.note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    cosign,
    parse_checkpoint,
    verify_cosignature,
)

__all__ = ["SplitView", "Witness", "WitnessRefusal", "find_split_view", "published"]


class WitnessRefusal(ValueError):
    """The witness will not cosign; ``status`` follows tlog-witness (409
    stale or mismatched size, 422 bad proof, 403 bad signature)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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
        seen = self.latest.get(origin)
        seen_size = seen.size if seen else 0
        if old_size != seen_size:
            raise WitnessRefusal(409, f"witness is at size {seen_size}, not {old_size}")
        if new.size < seen_size:
            raise WitnessRefusal(409, f"checkpoint size {new.size} is older than {seen_size}")
        if seen is not None:
            if new.size == seen.size and new.root != seen.root:
                raise WitnessRefusal(409, "split view: same size, different root")
            try:
                verify_consistency(seen.size, new.size, proof, seen.root, new.root)
            except ProofError as exc:
                raise WitnessRefusal(422, f"consistency proof fails: {exc}") from None
        self.latest[origin] = new
        return cosign(new, self.signer, timestamp)


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


def load_or_create_witness_key(path: Path, name: str) -> NoteSigner:
    """A witness's cosigning key (type 0x04), kept in ``path`` (mode 0600)."""
    if path.exists():
        signer = NoteSigner.from_skey(path.read_text().strip())
        if signer.name != name or signer.kind != COSIGNATURE_V1:
            raise NoteError(f"{path} is not the cosigning key of {name!r}")
        return signer
    seed = secrets.token_bytes(32)
    signer = NoteSigner.from_seed(name, seed, COSIGNATURE_V1)
    material = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(f"PRIVATE+KEY+{name}+{signer.verifier.key_id.hex()}+{material}\n")
    return signer
