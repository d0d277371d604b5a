"""The shared ledger, and this node as a witness of other logs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from clearway.store.schema.base import Id, metadata

__all__ = [
    "ledger_checkpoints",
    "ledger_cosignatures",
    "ledger_entries",
    "ledger_tiles",
    "witnessed_logs",
]

# The ledger (RFC 9162 tree in C2SP-style tiles): entries in sequence, tiles
# of 256 hashes at tree levels 0, 8, 16..., and every signed checkpoint.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("event_type", String(40), nullable=False),
    Column("declaration_id", Id, ForeignKey("declarations.id")),
    Column("leaf", LargeBinary, nullable=False),
    Index("ix_ledger_entries_declaration", "declaration_id"),
)

ledger_tiles = Table(
    "ledger_tiles",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False, comment="up to 256 hashes of 32 bytes"),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

ledger_cosignatures = Table(
    "ledger_cosignatures",
    metadata,
    Column(
        "size",
        BigInteger,
        ForeignKey("ledger_checkpoints.size"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("witness", String(200), primary_key=True),
    Column("line", Text, nullable=False),
)

# This node as a witness of other nodes' logs (tlog-witness): the latest
# checkpoint it cosigned per log, advanced by compare-and-set on the size.
witnessed_logs = Table(
    "witnessed_logs",
    metadata,
    Column("origin", String(255), primary_key=True),
    Column("vkey", Text, nullable=False, comment="the log's signed-note verifier key"),
    Column("size", BigInteger, nullable=False),
    Column("note", Text, comment="the latest checkpoint cosigned"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
