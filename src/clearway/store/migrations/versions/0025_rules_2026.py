"""The 2026 rules: an item line keeps its national tariff line (US HTS, EU
CN or TARIC code), which the EU per-line duty groups by; the catalogue
check reads a product's latest lines by manufacturer product id too.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "declaration_items",
        sa.Column(
            "national_line",
            sa.String(10),
            comment="national tariff line: US HTS, EU CN or TARIC code",
        ),
    )
    op.create_index("ix_declaration_items_mpn", "declaration_items", ["mpn", "declaration_id"])


def downgrade() -> None:
    op.drop_index("ix_declaration_items_mpn", "declaration_items")
    op.drop_column("declaration_items", "national_line")
