"""Participants and their keys, referrals, trusted operators, webhooks out
to other nodes and in from them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from clearway.store.schema.base import Id, metadata

__all__ = [
    "api_keys",
    "inbound_events",
    "inbound_senders",
    "operator_tier_history",
    "operators",
    "participants",
    "referrals",
    "webhook_deliveries",
    "webhook_subscriptions",
]

participants = Table(
    "participants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("filer_id", String(128), comment="the filer id it files under (filers)"),
    Column("agency", String(128), comment="the agency it speaks for (partner agencies)"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("participant_id", Id, ForeignKey("participants.id"), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True, comment="public part of the key"),
    Column("key_hash", String(64), nullable=False, comment="SHA-256 of the secret part"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("kind", String(8), nullable=False, comment="rfi, rfs, dnl or hold"),
    Column("state", String(12), nullable=False),
    Column("addressed_to", String(128), nullable=False, comment="filer id that must answer"),
    Column("requested_by", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("response", Text),
    Column("resolution", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_referrals_addressed", "addressed_to", "state"),
    Index("ix_referrals_due", "state", "due_at"),
)

operators = Table(
    "operators",
    metadata,
    Column("filer_id", String(128), primary_key=True),
    Column("name", String(200), nullable=False),
    Column(
        "kind", String(32), nullable=False, comment="marketplace, seller, carrier, post, broker"
    ),
    Column("tier", String(32), nullable=False),
    Column("tier_since", DateTime(timezone=True), nullable=False),
)

operator_tier_history = Table(
    "operator_tier_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("filer_id", String(128), ForeignKey("operators.filer_id"), nullable=False),
    Column("previous", String(32), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("measures", Text, nullable=False, comment="JSON: the measures behind the change"),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_operator_tier_history_filer", "filer_id"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("participant_id", Id, ForeignKey("participants.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column(
        "secret",
        String(512),
        nullable=False,
        comment="HMAC key shared with the receiver, sealed (AES-256-GCM under secrets_key_file)",
    ),
    Column("events", String(500), nullable=False, comment="comma-separated event type prefixes"),
    Column("cursor", BigInteger, nullable=False, comment="ledger index already scanned"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subscription_id", Id, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event_id", String(200), nullable=False, comment="also the idempotency key"),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Index("ux_webhook_deliveries_event", "subscription_id", "event_id", unique=True),
    Index("ix_webhook_deliveries_due", "delivered_at", "next_attempt_at"),
)

# This node as a subscriber to other nodes' webhooks: who may send, with
# which shared secret, and what arrived (once per idempotency key).
inbound_senders = Table(
    "inbound_senders",
    metadata,
    Column("name", String(128), primary_key=True),
    Column(
        "secret",
        String(512),
        nullable=False,
        comment="the sender's HMAC key, sealed (AES-256-GCM under secrets_key_file)",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sender", String(128), ForeignKey("inbound_senders.name"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ux_inbound_events_key", "sender", "idempotency_key", unique=True),
)
