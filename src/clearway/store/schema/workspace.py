"""The officer workspace (users, sessions, decisions) and the daily counts
the trends read."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from clearway.store.schema.base import Id, metadata

__all__ = [
    "officer_decisions",
    "sign_in_attempts",
    "trend_days",
    "web_sessions",
    "web_users",
]

# The officer workspace: people who sign in (officers and analysts), their
# sessions (only a hash of the cookie's token is kept), and every decision
# an officer takes on a declaration (the audit trail, also on the ledger).
web_users = Table(
    "web_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("role", String(32), nullable=False, comment="customs_officer or customs_analyst"),
    Column("password_hash", String(256), nullable=False, comment="scrypt$n$r$p$salt$hash"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("web_users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Sign-in attempts not (yet) known to have succeeded, kept in the store so
# that every process of the server counts them together: the lockout of a
# user name or a client address. Keys are hashes (a user name field
# sometimes holds a password typed in the wrong box).
sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, comment="SHA-256 of 'user:<name>' or 'address:<ip>'"),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Index("ix_sign_in_attempts_key", "key", "attempted_at"),
    Index("ix_sign_in_attempts_at", "attempted_at"),
)

officer_decisions = Table(
    "officer_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("officer", String(64), nullable=False),
    Column(
        "action", String(32), nullable=False, comment="release, inspect, hold, rfi, outcome:<what>"
    ),
    Column("previous_lane", String(8)),
    Column("lane", String(8)),
    Column("note", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_officer_decisions_declaration", "declaration_id"),
)

# Daily counts per dimension (origin, marketplace, carrier, chapter, lane,
# seller, route, consignee, duty per currency, hits per selector), added as
# batches are written: the trends read these, not the declarations.
trend_days = Table(
    "trend_days",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("declarations", Float, nullable=False, comment="or item lines, or inspections"),
    Column("value", Float, nullable=False),
    Column("duty", Float, nullable=False),
    Column("vat", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("due_at_sale", Float, nullable=False),
    Column("shortfall", Float, nullable=False),
    Column("score", Float, nullable=False, comment="sum of risk scores"),
    Column("red", Float, nullable=False, comment="red or black lanes, or hits"),
    Index("ix_trend_days_dimension", "dimension", "day"),
)
