"""Duty and tax assessed per declaration, line by line."""

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
    text,
)

from clearway.store.schema.base import Id, metadata

__all__ = ["duty_assessments", "duty_lines"]

duty_assessments = Table(
    "duty_assessments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("reason", String(512), nullable=False, comment="filed, or why it was reassessed"),
    Column("assessed_at", DateTime(timezone=True), nullable=False),
    Column("regime", String(64)),
    Column("currency", String(3)),
    Column("value", Float, nullable=False),
    Column("duty", Float, nullable=False),
    Column("vat", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("due_at_sale", Float, nullable=False),
    Column("collected", Float),
    Column("shortfall", Float),
    Column("problem", String(256)),
    Index("ix_duty_assessments_declaration", "declaration_id"),
    Index(
        "ux_duty_assessments_current",
        "declaration_id",
        unique=True,
        sqlite_where=text("current"),
        postgresql_where=text("current"),
    ),
)

duty_lines = Table(
    "duty_lines",
    metadata,
    Column("assessment_id", Id, ForeignKey("duty_assessments.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("item_line", Integer, comment="declaration item, or null for the consignment"),
    Column("base", Float, nullable=False),
    Column("rate", Float, nullable=False),
    Column("amount", Float, nullable=False),
)
