"""Webhook and inbox secrets are stored sealed (AES-256-GCM, base64): wider
columns. Secrets an older version stored in clear are sealed by
`clearway db seal-secrets` (the migration has no key to seal them with).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_COMMENTS = {
    "webhook_subscriptions": "HMAC key shared with the receiver, sealed (AES-256-GCM under "
    "secrets_key_file)",
    "inbound_senders": "the sender's HMAC key, sealed (AES-256-GCM under secrets_key_file)",
}
_BEFORE = {"webhook_subscriptions": "HMAC key shared with the receiver", "inbound_senders": None}


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table, PostgreSQL alters the column.
    for table, comment in _COMMENTS.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "secret",
                type_=sa.String(512),
                existing_type=sa.String(128),
                existing_nullable=False,
                comment=comment,
            )


def downgrade() -> None:
    for table, comment in _BEFORE.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "secret",
                type_=sa.String(128),
                existing_type=sa.String(512),
                existing_nullable=False,
                comment=comment,
            )
