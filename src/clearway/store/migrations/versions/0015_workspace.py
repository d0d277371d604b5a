"""The officer workspace: users, sessions, and officers' decisions (audit);
indexes the queue, the trends and a declaration's ledger events read.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column(
            "role", sa.String(32), nullable=False, comment="customs_officer or customs_analyst"
        ),
        sa.Column(
            "password_hash", sa.String(256), nullable=False, comment="scrypt$n$r$p$salt$hash"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", Id, sa.ForeignKey("web_users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "officer_decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column(
            "action",
            sa.String(32),
            nullable=False,
            comment="release, inspect, hold, rfi, outcome:<what>",
        ),
        sa.Column("previous_lane", sa.String(8)),
        sa.Column("lane", sa.String(8)),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_officer_decisions_declaration", "officer_decisions", ["declaration_id"])
    op.create_index("ix_declarations_filed_at", "declarations", ["filed_at"])
    op.create_index("ix_ledger_entries_declaration", "ledger_entries", ["declaration_id"])
    op.create_index("ix_risk_decisions_lane_score", "risk_decisions", ["lane", "score"])


def downgrade() -> None:
    op.drop_index("ix_risk_decisions_lane_score", "risk_decisions")
    op.drop_index("ix_declarations_filed_at", "declarations")
    op.drop_index("ix_ledger_entries_declaration", "ledger_entries")
    op.drop_table("officer_decisions")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
