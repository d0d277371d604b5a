"""Referrals between customs and filers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False, comment="rfi, rfs, dnl or hold"),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column(
            "addressed_to", sa.String(128), nullable=False, comment="filer id that must answer"
        ),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("response", sa.Text),
        sa.Column("resolution", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referrals_addressed", "referrals", ["addressed_to", "state"])
    op.create_index("ix_referrals_due", "referrals", ["state", "due_at"])


def downgrade() -> None:
    op.drop_table("referrals")
