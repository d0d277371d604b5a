"""The intake queue keeps the id of the HTTP request that submitted each
filing, so that the sequencer's log line of its decision carries it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "intake_queue",
        sa.Column(
            "request_id",
            sa.String(64),
            comment="the HTTP request that submitted it: its logs and the decision's share it",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("intake_queue") as batch:
        batch.drop_column("request_id")
