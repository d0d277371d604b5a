"""This node as a witness of other logs and as a webhook subscriber.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "witnessed_logs",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("vkey", sa.Text, nullable=False, comment="the log's signed-note verifier key"),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text, comment="the latest checkpoint cosigned"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "inbound_senders",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "inbound_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("sender", sa.String(128), sa.ForeignKey("inbound_senders.name"), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ux_inbound_events_key", "inbound_events", ["sender", "idempotency_key"], unique=True
    )


def downgrade() -> None:
    op.drop_table("inbound_events")
    op.drop_table("inbound_senders")
    op.drop_table("witnessed_logs")
