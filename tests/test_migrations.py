from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from clearway.store import upgrade
from clearway.store.schema import metadata


def _not_a_partition(name: str | None, type_: str, _parent: object) -> bool:
    # A partition is its parent's business (clearway.store.partitions).
    return not (type_ == "table" and (name or "").startswith(("declarations_y", "declarations_d")))


def _partitioning(diff: list[object]) -> list[object]:
    """The differences PostgreSQL's partitioned declarations make, and only
    those: no foreign key may point at them, and their unique indexes are
    plain ones (writers lock the keys instead)."""
    plain = {("remove_index", f"ix_declarations_{n}") for n in ("current", "version")}
    unique = {("add_index", f"ux_declarations_{n}") for n in ("current", "version")}
    expected = []
    for entry in diff:
        kind, what = entry[0], entry[1]  # type: ignore[index]
        to_declarations = kind == "add_fk" and what.referred_table.name == "declarations"
        if to_declarations or (kind, getattr(what, "name", None)) in plain | unique:
            expected.append(entry)
    return expected


def test_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    options = {"include_name": _not_a_partition}
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=options), metadata)
    if engine.dialect.name == "postgresql":
        partitioning = _partitioning(diff)
        # 14 tables point at a declaration (hs_confirmations the 14th), 4 indexes.
        assert len(partitioning) == 14 + 4
        diff = [entry for entry in diff if entry not in partitioning]
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0027"


def test_migrating_down_and_up_keeps_declarations(engine: Engine) -> None:
    from alembic import command

    from clearway.store.engine import _alembic_config
    from clearway.store.reading import get_declaration
    from tests import factories as f
    from tests.test_store import store

    doc = f.declaration()
    store(engine, doc)
    command.downgrade(_alembic_config(engine), "0001")
    upgrade(engine)
    assert get_declaration(engine, doc["declaration_id"]).version == 1


def test_upgrading_to_0016_fills_the_queue_columns_and_rebuild_counts(
    engine: Engine, tmp_path: object
) -> None:
    """A store decided before 0016: its decisions get their declaration's
    queue columns, and `trends rebuild` counts its declarations."""
    from pathlib import Path

    from alembic import command
    from sqlalchemy import select

    from clearway.clearance import RiskOptions, Stages
    from clearway.store.engine import _alembic_config
    from clearway.store.rollup import rebuild_trends
    from clearway.store.schema import risk_decisions, trend_days
    from clearway.wiring import ingest_files
    from tests import factories as f

    assert isinstance(tmp_path, Path)
    docs = [f.declaration(transport__departure_country="VN") for _ in range(3)]
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    ingest_files(engine, [path], stages=Stages(risk=RiskOptions()))
    command.downgrade(_alembic_config(engine), "0015")
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(risk_decisions.c.current, risk_decisions.c.origin, risk_decisions.c.value)
        ).all()
    assert [(bool(c), o) for c, o, _ in rows] == [(True, "VN")] * 3
    assert all(v == 12.5 for _, _, v in rows)
    assert rebuild_trends(engine) == 3
    with engine.connect() as conn:
        origins = conn.execute(
            select(trend_days.c.key, trend_days.c.declarations).where(
                trend_days.c.dimension == "origin"
            )
        ).all()
    assert origins == [("VN", 3.0)]
