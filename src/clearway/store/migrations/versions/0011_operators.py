"""Trusted operator register and its tier history.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("filer_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "kind",
            sa.String(32),
            nullable=False,
            comment="marketplace, seller, carrier, post, broker",
        ),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("tier_since", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "operator_tier_history",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("filer_id", sa.String(128), sa.ForeignKey("operators.filer_id"), nullable=False),
        sa.Column("previous", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column(
            "measures", sa.Text, nullable=False, comment="JSON: the measures behind the change"
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_operator_tier_history_filer", "operator_tier_history", ["filer_id"])


def downgrade() -> None:
    op.drop_table("operator_tier_history")
    op.drop_table("operators")
