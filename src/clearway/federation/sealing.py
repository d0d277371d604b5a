"""Secrets kept at rest sealed: the HMAC secrets this node signs webhooks
with and checks other nodes' notifications against must be read back in
clear, so they cannot be hashed like API keys and passwords; they are
stored encrypted (AES-256-GCM) under a key the database does not hold.

Whoever copies the database (a backup, a replica, a read-only leak) learns
no secret. The sealed value names the row it belongs to (associated data),
so one row's secret cannot be moved to another row that would then sign or
accept with it.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clearway.errors import ConfigurationError
from clearway.ledger.keys import check_private, create_private, key_file
from clearway.settings import Settings

__all__ = ["PREFIX", "Sealer", "load_or_create_sealer", "rotate", "seal_clear", "sealer_for"]

# Rewrites every stored secret with a function of (stored, context) that
# returns the new value or None; the store implements it in one transaction.
Reseal = Callable[[Callable[[str, str], str | None]], int]

PREFIX = "sealed:v1:"
_NONCE = 12


class Sealer:
    """Seals and opens short secrets with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigurationError("the secrets key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, secret: str, context: str) -> str:
        """``secret`` encrypted for the row ``context`` names (``table:id``)."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, context: str) -> str:
        """The secret sealed in ``stored`` for ``context``. A value that is
        not sealed, was sealed for another row or under another key, or was
        changed, is refused: a secret written into the database in clear by
        whoever can write it must not become one this node trusts."""
        if not stored.startswith(PREFIX):
            raise ConfigurationError(
                f"the secret of {context} is not sealed; run `clearway db seal-secrets`"
            )
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, ValueError):
            raise ConfigurationError(
                f"the secret of {context} does not open with this node's secrets key "
                "(changed in the database, or sealed under another key)"
            ) from None


def load_or_create_sealer(path: Path) -> Sealer:
    """The sealer whose key is in ``path`` (made mode 0600 if absent)."""
    if path.exists():
        check_private(path)
        text = path.read_text().strip()
        if not text.startswith("SECRETS+"):
            raise ConfigurationError(f"{path}: a secrets key file holds one line, SECRETS+...")
        try:
            return Sealer(base64.b64decode(text[len("SECRETS+") :], validate=True))
        except ValueError as exc:
            raise ConfigurationError(f"{path}: {exc}") from None
    key = secrets.token_bytes(32)
    create_private(path, f"SECRETS+{base64.b64encode(key).decode()}\n")
    return Sealer(key)


def sealer_for(settings: Settings) -> Sealer:
    """This node's sealer, as the settings name its key file."""
    return load_or_create_sealer(key_file(settings, "secrets"))


def seal_clear(sealer: Sealer, reseal: Reseal) -> int:
    """Seal the secrets an older version stored in clear; returns how many."""
    return reseal(
        lambda stored, context: None if stored.startswith(PREFIX) else sealer.seal(stored, context)
    )


def rotate(path: Path, reseal: Reseal) -> int:
    """Re-seal every stored secret under a new key, then make it the key of
    ``path``. The new key is written beside the old one first and replaces
    it only once the store has committed, so a crash between the two leaves
    the new key file (``.next``) that a second run finishes with."""
    upcoming = path.with_name(path.name + ".next")
    old = load_or_create_sealer(path)
    if upcoming.exists():
        new = load_or_create_sealer(upcoming)
    else:
        key = secrets.token_bytes(32)
        create_private(upcoming, f"SECRETS+{base64.b64encode(key).decode()}\n")
        new = Sealer(key)

    def rewrite(stored: str, context: str) -> str:
        try:
            secret = old.open(stored, context)
        except ConfigurationError:
            secret = new.open(stored, context)  # an interrupted rotation sealed it
        return new.seal(secret, context)

    changed = reseal(rewrite)
    os.replace(upcoming, path)
    return changed
