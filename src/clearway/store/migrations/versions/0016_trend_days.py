"""Daily counts the trends read (stores filled before this revision: run
`clearway trends rebuild` once), and the queue's columns on risk decisions.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trend_days",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("dimension", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column(
            "declarations", sa.Float, nullable=False, comment="or item lines, or inspections"
        ),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("duty", sa.Float, nullable=False),
        sa.Column("vat", sa.Float, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("due_at_sale", sa.Float, nullable=False),
        sa.Column("shortfall", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False, comment="sum of risk scores"),
        sa.Column("red", sa.Float, nullable=False, comment="red or black lanes, or hits"),
    )
    op.create_index("ix_trend_days_dimension", "trend_days", ["dimension", "day"])
    with op.batch_alter_table("risk_decisions") as table:
        table.add_column(
            sa.Column("current", sa.Boolean, nullable=False, server_default=sa.text("true"))
        )
        table.add_column(sa.Column("origin", sa.String(2)))
        table.add_column(sa.Column("office", sa.String(128)))
        table.add_column(sa.Column("marketplace", sa.String(512)))
        table.add_column(sa.Column("carrier", sa.String(512)))
        table.add_column(sa.Column("filed_at", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("value", sa.Float))
        table.add_column(sa.Column("currency", sa.String(3)))
    # Existing decisions take their declaration's columns.
    op.execute(
        """
        UPDATE risk_decisions SET
          current = (SELECT d.current FROM declarations d
                     WHERE d.id = risk_decisions.declaration_id),
          origin = (SELECT d.departure_country FROM declarations d
                    WHERE d.id = risk_decisions.declaration_id),
          office = (SELECT d.arrival_office FROM declarations d
                    WHERE d.id = risk_decisions.declaration_id),
          marketplace = (SELECT coalesce(d.marketplace_name, d.filer_id) FROM declarations d
                         WHERE d.id = risk_decisions.declaration_id),
          carrier = (SELECT coalesce(
                        (SELECT m.carrier_name FROM master_filings m
                         WHERE m.ref = d.master_ref AND m.current LIMIT 1),
                        CASE WHEN d.filer_role IN ('carrier', 'post') THEN d.filer_id END)
                     FROM declarations d WHERE d.id = risk_decisions.declaration_id),
          filed_at = (SELECT d.filed_at FROM declarations d
                      WHERE d.id = risk_decisions.declaration_id),
          value = (SELECT d.total_value FROM declarations d
                   WHERE d.id = risk_decisions.declaration_id),
          currency = (SELECT d.total_currency FROM declarations d
                      WHERE d.id = risk_decisions.declaration_id)
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("risk_decisions") as table:
        for name in (
            "current",
            "origin",
            "office",
            "marketplace",
            "carrier",
            "filed_at",
            "value",
            "currency",
        ):
            table.drop_column(name)
    op.drop_table("trend_days")
