"""Resolved parties: entities, their identifiers, and who each declaration
names."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    String,
    Table,
)

from clearway.store.schema.base import Id, metadata

__all__ = ["declaration_parties", "party_entities", "party_identifiers"]

# Resolved parties: stable entities for sellers and consignees, the strong
# identifiers known for each, and which entity each declaration names.
party_entities = Table(
    "party_entities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("role", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("block", String(160), nullable=False, comment="matching block: country and more"),
    Column("name", String(512), nullable=False),
    Column("street", String(512), nullable=False),
    Index("ix_party_entities_block", "block"),
)

party_identifiers = Table(
    "party_identifiers",
    metadata,
    Column("role", String(16), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", String(300), primary_key=True),
    Column("entity_id", Id, ForeignKey("party_entities.id"), nullable=False),
    Index("ix_party_identifiers_value", "value"),
)

declaration_parties = Table(
    "declaration_parties",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("entity_id", Id, ForeignKey("party_entities.id"), nullable=False),
    Column("evidence", String(512), nullable=False),
    Index("ix_declaration_parties_entity", "entity_id"),
    Index("ix_declaration_parties_entity_role", "entity_id", "role", "declaration_id"),
)
