"""Signed webhooks: how a notification is signed and checked, and when a
failed delivery is tried again.

A receiver gets ``POST`` with a JSON body and the headers
``Idempotency-Key: <event id>`` (the same on every retry, so a receiver
that saw it already can drop it) and
``Clearway-Signature: t=<unix time>,v2=<hex HMAC-SHA256(secret, "<t>\\n<key>\\n<body>")>``.

The idempotency key is inside the signed text: a captured notification
sent again under a new key no longer verifies, and sent again under its
own key it is the retry the receiver already kept. The timestamp is
inside it too: a receiver refuses one outside its replay window (five
minutes by default), before it reads the body. Keys may not hold a line
break (headers cannot), so the signed text splits one way only.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

__all__ = [
    "MAX_ATTEMPTS",
    "REPLAY_WINDOW_S",
    "next_attempt",
    "sign",
    "signed_at",
    "verify",
]

MAX_ATTEMPTS = 10
REPLAY_WINDOW_S = 300
_BACKOFF_CAP = timedelta(hours=1)
_VERSION = "v2"


def _mac(secret: str, body: bytes, key: str, timestamp: int) -> str:
    # surrogatepass: any str key signs (and checks) without an exception.
    signed = f"{timestamp}\n{key}\n".encode(errors="surrogatepass") + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, key: str, timestamp: int) -> str:
    """The ``Clearway-Signature`` header value for ``body`` sent under the
    idempotency key ``key`` at ``timestamp``."""
    if not key or "\n" in key or "\r" in key:
        raise ValueError("an idempotency key is 1 or more characters without line breaks")
    return f"t={timestamp},{_VERSION}={_mac(secret, body, key, timestamp)}"


def _parts(header: str) -> dict[str, str] | None:
    try:
        return dict(item.strip().split("=", 1) for item in header.split(","))
    except ValueError:
        return None


def signed_at(header: str, now: int, window: int = REPLAY_WINDOW_S) -> int | None:
    """The header's timestamp when it is well formed and within ``window``
    seconds of ``now``; None otherwise. Cheap: a receiver asks this before
    it reads the body."""
    parts = _parts(header)
    if parts is None or _VERSION not in parts or not parts.get("t", "").isdigit():
        return None
    timestamp = int(parts["t"])
    return timestamp if abs(now - timestamp) <= window else None


def verify(
    secret: str, body: bytes, key: str, header: str, now: int, window: int = REPLAY_WINDOW_S
) -> bool:
    """Whether ``header`` signs ``body`` and ``key`` with ``secret`` within
    ``window`` seconds of ``now`` (what a receiver does)."""
    timestamp = signed_at(header, now, window)
    if timestamp is None or not key or "\n" in key or "\r" in key:
        return False
    parts = _parts(header) or {}
    expected = _mac(secret, body, key, timestamp).encode()
    return hmac.compare_digest(parts[_VERSION].encode(errors="replace"), expected)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failures: 2, 4, 8 ... seconds,
    at most an hour apart."""
    return now + min(timedelta(seconds=2**attempts), _BACKOFF_CAP)
