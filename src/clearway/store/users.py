"""People who sign in to the officer workspace, and their sessions.

Passwords are kept as scrypt hashes (RFC 7914 parameters in the hash, so
they can be raised later); a session cookie carries a random token of which
only the SHA-256 is stored, with a CSRF token for the session's forms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from clearway.errors import Conflict, InputError, NotAuthenticated
from clearway.store.engine import as_utc, writing
from clearway.store.schema import web_sessions, web_users

__all__ = [
    "ROLES",
    "WebUser",
    "add_user",
    "reset_password",
    "session_user",
    "sign_in",
    "sign_out",
]

ROLES = ("customs_officer", "customs_analyst")
SESSION = timedelta(hours=12)
_N, _R, _P = 2**14, 8, 1


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


def _hash(password: str, salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)


def _encode(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _hash(password, salt)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def _matches(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        found = _hash(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


def add_user(
    engine: Engine, username: str, name: str, role: str, now: datetime, password: str | None = None
) -> str:
    """Create a workspace account; returns its password (generated when not
    given: shown once)."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}. Got {role!r}")
    if (
        not username
        or len(username) > 64
        or not username.replace("-", "").replace(".", "").isalnum()
    ):
        raise InputError(f"username must be 1-64 letters, digits, '.' or '-'. Got {username!r}")
    secret = password or secrets.token_urlsafe(12)
    if len(secret) < 8:
        raise InputError("password must have at least 8 characters")
    with writing(engine).begin() as conn:
        try:
            conn.execute(
                insert(web_users).values(
                    username=username,
                    name=name,
                    role=role,
                    password_hash=_encode(secret),
                    created_at=now,
                )
            )
        except IntegrityError:
            raise Conflict(f"user {username!r} exists already.") from None
    return secret


def reset_password(engine: Engine, username: str) -> str:
    """Give an account a new generated password (shown once); its sessions end."""
    from sqlalchemy import update

    from clearway.errors import NotFound

    secret = secrets.token_urlsafe(12)
    with writing(engine).begin() as conn:
        user_id = conn.execute(
            select(web_users.c.id).where(web_users.c.username == username)
        ).scalar()
        if user_id is None:
            raise NotFound(f"user {username!r} not found.")
        conn.execute(
            update(web_users).where(web_users.c.id == user_id).values(password_hash=_encode(secret))
        )
        conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
    return secret


def sign_in(engine: Engine, username: str, password: str, now: datetime) -> str:
    """A new session token for good credentials; NotAuthenticated otherwise
    (the same answer for an unknown user and a wrong password)."""
    with engine.connect() as conn:
        user = conn.execute(
            select(web_users).where(
                web_users.c.username == username, web_users.c.disabled_at.is_(None)
            )
        ).first()
    if user is None or not _matches(password, user.password_hash):
        raise NotAuthenticated("unknown user or wrong password")
    token = secrets.token_urlsafe(32)
    with writing(engine).begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        conn.execute(
            insert(web_sessions).values(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                user_id=user.id,
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
                web_sessions.c.token_hash == hashlib.sha256(token.encode()).hexdigest(),
                web_users.c.disabled_at.is_(None),
            )
        ).first()
    if row is None or as_utc(row.expires_at) < now:
        return None
    return WebUser(row.id, row.username, row.name, row.role, row.csrf)


def sign_out(engine: Engine, token: str) -> None:
    with writing(engine).begin() as conn:
        conn.execute(
            delete(web_sessions).where(
                web_sessions.c.token_hash == hashlib.sha256(token.encode()).hexdigest()
            )
        )
