"""House declarations, their items, master filings and their house links.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")
TS = sa.DateTime(timezone=True)


def _versioned(name: str, ref_comment: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("filer_id", sa.String(128), nullable=False),
        sa.Column("ref", sa.String(128), nullable=False, comment=ref_comment),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("filed_at", TS),
        *columns,
    )
    op.create_index(f"ux_{name}_version", name, ["filer_id", "ref", "version"], unique=True)
    op.create_index(
        f"ux_{name}_current",
        name,
        ["filer_id", "ref"],
        unique=True,
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )


def upgrade() -> None:
    _versioned(
        "declarations",
        "declaration_id, unique per filer",
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("filer_role", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("tracking_number", sa.String(128)),
        sa.Column("master_ref", sa.String(128)),
        sa.Column("departure_country", sa.String(2), nullable=False),
        sa.Column("arrival_office", sa.String(128)),
        sa.Column("expected_arrival", TS),
        sa.Column("seller_name", sa.String(512)),
        sa.Column("seller_country", sa.String(2)),
        sa.Column("marketplace_name", sa.String(512)),
        sa.Column("consignee_name", sa.String(512)),
        sa.Column("consignee_country", sa.String(2), nullable=False),
        sa.Column("total_value", sa.Float, nullable=False),
        sa.Column("total_currency", sa.String(3), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("dq_score", sa.Float, nullable=False),
        sa.Column("dq_gaps", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_index("ix_declarations_ref", "declarations", ["ref"])
    op.create_index("ix_declarations_master_ref", "declarations", ["master_ref"])
    op.create_index("ix_declarations_tracking_number", "declarations", ["tracking_number"])
    op.create_index("ix_declarations_received_at", "declarations", ["received_at"])
    op.create_table(
        "declaration_items",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("description", sa.String(512), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_value", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("hs_code", sa.String(10)),
        sa.Column("gtin", sa.String(14)),
        sa.Column("sku", sa.String(128)),
        sa.Column("mpn", sa.String(128)),
        sa.Column("brand", sa.String(128)),
        sa.Column("origin_country", sa.String(2)),
        sa.Column("net_weight_kg", sa.Float),
        sa.Column("vague_description", sa.Boolean, nullable=False),
    )
    _versioned(
        "master_filings",
        "master_ref: MAWB, B/L or receptacle id",
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("carrier_name", sa.String(512)),
        sa.Column("departure_country", sa.String(2), nullable=False),
        sa.Column("arrival_office", sa.String(128)),
        sa.Column("expected_arrival", TS),
        sa.Column("house_count", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_index("ix_master_filings_ref", "master_filings", ["ref"])
    op.create_table(
        "master_houses",
        sa.Column("master_id", Id, sa.ForeignKey("master_filings.id"), primary_key=True),
        sa.Column("house_ref", sa.String(128), primary_key=True, comment="house tracking number"),
    )
    op.create_index("ix_master_houses_house_ref", "master_houses", ["house_ref"])


def downgrade() -> None:
    op.drop_table("master_houses")
    op.drop_table("master_filings")
    op.drop_table("declaration_items")
    op.drop_table("declarations")
