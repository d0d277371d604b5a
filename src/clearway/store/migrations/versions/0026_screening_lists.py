"""Restricted-party lists as dated data: lists, entries, false-positive
marks and rescreen alerts.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "screening_lists",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "source", sa.String(1024), nullable=False, comment="file or publisher it came from"
        ),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column(
            "published", sa.Date, nullable=False, comment="the publisher's date of this version"
        ),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, comment="of every entry's digest"),
        sa.Column("notes", sa.Text, nullable=False),
    )
    op.create_table(
        "screening_entries",
        sa.Column("list_id", _id(), sa.ForeignKey("screening_lists.id"), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("programs", sa.Text, nullable=False),
        sa.Column("names", sa.Text, nullable=False, comment="JSON list: the name and its aliases"),
        sa.Column("countries", sa.String(1024), nullable=False, comment="JSON list of ISO alpha-2"),
        sa.Column("digest", sa.String(32), nullable=False),
    )
    op.create_index(
        "ux_screening_entries_list_entry",
        "screening_entries",
        ["list_id", "entry_id"],
        unique=True,
    )
    op.create_table(
        "screening_false_positives",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column(
            "party_key", sa.String(1024), nullable=False, comment="distinctive words|country"
        ),
        sa.Column("party_name", sa.String(512), nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("entry_digest", sa.String(32), nullable=False, comment="the entry as marked"),
        sa.Column("declaration_id", _id(), nullable=True, comment="where the officer saw the hit"),
        sa.Column("marked_by", sa.String(128), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_screening_false_positives_party", "screening_false_positives", ["party_key"]
    )
    op.create_table(
        "screening_alerts",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("declaration_id", _id(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("listed_name", sa.String(1024), nullable=False),
        sa.Column("matched_name", sa.String(1024), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.String(1024), nullable=False),
        sa.Column("lane_before", sa.String(8), nullable=True),
        sa.Column("lane_after", sa.String(8), nullable=True),
        sa.Column("released", sa.Boolean, nullable=False, comment="found after release (history)"),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_screening_alerts_declaration", "screening_alerts", ["declaration_id"])


def downgrade() -> None:
    op.drop_table("screening_alerts")
    op.drop_table("screening_false_positives")
    op.drop_table("screening_entries")
    op.drop_table("screening_lists")
