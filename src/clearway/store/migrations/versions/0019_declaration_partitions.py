"""PostgreSQL: the declarations partitioned by month of receipt.

The table is rebuilt as ``PARTITION BY RANGE (received_at)`` with monthly
partitions from its first filing to three months ahead and a default
partition; rows keep their ids. PostgreSQL allows neither a unique index nor
a foreign key target across partitions without the partition key, so the
two unique indexes become plain ones (writers keep one current version per
key with advisory locks: ``clearway.store.partitions``) and the foreign keys
of the tables that point at a declaration are dropped (those rows are only
ever written in the same transaction as their declaration).

The copy rewrites the table: on a large store, run it in a maintenance
window (measured: see docs/deploy.md). SQLite: nothing changes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# Tables whose declaration_id pointed at declarations(id).
_CHILDREN = (
    "agency_findings",
    "agency_routings",
    "declaration_items",
    "declaration_parties",
    "duty_assessments",
    "inspection_outcomes",
    "item_classifications",
    "ledger_entries",
    "officer_decisions",
    "product_flags",
    "referrals",
    "risk_decisions",
    "screening_hits",
)
_PLAIN_INDEXES = {
    "ix_declarations_ref": "(ref)",
    "ix_declarations_master_ref": "(master_ref)",
    "ix_declarations_tracking_number": "(tracking_number)",
    "ix_declarations_received_at": "(received_at)",
    "ix_declarations_filed_at": "(filed_at)",
}


def _rename_indexes(suffix_from: str, suffix_to: str) -> None:
    for name in [*_PLAIN_INDEXES, "ux_declarations_version", "ux_declarations_current"]:
        op.execute(f"ALTER INDEX IF EXISTS {name}{suffix_from} RENAME TO {name}{suffix_to}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from clearway.store.partitions import DEFAULT_PARTITION, ensure_partitions

    for child in _CHILDREN:
        op.execute(f"ALTER TABLE {child} DROP CONSTRAINT IF EXISTS {child}_declaration_id_fkey")
    op.execute("ALTER TABLE declarations RENAME TO declarations_unpartitioned")
    op.execute(
        "ALTER TABLE declarations_unpartitioned "
        "RENAME CONSTRAINT declarations_pkey TO declarations_unpartitioned_pkey"
    )
    _rename_indexes("", "_unpartitioned")
    op.execute(
        "CREATE TABLE declarations (LIKE declarations_unpartitioned "
        "INCLUDING DEFAULTS INCLUDING COMMENTS INCLUDING STORAGE) "
        "PARTITION BY RANGE (received_at)"
    )
    op.execute(
        "ALTER TABLE declarations ADD CONSTRAINT declarations_pkey PRIMARY KEY (id, received_at)"
    )
    for name, columns in _PLAIN_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON declarations {columns}")
    op.execute("CREATE INDEX ix_declarations_version ON declarations (filer_id, ref, version)")
    op.execute("CREATE INDEX ix_declarations_current ON declarations (filer_id, ref) WHERE current")
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF declarations DEFAULT")
    first = bind.execute(text("SELECT min(received_at) FROM declarations_unpartitioned")).scalar()
    start = first.astimezone(UTC).date() if first else datetime.now(UTC).date()
    ensure_partitions(bind, start)
    op.execute("INSERT INTO declarations SELECT * FROM declarations_unpartitioned")
    op.execute("ALTER SEQUENCE declarations_id_seq OWNED BY declarations.id")
    op.execute("DROP TABLE declarations_unpartitioned")
    op.execute("ANALYZE declarations")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE declarations RENAME TO declarations_partitioned")
    op.execute(
        "ALTER TABLE declarations_partitioned "
        "RENAME CONSTRAINT declarations_pkey TO declarations_partitioned_pkey"
    )
    _rename_indexes("", "_partitioned")
    op.execute(
        "CREATE TABLE declarations (LIKE declarations_partitioned "
        "INCLUDING DEFAULTS INCLUDING COMMENTS INCLUDING STORAGE)"
    )
    op.execute("INSERT INTO declarations SELECT * FROM declarations_partitioned")
    op.execute("ALTER TABLE declarations ADD CONSTRAINT declarations_pkey PRIMARY KEY (id)")
    op.execute("ALTER SEQUENCE declarations_id_seq OWNED BY declarations.id")
    op.execute("DROP TABLE declarations_partitioned CASCADE")
    for name, columns in _PLAIN_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON declarations {columns}")
    op.execute(
        "CREATE UNIQUE INDEX ux_declarations_version ON declarations (filer_id, ref, version)"
    )
    op.execute(
        "CREATE UNIQUE INDEX ux_declarations_current ON declarations (filer_id, ref) WHERE current"
    )
    for child in _CHILDREN:
        op.execute(
            f"ALTER TABLE {child} ADD CONSTRAINT {child}_declaration_id_fkey "
            "FOREIGN KEY (declaration_id) REFERENCES declarations (id)"
        )
