"""This node as a subscriber to another node's signed webhooks: the senders
it trusts (each with the secret the sender issued), and the events that
arrived, kept once per idempotency key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from clearway.errors import Conflict, InputError, NotAuthenticated
from clearway.federation.sealing import Sealer
from clearway.federation.webhooks import REPLAY_WINDOW_S, verify
from clearway.store.bulk import row_dict
from clearway.store.engine import writing
from clearway.store.schema import inbound_events, inbound_senders

__all__ = ["add_sender", "list_inbound", "receive_event", "sender_context"]


def sender_context(name: str) -> str:
    """What a sender's sealed secret is bound to."""
    return f"inbound_senders:{name}"


def add_sender(engine: Engine, name: str, secret: str, now: datetime, sealer: Sealer) -> None:
    """Trust webhooks from ``name`` signed with ``secret`` (the one the
    sender printed when the subscription was made), kept sealed."""
    if not name or len(name) > 128 or "/" in name:
        raise InputError(f"sender must be 1-128 characters without '/'. Got {name!r}")
    if len(secret) < 32:
        raise InputError("secret must be the sender's signing secret (at least 32 characters)")
    with writing(engine).begin() as conn:
        try:
            conn.execute(
                insert(inbound_senders).values(
                    name=name, secret=sealer.seal(secret, sender_context(name)), created_at=now
                )
            )
        except IntegrityError:
            raise Conflict(f"sender {name!r} is known already.") from None


def receive_event(
    engine: Engine,
    sender: str,
    body: bytes,
    signature: str,
    key: str,
    now: datetime,
    sealer: Sealer,
    window: int = REPLAY_WINDOW_S,
) -> bool:
    """Check and keep one notification; False when that idempotency key was
    received before (a retry, or the same notification sent again), True
    when it is new. The signature covers the key and a timestamp, which
    must be within ``window`` seconds of ``now``: a notification replayed
    under a new key, or later than that, is refused (401)."""
    if not key or len(key) > 200:
        raise InputError("Idempotency-Key must be 1-200 characters")
    with engine.connect() as conn:
        sealed = conn.execute(
            select(inbound_senders.c.secret).where(inbound_senders.c.name == sender)
        ).scalar()
    secret = None if sealed is None else sealer.open(sealed, sender_context(sender))
    # An unknown sender, a bad signature and a stale one answer alike.
    if secret is None or not verify(secret, body, key, signature, int(now.timestamp()), window):
        raise NotAuthenticated("the notification is not signed by a known sender")
    try:
        event = orjson.loads(body)
        event_type = str(event["type"])[:64]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise InputError("the notification must be a JSON object with a type") from None
    try:
        with writing(engine).begin() as conn:
            seen = conn.execute(
                select(inbound_events.c.id).where(
                    inbound_events.c.sender == sender, inbound_events.c.idempotency_key == key
                )
            ).first()
            if seen is not None:
                return False
            conn.execute(
                insert(inbound_events).values(
                    sender=sender,
                    idempotency_key=key,
                    event_type=event_type,
                    payload=body.decode(),
                    received_at=now,
                )
            )
    except IntegrityError:
        # The same notification arrived twice at once: the unique index let
        # one in; this one is the retry.
        return False
    return True


def list_inbound(engine: Engine, sender: str | None = None) -> list[dict[str, Any]]:
    query = select(inbound_events).order_by(inbound_events.c.id)
    if sender is not None:
        query = query.where(inbound_events.c.sender == sender)
    with engine.connect() as conn:
        return [row_dict(r) for r in conn.execute(query)]
