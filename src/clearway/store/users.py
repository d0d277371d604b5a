"""People who sign in to the officer workspace, and their sessions.

The store keeps password hashes and never sees a password:
:mod:`clearway.accounts` hashes and checks them (scrypt, slow on purpose,
so the web runs it in a worker thread). A session cookie carries a random
token of which only the SHA-256 is stored (32 random bytes need no slow
hash), with a CSRF token for the session's forms.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from clearway.errors import Conflict, InputError, NotFound
from clearway.store.engine import as_utc, writing
from clearway.store.schema import web_sessions, web_users

__all__ = [
    "ROLES",
    "StoredCredentials",
    "WebUser",
    "add_user",
    "credentials_of",
    "disable_user",
    "open_session",
    "session_user",
    "set_password_hash",
    "sign_out",
]

ROLES = ("customs_officer", "customs_analyst")
SESSION = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    username: str
    name: str
    role: str
    csrf: str

    @property
    def may_act(self) -> bool:
        """Officers decide; analysts read."""
        return self.role == "customs_officer"


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """What signing in checks a password against."""

    user_id: int
    password_hash: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    engine: Engine, username: str, name: str, role: str, now: datetime, *, password_hash: str
) -> None:
    """Create a workspace account with the hash of its password (see
    :func:`clearway.accounts.hash_password`)."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}. Got {role!r}")
    if (
        not username
        or len(username) > 64
        or not username.replace("-", "").replace(".", "").isalnum()
    ):
        raise InputError(f"username must be 1-64 letters, digits, '.' or '-'. Got {username!r}")
    with writing(engine).begin() as conn:
        try:
            conn.execute(
                insert(web_users).values(
                    username=username,
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    created_at=now,
                )
            )
        except IntegrityError:
            raise Conflict(f"user {username!r} exists already.") from None


def set_password_hash(engine: Engine, username: str, password_hash: str) -> None:
    """Replace an account's password hash; its sessions end."""
    with writing(engine).begin() as conn:
        user_id = conn.execute(
            select(web_users.c.id).where(web_users.c.username == username)
        ).scalar()
        if user_id is None:
            raise NotFound(f"user {username!r} not found.")
        conn.execute(
            update(web_users).where(web_users.c.id == user_id).values(password_hash=password_hash)
        )
        conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


def disable_user(engine: Engine, username: str, now: datetime) -> None:
    """Disable an account (kept for the audit trail); its sessions end and
    it can no longer sign in."""
    with writing(engine).begin() as conn:
        user_id = conn.execute(
            select(web_users.c.id).where(web_users.c.username == username)
        ).scalar()
        if user_id is None:
            raise NotFound(f"user {username!r} not found.")
        conn.execute(
            update(web_users)
            .where(web_users.c.id == user_id, web_users.c.disabled_at.is_(None))
            .values(disabled_at=now)
        )
        conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


def credentials_of(engine: Engine, username: str) -> StoredCredentials | None:
    """The stored password hash of an enabled account (None: no such account)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(web_users.c.id, web_users.c.password_hash).where(
                web_users.c.username == username, web_users.c.disabled_at.is_(None)
            )
        ).first()
    return None if row is None else StoredCredentials(row.id, row.password_hash)


def open_session(engine: Engine, user_id: int, now: datetime) -> str:
    """A new session for an account whose password was checked: its token
    (only the token's hash is stored). Expired sessions are dropped here."""
    token = secrets.token_urlsafe(32)
    with writing(engine).begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        conn.execute(
            insert(web_sessions).values(
                token_hash=_token_hash(token),
                user_id=user_id,
                csrf=secrets.token_hex(16),
                created_at=now,
                expires_at=now + SESSION,
            )
        )
    return token


def session_user(engine: Engine, token: str | None, now: datetime) -> WebUser | None:
    """The signed-in user behind a session token, if the session is current."""
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(web_users, web_sessions.c.csrf, web_sessions.c.expires_at)
            .join(web_sessions, web_sessions.c.user_id == web_users.c.id)
            .where(
                web_sessions.c.token_hash == _token_hash(token),
                web_users.c.disabled_at.is_(None),
            )
        ).first()
    if row is None or as_utc(row.expires_at) < now:
        return None
    return WebUser(row.id, row.username, row.name, row.role, row.csrf)


def sign_out(engine: Engine, token: str) -> None:
    with writing(engine).begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _token_hash(token)))
