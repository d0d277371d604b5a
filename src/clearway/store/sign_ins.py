"""Sign-in attempts, counted per user name and per client address in the
store, so that every process of the server refuses the same guesser.

An attempt is written *before* its password is checked and removed once
it succeeded: attempts made at the same moment count against each other,
and a burst cannot slip past the limit while its hashes are computed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from clearway.errors import TooManyAttempts
from clearway.store.engine import as_utc, writing
from clearway.store.schema import sign_in_attempts

__all__ = ["SignInLimits", "attempt_key", "begin_attempt", "succeeded"]


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """At most ``per_name`` failures for one user name, and ``per_address``
    from one address, within ``window``; past that, refused for ``lockout``."""

    per_name: int
    per_address: int
    window: timedelta
    lockout: timedelta


def attempt_key(kind: str, value: str) -> str:
    """What an attempt is counted under: a hash, never the typed name."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _locked_for(times: list[datetime], limit: int, limits: SignInLimits, now: datetime) -> int:
    """Seconds the key of ``times`` (newest first) is locked out for; 0: not."""
    if len(times) < limit:
        return 0
    newest = as_utc(times[0])
    if newest - as_utc(times[limit - 1]) > limits.window:
        return 0
    left = (newest + limits.lockout - now).total_seconds()
    return max(0, math.ceil(left))


def begin_attempt(
    engine: Engine, username: str, address: str, limits: SignInLimits, now: datetime
) -> list[int]:
    """Record an attempt to sign in as ``username`` from ``address`` (the
    ids to hand to :func:`succeeded`); :class:`TooManyAttempts` while either
    is locked out, and then nothing is recorded."""
    keys = (
        (attempt_key("user", username), limits.per_name),
        (attempt_key("address", address), limits.per_address),
    )
    horizon = now - limits.window - limits.lockout
    with writing(engine).begin() as conn:
        wait = 0
        for key, limit in keys:
            times = list(
                conn.execute(
                    select(sign_in_attempts.c.attempted_at)
                    .where(sign_in_attempts.c.key == key, sign_in_attempts.c.attempted_at > horizon)
                    .order_by(sign_in_attempts.c.attempted_at.desc())
                    .limit(limit)
                ).scalars()
            )
            wait = max(wait, _locked_for(times, limit, limits, now))
        if wait:
            raise TooManyAttempts(
                f"too many failed sign-ins: try again in {wait} s", retry_after=wait
            )
        # Attempts older than any window or lockout count for nothing.
        conn.execute(delete(sign_in_attempts).where(sign_in_attempts.c.attempted_at <= horizon))
        ids = []
        for key, _ in keys:
            added = conn.execute(insert(sign_in_attempts).values(key=key, attempted_at=now))
            ids.append(int(added.inserted_primary_key[0]))  # type: ignore[index]
        return ids


def succeeded(engine: Engine, username: str, ids: list[int]) -> None:
    """The attempt ``ids`` signed in: it was no failure, and the name's
    earlier failures are forgiven (the address's are not: one good account
    must not reset a guesser's count)."""
    with writing(engine).begin() as conn:
        conn.execute(delete(sign_in_attempts).where(sign_in_attempts.c.id.in_(ids)))
        conn.execute(
            delete(sign_in_attempts).where(sign_in_attempts.c.key == attempt_key("user", username))
        )
