"""Sign-in attempts, counted in the store so that every process of the
server locks out the same user names and addresses.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column(
            "key",
            sa.String(64),
            nullable=False,
            comment="SHA-256 of 'user:<name>' or 'address:<ip>'",
        ),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sign_in_attempts_key", "sign_in_attempts", ["key", "attempted_at"])
    op.create_index("ix_sign_in_attempts_at", "sign_in_attempts", ["attempted_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempts_at", "sign_in_attempts")
    op.drop_index("ix_sign_in_attempts_key", "sign_in_attempts")
    op.drop_table("sign_in_attempts")
