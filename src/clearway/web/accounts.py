"""Workspace accounts as the workspace, `clearway users add` and the demo
use them: passwords hashed and checked by :mod:`clearway.accounts`, hashes
kept by :mod:`clearway.store.users`.

Each function hashes or checks a password (tens of milliseconds of scrypt)
and calls the store: run them in a worker thread from an event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from clearway.accounts import check_password, hash_password, new_password
from clearway.errors import NotAuthenticated
from clearway.store import sign_ins, users
from clearway.store.sign_ins import SignInLimits

__all__ = ["SignInLimits", "add_user", "begin_sign_in", "reset_password", "sign_in"]


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
    engine: Engine, username: str, password: str, now: datetime, *, attempt: Sequence[int] = ()
) -> str:
    """A new session token for good credentials; :class:`NotAuthenticated`
    otherwise, after the same work for an unknown user as for a wrong
    password (the answer and its timing tell nothing apart).

    ``attempt``: the ids :func:`begin_sign_in` recorded for this attempt
    (removed, with the name's earlier failures, once it succeeds)."""
    stored = users.credentials_of(engine, username)
    if not check_password(password, stored.password_hash if stored else None) or stored is None:
        raise NotAuthenticated("unknown user or wrong password")
    if attempt:
        sign_ins.succeeded(engine, username, list(attempt))
    return users.open_session(engine, stored.user_id, now)


def begin_sign_in(
    engine: Engine, username: str, address: str, limits: SignInLimits, now: datetime
) -> list[int]:
    """Record an attempt to sign in before its password is checked;
    :class:`TooManyAttempts` while the name or the address is locked out
    (unknown names are counted and locked out like known ones). Only the
    store: no hashing, so a refusal costs next to nothing."""
    return sign_ins.begin_attempt(engine, username, address, limits, now)
