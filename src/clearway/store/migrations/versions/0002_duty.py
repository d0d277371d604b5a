"""Duty assessments and their lines; what the filer collected at sale.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.add_column(sa.Column("seller_ioss", sa.String(12)))
        batch.add_column(
            sa.Column(
                "duty_paid_at_sale", sa.Boolean, nullable=False, server_default=sa.text("false")
            )
        )
        batch.add_column(
            sa.Column(
                "collected_at_sale", sa.Float, comment="VAT and duty the filer reports as collected"
            )
        )
    op.create_table(
        "duty_assessments",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, sa.ForeignKey("declarations.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column(
            "reason", sa.String(512), nullable=False, comment="filed, or why it was reassessed"
        ),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regime", sa.String(64)),
        sa.Column("currency", sa.String(3)),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("duty", sa.Float, nullable=False),
        sa.Column("vat", sa.Float, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("due_at_sale", sa.Float, nullable=False),
        sa.Column("collected", sa.Float),
        sa.Column("shortfall", sa.Float),
        sa.Column("problem", sa.String(256)),
    )
    op.create_index("ix_duty_assessments_declaration", "duty_assessments", ["declaration_id"])
    op.create_index(
        "ux_duty_assessments_current",
        "duty_assessments",
        ["declaration_id"],
        unique=True,
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )
    op.create_table(
        "duty_lines",
        sa.Column("assessment_id", Id, sa.ForeignKey("duty_assessments.id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("item_line", sa.Integer, comment="declaration item, or null for the consignment"),
        sa.Column("base", sa.Float, nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("duty_lines")
    op.drop_table("duty_assessments")
    with op.batch_alter_table("declarations") as batch:
        batch.drop_column("collected_at_sale")
        batch.drop_column("duty_paid_at_sale")
        batch.drop_column("seller_ioss")
