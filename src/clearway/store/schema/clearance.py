"""The write path's own tables: the durable intake queue (a filing is
acknowledged once it is here) and one row per sequencer tick (other
processes see from it that their cached risk state is stale)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from clearway.store.schema.base import Id, metadata

__all__ = ["intake_queue", "sequencer_ticks"]

intake_queue = Table(
    "intake_queue",
    metadata,
    # The id is the arrival order: the sequencer decides in this order.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False, comment="house or master"),
    Column("filer_id", String(128), nullable=False),
    Column("ref", String(128), nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("document", Text, nullable=False, comment="canonical JSON, validated at intake"),
    Column("source", String(64), nullable=False, comment="api, cli, demo, ..."),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column(
        "request_id",
        String(64),
        comment="the HTTP request that submitted it: its logs and the decision's share it",
    ),
    # Duplicates are recognised against queued filings as well as stored ones.
    Index("ix_intake_queue_key", "filer_id", "ref"),
    # Ids are never reused (a waiter asks whether its id is still queued).
    sqlite_autoincrement=True,
)

sequencer_ticks = Table(
    "sequencer_ticks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticked_at", DateTime(timezone=True), nullable=False),
    Column("filings", Integer, nullable=False),
    Column("raised", Integer, nullable=False),
)
