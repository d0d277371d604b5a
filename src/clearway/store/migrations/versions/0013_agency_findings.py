"""Partner agencies' findings on the declarations routed to them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "agency_findings",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("agency", sa.String(128), nullable=False),
        sa.Column(
            "finding", sa.String(16), nullable=False, comment="admissible, refused or sampled"
        ),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agency_findings_declaration", "agency_findings", ["declaration_id"])


def downgrade() -> None:
    op.drop_table("agency_findings")
