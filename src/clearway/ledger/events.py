"""Ledger events: what a leaf holds, and selective disclosure of one field.

A leaf holds the event type, time, actors, a reference to the declaration
(an HMAC under the node's secret, so identifiers never appear in clear), a
tag binding the stored row of the event (its event id and the declaration
row it concerns, HMAC too) and one salted digest per field, in the SD-JWT format (RFC 9901): the
disclosure is base64url(JSON [salt, name, value]) and its digest is
base64url(SHA-256(disclosure)). Salts are 128 bits derived from the node's
secret, the event id and the field name (one HMAC per event, one SHA-256
per field), so the owner can re-create any disclosure without storing
salts, and nobody else can guess a low-entropy value from a digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from clearway.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from clearway.ledger.note import NoteError, NoteVerifier
from clearway.ledger.witness import published

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "LEAF_VERSION",
    "Disclosure",
    "DisclosureBundle",
    "Event",
    "encode_leaf",
    "entry_tag",
    "verify_bundle",
]

# 2: the leaf carries "id", the tag of its event id and declaration row, so
# that every column of a stored entry is covered by the leaf (1 had none; the
# project is pre-1.0 and keeps no version-1 logs, so only 2 is written or read).
LEAF_VERSION = 2


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_hmac_digest = hmac.digest
_sha256 = hashlib.sha256


def _b64url(data: bytes) -> str:
    # base64.urlsafe_b64encode without its two wrapper calls: it runs for
    # every committed field.
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _b64url_bytes(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


# HMAC-SHA-256 (RFC 2104) with the key's padded inner and outer hashes
# computed once per secret: the same MACs as hmac.digest, at half the cost
# (OpenSSL 3 sets a MAC context up on each one-shot call), once per field.
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


@lru_cache(maxsize=16)
def _hmac_pads(secret: bytes) -> tuple[_Hash, _Hash]:
    key = secret if len(secret) <= 64 else _sha256(secret).digest()
    key = key.ljust(64, b"\x00")
    return _sha256(key.translate(_IPAD)), _sha256(key.translate(_OPAD))


def _salt(inner: _Hash, outer: _Hash, name: str) -> bytes:
    """The first 128 bits of the HMAC whose inner hash has taken the
    message up to the field ``name``."""
    mac = inner.copy()
    mac.update(name.encode())
    out = outer.copy()
    out.update(mac.digest())
    return out.digest()[:16]


def _disclosure(salt: bytes, name: str, value: Any) -> bytes:
    """The disclosure of one field, ASCII: base64url(JSON [salt, name, value])."""
    return _b64url_bytes(
        orjson.dumps([_b64url_bytes(salt).decode(), name, value], option=orjson.OPT_SORT_KEYS)
    )


def _salt_hashes(secret: bytes, event_id: str) -> tuple[_Hash, _Hash]:
    """The HMAC state of an event's salts: "salt", NUL, event id, NUL taken
    in; each field's name finishes it."""
    inner, outer = _hmac_pads(secret)
    inner = inner.copy()
    inner.update(f"salt\x00{event_id}\x00".encode())
    return inner, outer


def field_digests(secret: bytes, event_id: str, fields: Mapping[str, Any]) -> list[str]:
    """The sorted digests a leaf commits: base64url(SHA-256(disclosure)) per
    field, the same bytes as ``Disclosure.make(...).digest``, in one loop
    without the objects: it runs for every field of every filing."""
    inner, outer = _salt_hashes(secret, event_id)
    return sorted(
        _b64url_bytes(
            _sha256(_disclosure(_salt(inner, outer, name), name, value)).digest()
        ).decode()
        for name, value in fields.items()
    )


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    type: str
    time: str
    actors: tuple[str, ...]
    subject: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Disclosure:
    text: str

    @classmethod
    def make(cls, secret: bytes, event_id: str, name: str, value: Any) -> Disclosure:
        salt = _salt(*_salt_hashes(secret, event_id), name)
        return cls(_disclosure(salt, name, value).decode())

    @property
    def digest(self) -> str:
        return _b64url(hashlib.sha256(self.text.encode()).digest())

    def open(self) -> tuple[str, Any]:
        try:
            salt, name, value = orjson.loads(_unb64url(self.text))
        except (ValueError, TypeError):
            raise NoteError("disclosure is not base64url JSON [salt, name, value]") from None
        if not isinstance(name, str) or len(_unb64url(salt)) < 16:
            raise NoteError("disclosure needs a 128-bit salt and a field name")
        return name, value


