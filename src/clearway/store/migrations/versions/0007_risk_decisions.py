"""Risk decisions: score, lane and reasons per declaration.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "risk_decisions",
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), primary_key=True),
        sa.Column("score", sa.Float, nullable=False, comment="composite of rules and model, 0..1"),
        sa.Column("lane", sa.String(8), nullable=False, comment="green, yellow, red or black"),
        sa.Column(
            "selected_by",
            sa.String(16),
            nullable=False,
            comment="rule, score, exploration, ...",
        ),
        sa.Column("rules", sa.Text, nullable=False, comment="JSON: ids of the rules that fired"),
        sa.Column("reasons", sa.Text, nullable=False, comment="JSON: reasons in words"),
        sa.Column("rules_version", sa.Integer, nullable=False),
        sa.Column(
            "model", sa.String(64), nullable=False, comment="trained_at of the model, or empty"
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_risk_decisions_lane", "risk_decisions", ["lane"])


def downgrade() -> None:
    op.drop_table("risk_decisions")
