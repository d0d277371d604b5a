"""Resolved parties: entities, their identifiers, and declaration links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "party_entities",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column(
            "block", sa.String(160), nullable=False, comment="matching block: country and more"
        ),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("street", sa.String(512), nullable=False),
    )
    op.create_index("ix_party_entities_block", "party_entities", ["block"])
    op.create_table(
        "party_identifiers",
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(300), primary_key=True),
        sa.Column("entity_id", Id, sa.ForeignKey("party_entities.id"), nullable=False),
    )
    op.create_index("ix_party_identifiers_value", "party_identifiers", ["value"])
    op.create_table(
        "declaration_parties",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("entity_id", Id, sa.ForeignKey("party_entities.id"), nullable=False),
        sa.Column("evidence", sa.String(512), nullable=False),
    )
    op.create_index("ix_declaration_parties_entity", "declaration_parties", ["entity_id"])


def downgrade() -> None:
    op.drop_table("declaration_parties")
    op.drop_table("party_identifiers")
    op.drop_table("party_entities")
