"""Alembic environment: runs on the engine clearway hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from clearway.store.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("clearway migrations run through clearway.store.upgrade(engine)")

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
