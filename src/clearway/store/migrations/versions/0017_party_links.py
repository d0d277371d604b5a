"""An entity's declarations, newest first, from the index alone (the
officer's "also on" links).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_declaration_parties_entity_role",
        "declaration_parties",
        ["entity_id", "role", "declaration_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_declaration_parties_entity_role", "declaration_parties")
