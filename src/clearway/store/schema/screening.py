"""Restricted-party lists as dated data: each list's current version and
its entries, the officers' false-positive marks, and the alerts a rescreen
raised. No foreign key points at ``declarations`` (partitioned on
PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from clearway.store.schema.base import Id, metadata

__all__ = [
    "screening_alerts",
    "screening_entries",
    "screening_false_positives",
    "screening_lists",
]

screening_lists = Table(
    "screening_lists",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("source", String(1024), nullable=False, comment="file or publisher it came from"),
    Column("format", String(32), nullable=False),
    Column("published", Date, nullable=False, comment="the publisher's date of this version"),
    Column("entries", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False, comment="of every entry's digest"),
    Column("notes", Text, nullable=False),
)

screening_entries = Table(
    "screening_entries",
    metadata,
    Column("list_id", Id, ForeignKey("screening_lists.id"), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("programs", Text, nullable=False),
    Column("names", Text, nullable=False, comment="JSON list: the name and its aliases"),
    Column("countries", String(1024), nullable=False, comment="JSON list of ISO alpha-2"),
    Column("digest", String(32), nullable=False),
    Index("ux_screening_entries_list_entry", "list_id", "entry_id", unique=True),
)

screening_false_positives = Table(
    "screening_false_positives",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("party_key", String(1024), nullable=False, comment="distinctive words|country"),
    Column("party_name", String(512), nullable=False),
    Column("list_name", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("entry_digest", String(32), nullable=False, comment="the entry as marked"),
    Column("declaration_id", Id, nullable=True, comment="where the officer saw the hit"),
    Column("marked_by", String(128), nullable=False),
    Column("marked_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False),
    Index("ix_screening_false_positives_party", "party_key"),
)

screening_alerts = Table(
    "screening_alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, nullable=False),
    Column("role", String(16), nullable=False),
    Column("list_name", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("listed_name", String(1024), nullable=False),
    Column("matched_name", String(1024), nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", String(1024), nullable=False),
    Column("lane_before", String(8), nullable=True),
    Column("lane_after", String(8), nullable=True),
    Column("released", Boolean, nullable=False, comment="found after release (history)"),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Index("ix_screening_alerts_declaration", "declaration_id"),
)