def event_seed(secret: bytes, event_id: str) -> bytes:
    """The secret seed of an event's salts: HMAC-SHA-256(secret, event id)."""
    return hmac.digest(secret, f"salt\x00{event_id}\x00".encode(), "sha256")


def subject_ref(secret: bytes, subject: str) -> str:
    return _hmac_digest(secret, f"ref\x00{subject}".encode(), "sha256").hex()


def entry_tag(secret: bytes, event_id: str, owner: int | None) -> str:
    """HMAC of the event id and the declaration row an entry concerns: what
    ties the stored ``event_id`` and ``declaration_id`` columns to the leaf
    without putting identifiers in clear."""
    owned = "" if owner is None else str(owner)
    return _hmac_digest(secret, f"id\x00{event_id}\x00{owned}".encode(), "sha256").hex()


def encode_leaf(event: Event, secret: bytes, owner: int | None) -> bytes:
    """The leaf bytes of ``event``, which concerns declaration row ``owner``:
    canonical JSON, digests sorted."""
    digests = field_digests(secret, event.event_id, event.fields)
    return orjson.dumps(
        {
            "v": LEAF_VERSION,
            "id": entry_tag(secret, event.event_id, owner),
            "type": event.type,
            "time": event.time,
            "actors": list(event.actors),
            "ref": subject_ref(secret, event.subject),
            "sd": digests,
        },
        option=orjson.OPT_SORT_KEYS,
    )


@dataclass(frozen=True, slots=True)
class DisclosureBundle:
    """What the owner of a field hands another party: one field, its salt,
    the leaf, the leaf's index, an inclusion proof and the checkpoint."""

    disclosure: str
    leaf: bytes
    index: int
    proof: Sequence[bytes]
    checkpoint: str

    def as_json(self) -> dict[str, Any]:
        return {
            "disclosure": self.disclosure,
            "leaf": _b64url(self.leaf),
            "index": self.index,
            "proof": [_b64url(p) for p in self.proof],
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DisclosureBundle:
        try:
            return cls(
                str(data["disclosure"]),
                _unb64url(data["leaf"]),
                int(data["index"]),
                [_unb64url(p) for p in data["proof"]],
                str(data["checkpoint"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NoteError(f"malformed disclosure bundle: {exc}") from None


def verify_bundle(
    bundle: DisclosureBundle,
    log: NoteVerifier,
    witnesses: Sequence[NoteVerifier] = (),
    quorum: int = 0,
) -> tuple[str, Any]:
    """Check a bundle offline; return the one disclosed (name, value).

    Raises NoteError when anything does not hold: the checkpoint's signatures
    and quorum, the inclusion of the leaf, the digest of the disclosure
    among the leaf's digests.
    """
    checkpoint = published(bundle.checkpoint, log, witnesses, quorum)
    try:
        verify_inclusion(
            leaf_hash(bundle.leaf), bundle.index, checkpoint.size, bundle.proof, checkpoint.root
        )
    except ProofError as exc:
        raise NoteError(f"leaf is not in the checkpointed tree: {exc}") from None
    try:
        leaf = orjson.loads(bundle.leaf)
    except orjson.JSONDecodeError:
        raise NoteError("leaf is not canonical JSON") from None
    disclosure = Disclosure(bundle.disclosure)
    if disclosure.digest not in leaf.get("sd", []):
        raise NoteError("disclosure's digest is not committed in the leaf")
    return disclosure.open()
