from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from clearway.store import upgrade
from clearway.store.schema import metadata


def test_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0016"


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
