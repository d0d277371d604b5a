"""Item codes confirmed or corrected by officers, or found correct by an
inspection: the HS classifier's precedents.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    # PostgreSQL's declarations are partitioned (0019): no foreign key can
    # point at their id there; the row is written with its check.
    references = (
        [] if op.get_bind().dialect.name == "postgresql" else [sa.ForeignKey("declarations.id")]
    )
    op.create_table(
        "hs_confirmations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, *references, nullable=False),
        sa.Column("item_line", sa.Integer, nullable=False),
        sa.Column(
            "action", sa.String(16), nullable=False, comment="confirm, correct or inspection"
        ),
        sa.Column("declared_hs", sa.String(10), comment="the item's code as filed, if any"),
        sa.Column("hs", sa.String(10), nullable=False, comment="the code confirmed"),
        sa.Column(
            "text", sa.String(1024), nullable=False, comment="what the classifier learns from"
        ),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hs_confirmations_declaration", "hs_confirmations", ["declaration_id"])


def downgrade() -> None:
    op.drop_table("hs_confirmations")
