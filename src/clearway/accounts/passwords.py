"""Password hashes: scrypt (RFC 7914) with the cost parameters written into
each hash, so that they can be raised later without breaking older ones.

A hash reads ``scrypt$<N>$<r>$<p>$<salt>$<digest>`` (salt and digest in
base64). Hashing takes tens of milliseconds and 16 MiB on purpose: never
call these functions on an event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from clearway.errors import InputError

__all__ = ["MIN_LENGTH", "check_password", "hash_password", "new_password"]

MIN_LENGTH = 8
_N, _R, _P = 2**14, 8, 1
# Memory scrypt needs is 128 * N * r bytes; OpenSSL refuses above its
# default of 32 MiB unless told, and a stored hash may carry larger costs.
_MAXMEM = 64 * 1_048_576
# Checked against when the account does not exist, so that an unknown user
# costs as much time as a wrong password and cannot be told apart by it.
_DECOY_SALT = b"clearway-no-user"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def new_password() -> str:
    """A generated password (16 characters from 96 random bits), shown once."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    """The hash to store for ``password``; :class:`InputError` when it is
    shorter than :data:`MIN_LENGTH` characters."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"password must have at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the ``stored`` hash. ``None`` (no such
    account) and a malformed hash never match; both cost a full hash."""
    try:
        _, n, r, p, salt, digest = (stored or "").split("$")
        expected = base64.b64decode(digest, validate=True)
        found = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:
        _scrypt(password, _DECOY_SALT, _N, _R, _P)
        return False
    return hmac.compare_digest(found, expected)
