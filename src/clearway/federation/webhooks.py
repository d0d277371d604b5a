"""Signed webhooks: how a notification is signed and checked, and when a
failed delivery is tried again.

A receiver gets ``POST`` with a JSON body and the headers
``Clearway-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
and ``Idempotency-Key: <event id>`` (the same on every retry, so a receiver
that saw it already can drop it). The timestamp in the signed text lets a
receiver refuse replays older than it tolerates.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

__all__ = ["MAX_ATTEMPTS", "next_attempt", "sign", "verify"]

MAX_ATTEMPTS = 10
_BACKOFF_CAP = timedelta(hours=1)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Clearway-Signature`` header value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance``
    seconds of ``now`` (what a receiver does)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When to try again after ``attempts`` failures: 2, 4, 8 ... seconds,
    at most an hour apart."""
    return now + min(timedelta(seconds=2**attempts), _BACKOFF_CAP)
