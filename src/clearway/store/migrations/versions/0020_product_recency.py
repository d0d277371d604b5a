"""A product's latest lines read down its index: the GTIN and SKU indexes
of declaration items also hold the declaration, so the catalogue check
stops after the lines it keeps instead of sorting the product's history.

On a large PostgreSQL store, build the new indexes first by hand with
``CREATE INDEX CONCURRENTLY`` (docs/deploy.md).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    for column in ("gtin", "sku"):
        name = f"ix_declaration_items_{column}"
        op.drop_index(name, "declaration_items")
        op.create_index(name, "declaration_items", [column, "declaration_id"])


def downgrade() -> None:
    for column in ("gtin", "sku"):
        name = f"ix_declaration_items_{column}"
        op.drop_index(name, "declaration_items")
        op.create_index(name, "declaration_items", [column])
