"""Filings: house declarations (versioned; the newest has ``current``
true), their item lines, carriers' master filings and the houses they list.
Analytic columns are copied out of the document for queries; the document
(canonical JSON) is the record and keeps exact decimal values. On
PostgreSQL the declarations are partitioned by month
(:mod:`clearway.store.partitions`)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from clearway.store.schema.base import Id, metadata

__all__ = ["declaration_items", "declarations", "master_filings", "master_houses"]

declarations = Table(
    "declarations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("filer_id", String(128), nullable=False),
    Column("ref", String(128), nullable=False, comment="declaration_id, unique per filer"),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("filed_at", DateTime(timezone=True)),
    Column("destination_country", String(2), nullable=False),
    Column("filer_role", String(16), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("tracking_number", String(128)),
    Column("master_ref", String(128)),
    Column("departure_country", String(2), nullable=False),
    Column("arrival_office", String(128)),
    Column("expected_arrival", DateTime(timezone=True)),
    Column("seller_name", String(512)),
    Column("seller_country", String(2)),
    Column("marketplace_name", String(512)),
    Column("consignee_name", String(512)),
    Column("consignee_country", String(2), nullable=False),
    Column("total_value", Float, nullable=False),
    Column("total_currency", String(3), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("dq_score", Float, nullable=False),
    Column("dq_gaps", Text, nullable=False),
    Column("document", Text, nullable=False),
    Column("seller_ioss", String(12)),
    Column("duty_paid_at_sale", Boolean, nullable=False, server_default=text("false")),
    Column("collected_at_sale", Float, comment="VAT and duty the filer reports as collected"),
    Index("ux_declarations_version", "filer_id", "ref", "version", unique=True),
    Index(
        "ux_declarations_current",
        "filer_id",
        "ref",
        unique=True,
        sqlite_where=text("current"),
        postgresql_where=text("current"),
    ),
    Index("ix_declarations_ref", "ref"),
    Index("ix_declarations_master_ref", "master_ref"),
    Index("ix_declarations_tracking_number", "tracking_number"),
    Index("ix_declarations_received_at", "received_at"),
    Index("ix_declarations_filed_at", "filed_at"),
)

declaration_items = Table(
    "declaration_items",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("description", String(512), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_value", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("hs_code", String(10)),
    Column("gtin", String(14)),
    Column("sku", String(128)),
    Column("mpn", String(128)),
    Column("brand", String(128)),
    Column("origin_country", String(2)),
    Column("net_weight_kg", Float),
    Column("vague_description", Boolean, nullable=False),
    Column(
        "national_line", String(10), comment="national tariff line: US HTS, EU CN or TARIC code"
    ),
    # A product's latest lines are read down these (the catalogue check).
    Index("ix_declaration_items_gtin", "gtin", "declaration_id"),
    Index("ix_declaration_items_sku", "sku", "declaration_id"),
    Index("ix_declaration_items_mpn", "mpn", "declaration_id"),
)

master_filings = Table(
    "master_filings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("filer_id", String(128), nullable=False),
    Column("ref", String(128), nullable=False, comment="master_ref: MAWB, B/L or receptacle id"),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("filed_at", DateTime(timezone=True)),
    Column("destination_country", String(2), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("carrier_name", String(512)),
    Column("departure_country", String(2), nullable=False),
    Column("arrival_office", String(128)),
    Column("expected_arrival", DateTime(timezone=True)),
    Column("house_count", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Index("ux_master_filings_version", "filer_id", "ref", "version", unique=True),
    Index(
        "ux_master_filings_current",
        "filer_id",
        "ref",
        unique=True,
        sqlite_where=text("current"),
        postgresql_where=text("current"),
    ),
    Index("ix_master_filings_ref", "ref"),
)

master_houses = Table(
    "master_houses",
    metadata,
    Column("master_id", Id, ForeignKey("master_filings.id"), primary_key=True),
    Column("house_ref", String(128), primary_key=True, comment="house tracking number"),
    Index("ix_master_houses_house_ref", "house_ref"),
)
