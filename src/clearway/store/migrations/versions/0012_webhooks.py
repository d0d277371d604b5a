"""Webhook subscriptions and deliveries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("participant_id", Id, sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column(
            "secret", sa.String(128), nullable=False, comment="HMAC key shared with the receiver"
        ),
        sa.Column(
            "events",
            sa.String(500),
            nullable=False,
            comment="comma-separated event type prefixes",
        ),
        sa.Column("cursor", sa.BigInteger, nullable=False, comment="ledger index already scanned"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", Id, sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False, comment="also the idempotency key"),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(500)),
    )
    op.create_index(
        "ux_webhook_deliveries_event",
        "webhook_deliveries",
        ["subscription_id", "event_id"],
        unique=True,
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["delivered_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
