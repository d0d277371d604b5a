"""Screening hits, partner-agency routings and product-catalogue flags per
declaration version; items indexed by product identifier.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "screening_hits",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, comment="seller or consignee"),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("listed_name", sa.String(512), nullable=False),
        sa.Column("matched_name", sa.String(512), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.String(512), nullable=False),
    )
    op.create_index("ix_screening_hits_declaration", "screening_hits", ["declaration_id"])
    op.create_table(
        "agency_routings",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("agency", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(512), nullable=False),
        sa.Column(
            "item_lines", sa.String(512), nullable=False, comment="comma-separated item lines"
        ),
        sa.Column("hs_codes", sa.String(512), nullable=False),
    )
    op.create_index("ix_agency_routings_declaration", "agency_routings", ["declaration_id"])
    op.create_index("ix_agency_routings_agency", "agency_routings", ["agency"])
    op.create_table(
        "product_flags",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("item_line", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False, comment="hs_conflict or price_outlier"),
        sa.Column("product", sa.String(300), nullable=False, comment="gtin:... or sku:seller:..."),
        sa.Column("detail", sa.String(512), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False, comment="JSON list of the other filings"),
    )
    op.create_index("ix_product_flags_declaration", "product_flags", ["declaration_id"])
    op.create_index("ix_declaration_items_gtin", "declaration_items", ["gtin"])
    op.create_index("ix_declaration_items_sku", "declaration_items", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_declaration_items_sku", "declaration_items")
    op.drop_index("ix_declaration_items_gtin", "declaration_items")
    op.drop_table("product_flags")
    op.drop_table("agency_routings")
    op.drop_table("screening_hits")
