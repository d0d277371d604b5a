"""Alembic environment: runs on the engine clearway hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from clearway.store.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("clearway migrations run through clearway.store.upgrade(engine)")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds a table to drop a column; foreign keys pointing at it
        # must not fire while it is briefly gone. The pragma is ignored inside
        # a transaction, so it goes straight to the driver before one starts.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
            context.run_migrations()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
