"""One write path: the durable intake queue, sequencer ticks, and the risk
features each decision was made on (the sequencer reloads its state from
them, and a later filing can raise an earlier lane from them).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "intake_queue",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False, comment="house or master"),
        sa.Column("filer_id", sa.String(128), nullable=False),
        sa.Column("ref", sa.String(128), nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column(
            "document", sa.Text, nullable=False, comment="canonical JSON, validated at intake"
        ),
        sa.Column("source", sa.String(64), nullable=False, comment="api, cli, demo, ..."),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_intake_queue_key", "intake_queue", ["filer_id", "ref"])
    op.create_table(
        "sequencer_ticks",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("ticked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filings", sa.Integer, nullable=False),
        sa.Column("raised", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("risk_decisions") as batch:
        batch.add_column(
            sa.Column(
                "features",
                sa.Text,
                comment="JSON: the risk features the lane was decided on (the sequencer's state)",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_decisions") as batch:
        batch.drop_column("features")
    op.drop_table("sequencer_ticks")
    op.drop_index("ix_intake_queue_key", "intake_queue")
    op.drop_table("intake_queue")
