"""Signed notes (C2SP signed-note), checkpoints (C2SP tlog-checkpoint) and
Ed25519 cosignatures (C2SP tlog-cosignature, cosignature/v1).

A note is UTF-8 text ending in a newline, a blank line, then signature
lines ``— <key name> <base64(key ID || signature)>``. The Ed25519 key ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; a cosigner's is the
same with 0x04, and its signature is ``timestamp (u64 big-endian) ||
Ed25519(cosignature/v1\\ntime <t>\\n<checkpoint body>)``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "Checkpoint",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "add_signature_lines",
    "cosign",
    "open_note",
    "parse_checkpoint",
    "sign_note",
    "verify_cosignature",
]

_DASH = "\u2014 "
ED25519 = 0x01
COSIGNATURE_V1 = 0x04


class NoteError(ValueError):
    """A note, key, checkpoint or signature is malformed or does not verify."""


def _key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name must be non-empty without spaces or '+'. Got {name!r}")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public key with its name and kind (log key 0x01, cosigner key 0x04)."""

    name: str
    public: bytes
    kind: int = ED25519

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.kind, self.public)

    def vkey(self) -> str:
        """``<name>+<hex key ID>+<base64(kind || public key)>``."""
        material = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"verifier key must be name+keyid+key. Got {vkey!r}")
        name, key_id, material = parts
        _check_name(name)
        try:
            decoded = base64.b64decode(material, validate=True)
        except ValueError:  # binascii.Error, or text outside ASCII
            raise NoteError(f"verifier key material is not base64. Got {vkey!r}") from None
        if len(decoded) != 33 or decoded[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError(
                f"verifier key must be an Ed25519 key (type 0x01 or 0x04). Got {vkey!r}"
            )
        verifier = cls(name, decoded[1:], decoded[0])
        if len(key_id) != 8 or verifier.key_id.hex() != key_id.lower():
            raise NoteError(f"verifier key ID does not match its key. Got {vkey!r}")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    name: str
    private: Ed25519PrivateKey
    kind: int = ED25519

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> NoteSigner:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate(), kind)

    @classmethod
    def from_seed(cls, name: str, seed: bytes, kind: int = ED25519) -> NoteSigner:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), kind)

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """``PRIVATE+KEY+<name>+<hex key ID>+<base64(kind || seed)>``, the
        format of the Go reference implementation."""
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key must be PRIVATE+KEY+name+keyid+key")
        decoded = base64.b64decode(parts[4])
        signer = cls.from_seed(parts[2], decoded[1:], decoded[0])
        if signer.verifier.key_id.hex() != parts[3]:
            raise NoteError("signer key ID does not match its key")
        return signer

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, _raw(self.private.public_key()), self.kind)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def sign_note(text: str, signer: NoteSigner) -> str:
    """The signed note of ``text`` (which must end in a newline)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text must end in a newline and have no blank line")
    blob = signer.verifier.key_id + signer.sign(text.encode())
    return f"{text}\n{_DASH}{signer.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True, slots=True)
class _Signature:
    name: str
    key_id: bytes
    payload: bytes
    line: str


def _split_note(note: str) -> tuple[str, list[_Signature]]:
    if not note.endswith("\n"):
        raise NoteError("note must end in a newline")
    head, separator, tail = note.rpartition("\n\n")
    if not separator:
        raise NoteError("note has no blank line before its signatures")
    text = head + "\n"
    signatures = []
    for line in tail[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise NoteError(f"malformed signature line {line!r}")
        name, _, blob = line[len(_DASH) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:  # binascii.Error, or text outside ASCII
            raise NoteError(f"signature is not base64: {line!r}") from None
        if len(raw) < 5:
            raise NoteError(f"signature too short: {line!r}")
        signatures.append(_Signature(name, raw[:4], raw[4:], line))
    return text, signatures


def open_note(note: str, verifier: NoteVerifier) -> str:
    """The text of ``note`` if ``verifier`` signed it; raise NoteError if not."""
    text, signatures = _split_note(note)
    for sig in signatures:
        if sig.name == verifier.name and sig.key_id == verifier.key_id:
            if verifier.verify(text.encode(), sig.payload):
                return text
            raise NoteError(f"signature by {verifier.name} does not verify")
    raise NoteError(f"note is not signed by {verifier.name}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """origin, tree size, root hash (tlog-checkpoint), and the signed note."""

    origin: str
    size: int
    root: bytes
    note: str

    @property
    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def issue(cls, origin: str, size: int, root: bytes, signer: NoteSigner) -> Checkpoint:
        body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
        return cls(origin, size, root, sign_note(body, signer))


def parse_checkpoint(note: str, verifier: NoteVerifier) -> Checkpoint:
    """Verify the log's signature on ``note`` and parse its checkpoint."""
    text = open_note(note, verifier)
    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("checkpoint must have origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(
            f"checkpoint size must be a decimal without leading zeroes. Got {size_text!r}"
        )
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:  # binascii.Error, or text outside ASCII
        raise NoteError(f"checkpoint root is not base64. Got {root_text!r}") from None
    if len(root) != 32:
        raise NoteError("checkpoint root must be a 32-byte hash")
    if origin != verifier.name:
        raise NoteError(f"checkpoint origin {origin!r} is not the log {verifier.name!r}")
    return Checkpoint(origin, int(size_text), root, note)


def _cosigned_message(timestamp: int, body: str) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(checkpoint: Checkpoint, witness: NoteSigner, timestamp: int) -> str:
    """A cosignature/v1 signature line of ``witness`` over ``checkpoint``."""
    if witness.kind != COSIGNATURE_V1:
        raise NoteError("a cosigner key must be of type 0x04 (cosignature/v1)")
    text, _ = _split_note(checkpoint.note)
    signature = witness.sign(_cosigned_message(timestamp, text))
    blob = witness.verifier.key_id + struct.pack(">Q", timestamp) + signature
    return f"{_DASH}{witness.name} {base64.b64encode(blob).decode()}"


def verify_cosignature(note: str, witness: NoteVerifier) -> int:
    """The timestamp of ``witness``'s valid cosignature on ``note``; raise if none."""
    text, signatures = _split_note(note)
    for sig in signatures:
        if sig.name == witness.name and sig.key_id == witness.key_id:
            if len(sig.payload) != 8 + 64:
                raise NoteError(f"cosignature by {witness.name} has the wrong length")
            (timestamp,) = struct.unpack(">Q", sig.payload[:8])
            if timestamp >= 2**63 or not witness.verify(
                _cosigned_message(timestamp, text), sig.payload[8:]
            ):
                raise NoteError(f"cosignature by {witness.name} does not verify")
            return int(timestamp)
    raise NoteError(f"note has no cosignature by {witness.name}")


def add_signature_lines(note: str, lines: list[str]) -> str:
    """The note with extra signature lines (cosignatures) appended."""
    return note + "".join(f"{line}\n" for line in lines)
