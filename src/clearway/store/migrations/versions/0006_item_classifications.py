"""HS suggestions and the misclassification signal per item line.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "item_classifications",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("item_line", sa.Integer, nullable=False),
        sa.Column("declared_hs", sa.String(10), nullable=False),
        sa.Column("suggested_hs", sa.String(6), nullable=False),
        sa.Column("suggested_confidence", sa.Float, nullable=False),
        sa.Column("declared_heading_confidence", sa.Float, nullable=False),
        sa.Column("declared_heading_rank", sa.Integer, nullable=False),
        sa.Column(
            "declared_subheading_rank", sa.Integer, nullable=False, comment="within its heading"
        ),
        sa.Column("score", sa.Float, nullable=False, comment="misclassification score, 0..1"),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("suggestions", sa.Text, nullable=False, comment="JSON: top-5 hs with confidence"),
    )
    op.create_index(
        "ix_item_classifications_declaration", "item_classifications", ["declaration_id"]
    )


def downgrade() -> None:
    op.drop_table("item_classifications")
