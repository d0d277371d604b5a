"""Inspection outcomes: what an intervention found, per declaration.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "inspection_outcomes",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), primary_key=True),
        sa.Column(
            "outcome",
            sa.String(16),
            nullable=False,
            comment="seized, duty_corrected, data_corrected or cleared",
        ),
        sa.Column("reason", sa.String(512), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inspection_outcomes_outcome", "inspection_outcomes", ["outcome"])


def downgrade() -> None:
    op.drop_table("inspection_outcomes")
