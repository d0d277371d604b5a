"""Participants and API keys: issued once, stored hashed, scoped by role,
expiring, revocable.

A key reads ``cw_<prefix>_<secret>``: the prefix finds the row, the secret
is compared by its SHA-256 (the secret is 32 random bytes, so a plain hash
is enough; there is nothing to brute-force), in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from clearway.errors import InputError, NotAuthenticated, NotFound
from clearway.federation.policy import ROLES, Caller
from clearway.store.bulk import row_dict
from clearway.store.engine import as_utc, writing
from clearway.store.schema import api_keys, participants

__all__ = ["IssuedKey", "add_participant", "authenticate", "list_participants", "revoke_key"]


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new participant's key: shown once, never stored in clear."""

    participant_id: int
    key_id: int
    key: str
    expires_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_participant(
    engine: Engine,
    name: str,
    role: str,
    *,
    filer_id: str | None = None,
    agency: str | None = None,
    valid_days: int | None = 365,
) -> IssuedKey:
    """Register a participant and issue its first key."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}. Got {role!r}")
    if role in {"marketplace", "carrier", "broker"} and not filer_id:
        raise InputError(f"a {role} needs --filer-id: the filer id its filings carry")
    if role == "partner_agency" and not agency:
        raise InputError("a partner agency needs --agency: the agency name routings use")
    now = datetime.now(UTC)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires = now + timedelta(days=valid_days) if valid_days else None
    with writing(engine).begin() as conn:
        participant_id = conn.execute(
            insert(participants)
            .values(name=name, role=role, filer_id=filer_id, agency=agency, created_at=now)
            .returning(participants.c.id)
        ).scalar_one()
        key_id = conn.execute(
            insert(api_keys)
            .values(
                participant_id=participant_id,
                prefix=prefix,
                key_hash=_hash(secret),
                created_at=now,
                expires_at=expires,
            )
            .returning(api_keys.c.id)
        ).scalar_one()
    return IssuedKey(participant_id, key_id, f"cw_{prefix}_{secret}", expires)


def list_participants(engine: Engine) -> list[dict[str, Any]]:
    """Participants with their keys' state (never the keys)."""
    query = (
        select(
            participants,
            api_keys.c.id.label("key_id"),
            api_keys.c.prefix,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
        )
        .select_from(participants.outerjoin(api_keys))
        .order_by(participants.c.id, api_keys.c.id)
    )
    with engine.connect() as conn:
        return [row_dict(r) for r in conn.execute(query)]


def revoke_key(engine: Engine, key_id: int) -> None:
    with writing(engine).begin() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if done.rowcount == 0:
            raise NotFound(f"no active API key with id {key_id}")


def authenticate(engine: Engine, key: str | None) -> Caller:
    """The caller a key belongs to; :class:`NotAuthenticated` unless the key
    exists, matches, has not expired and is not revoked."""
    if not key or not key.startswith("cw_") or key.count("_") < 2:
        raise NotAuthenticated("missing or malformed API key")
    _, prefix, secret = key.split("_", 2)
    with engine.connect() as conn:
        row = conn.execute(
            select(api_keys, participants)
            .join(participants, participants.c.id == api_keys.c.participant_id)
            .where(api_keys.c.prefix == prefix)
        ).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(secret)):
        raise NotAuthenticated("unknown API key")
    now = datetime.now(UTC)
    if row.revoked_at is not None:
        raise NotAuthenticated("this API key was revoked")
    expires = as_utc(row.expires_at) if row.expires_at is not None else None
    if expires is not None and expires <= now:
        raise NotAuthenticated("this API key has expired")
    return Caller(row.participant_id, row.name, row.role, row.filer_id, row.agency)
