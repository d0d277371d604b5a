"""Re-scored history: what ``clearway history rescore`` said of each
declaration, by filing day.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rescored_declarations",
        sa.Column("filer_id", sa.String(128), primary_key=True),
        sa.Column("ref", sa.String(128), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, comment="filing day (UTC) it was scored with"),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("lane", sa.String(8), nullable=False),
        sa.Column("selected_by", sa.String(16), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False, comment="JSON list of the rules that fired"),
        sa.Column("reasons", sa.Text(), nullable=False, comment="JSON list of reasons in words"),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("rescored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rescored_declarations_day", "rescored_declarations", ["day"])


def downgrade() -> None:
    op.drop_index("ix_rescored_declarations_day", "rescored_declarations")
    op.drop_table("rescored_declarations")
