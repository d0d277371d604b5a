"""Webhook subscriptions and their deliveries: events on a subscriber's
declarations are found on the ledger, queued once per subscription (the
event id is the idempotency key), sent signed, and retried with backoff."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select, update

from clearway.errors import InputError, NotFound
from clearway.federation.sealing import Sealer
from clearway.federation.transport import Post
from clearway.federation.webhooks import MAX_ATTEMPTS, next_attempt, sign
from clearway.store.engine import writing
from clearway.store.schema import (
    declarations,
    ledger_entries,
    participants,
    webhook_deliveries,
    webhook_subscriptions,
)

__all__ = ["add_subscription", "deliver_webhooks", "queue_webhooks", "subscription_context"]


def subscription_context(subscription_id: int) -> str:
    """What a subscription's sealed secret is bound to."""
    return f"webhook_subscriptions:{subscription_id}"


def add_subscription(
    engine: Engine, participant_id: int, url: str, events: str, now: datetime, sealer: Sealer
) -> tuple[int, str]:
    """Subscribe a participant's URL to events (comma-separated type
    prefixes) on its declarations; returns the id and the signing secret
    (shown once; kept sealed). Only events from now on are sent."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"url must start with http:// or https://. Got {url!r}")
    secret = secrets.token_hex(32)
    with writing(engine).begin() as conn:
        if (
            conn.execute(
                select(participants.c.id).where(participants.c.id == participant_id)
            ).first()
            is None
        ):
            raise NotFound(f"participant {participant_id} not found.")
        head = conn.execute(
            select(ledger_entries.c.idx).order_by(ledger_entries.c.idx.desc()).limit(1)
        ).scalar()
        subscription_id = conn.execute(
            insert(webhook_subscriptions)
            .values(
                participant_id=participant_id,
                url=url,
                secret="",  # sealed below, bound to the id the row gets
                events=events,
                cursor=-1 if head is None else head,
                created_at=now,
            )
            .returning(webhook_subscriptions.c.id)
        ).scalar_one()
        conn.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == subscription_id)
            .values(secret=sealer.seal(secret, subscription_context(subscription_id)))
        )
    return subscription_id, secret


def queue_webhooks(engine: Engine, now: datetime) -> int:
    """Queue a delivery for every new ledger event on a subscriber's
    declarations (those it filed) that its subscription asks for."""
    queued = 0
    with writing(engine).begin() as conn:
        subscriptions = conn.execute(
            select(webhook_subscriptions, participants.c.filer_id).join(participants)
        ).all()
        # Every subscription has scanned up to here once this run is done.
        last = conn.execute(
            select(ledger_entries.c.idx).order_by(ledger_entries.c.idx.desc()).limit(1)
        ).scalar()
        for sub in subscriptions:
            prefixes = tuple(p.strip() for p in sub.events.split(",") if p.strip())
            rows = conn.execute(
                select(
                    ledger_entries.c.idx,
                    ledger_entries.c.event_id,
                    ledger_entries.c.event_type,
                    declarations.c.ref,
                )
                .join(declarations, declarations.c.id == ledger_entries.c.declaration_id)
                .where(ledger_entries.c.idx > sub.cursor, declarations.c.filer_id == sub.filer_id)
                .order_by(ledger_entries.c.idx)
            ).all()
            cursor = sub.cursor
            for idx, event_id, event_type, ref in rows:
                cursor = max(cursor, idx)
                if prefixes and not event_type.startswith(prefixes):
                    continue
                payload = {
                    "event_id": event_id,
                    "type": event_type,
                    "declaration_id": ref,
                    "ledger_index": idx,
                }
                exists = conn.execute(
                    select(webhook_deliveries.c.id).where(
                        webhook_deliveries.c.subscription_id == sub.id,
                        webhook_deliveries.c.event_id == event_id,
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        insert(webhook_deliveries).values(
                            subscription_id=sub.id,
                            event_id=event_id,
                            payload=orjson.dumps(payload).decode(),
                            attempts=0,
                            next_attempt_at=now,
                        )
                    )
                    queued += 1
            if last is not None:
                cursor = max(cursor, last)
            conn.execute(
                update(webhook_subscriptions)
                .where(webhook_subscriptions.c.id == sub.id)
                .values(cursor=cursor)
            )
    return queued


def deliver_webhooks(engine: Engine, send: Post, now: datetime, sealer: Sealer) -> dict[str, Any]:
    """Send every due delivery once; failures are retried later with
    backoff, up to :data:`MAX_ATTEMPTS`."""
    with engine.connect() as conn:
        due = conn.execute(
            select(webhook_deliveries, webhook_subscriptions.c.url, webhook_subscriptions.c.secret)
            .join(webhook_subscriptions)
            .where(
                webhook_deliveries.c.delivered_at.is_(None),
                webhook_deliveries.c.attempts < MAX_ATTEMPTS,
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .order_by(webhook_deliveries.c.id)
        ).all()
    sent = failed = 0
    for row in due:
        body = row.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "Clearway-Signature": sign(
                sealer.open(row.secret, subscription_context(row.subscription_id)),
                body,
                row.event_id,
                int(time.time()),
            ),
            "Idempotency-Key": row.event_id,
        }
        error = None
        try:
            status = send(row.url, body, headers).status
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        values: dict[str, Any]
        if error is None:
            values = {"attempts": row.attempts + 1, "delivered_at": now, "last_error": None}
            sent += 1
        else:
            values = {
                "attempts": row.attempts + 1,
                "next_attempt_at": next_attempt(row.attempts + 1, now),
                "last_error": error,
            }
            failed += 1
        with writing(engine).begin() as conn:
            conn.execute(
                update(webhook_deliveries).where(webhook_deliveries.c.id == row.id).values(**values)
            )
    return {"sent": sent, "failed": failed}
