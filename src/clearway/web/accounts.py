"""Workspace accounts as the workspace, `clearway users add` and the demo
use them: passwords hashed and checked by :mod:`clearway.accounts`, hashes
kept by :mod:`clearway.store.users`.

Each function hashes or checks a password (tens of milliseconds of scrypt)
and calls the store: run them in a worker thread from an event loop.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from clearway.accounts import check_password, hash_password, new_password
from clearway.errors import NotAuthenticated
from clearway.store import sign_ins, users
from clearway.store.sign_ins import SignInLimits

__all__ = ["SignInLimits", "add_user", "reset_password", "sign_in"]


def add_user(
    engine: Engine, username: str, name: str, role: str, now: datetime, password: str | None = None
) -> str:
    """Create a workspace account; returns its password (generated when not
    given: shown once)."""
    secret = password or new_password()
    users.add_user(engine, username, name, role, now, password_hash=hash_password(secret))
    return secret


def reset_password(engine: Engine, username: str) -> str:
    """Give an account a new generated password (shown once); its sessions end."""
    secret = new_password()
    users.set_password_hash(engine, username, hash_password(secret))
    return secret


def sign_in(
    engine: Engine,
    username: str,
    password: str,
    now: datetime,
    *,
    address: str = "",
    limits: SignInLimits | None = None,
) -> str:
    """A new session token for good credentials; :class:`NotAuthenticated`
    otherwise, after the same work for an unknown user as for a wrong
    password (the answer and its timing tell nothing apart).

    With ``limits``, a user name or an ``address`` with too many recent
    failures is refused with :class:`TooManyAttempts` before any hashing;
    unknown names are counted and locked out like known ones."""
    attempt = sign_ins.begin_attempt(engine, username, address, limits, now) if limits else []
    stored = users.credentials_of(engine, username)
    if not check_password(password, stored.password_hash if stored else None) or stored is None:
        raise NotAuthenticated("unknown user or wrong password")
    if attempt:
        sign_ins.succeeded(engine, username, attempt)
    return users.open_session(engine, stored.user_id, now)
