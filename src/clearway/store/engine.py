"""Opening the store: SQLite file by default, PostgreSQL by URL; migrations."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from clearway.errors import ConfigurationError, StoreError

__all__ = ["as_utc", "normalise_url", "open_engine", "upgrade", "writing"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp with its zone: SQLite gives them back naive, and
    every timestamp is stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite", "postgresql+")):
        raise ConfigurationError(
            f"CLEARWAY_DATABASE_URL must be a sqlite:/// or postgresql:// URL. Got {url!r}."
        )
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy's begin event issues BEGIN (see _sqlite_begin), not sqlite3.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses nothing when a process dies; only an OS crash
    # can roll back the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers read then write (current versions, the tree head): they take
    # the write lock at BEGIN so no other writer slips in between. Readers
    # begin deferred and never block anyone (WAL).
    immediate = conn.get_execution_options().get("clearway_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writing(engine: Engine) -> Engine:
    """The engine for a write transaction: ``with writing(engine).begin() as conn``."""
    return engine.execution_options(clearway_write=True)


def open_engine(url: str, *, migrate: bool = True, pool_size: int = 5) -> Engine:
    """Create the engine for ``url`` and, by default, bring the schema up to date."""
    url = normalise_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        # Sessions in UTC: days (duty per day, trends) are UTC days everywhere.
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
        )
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StoreError(f"cannot open the database at {engine.url!r}: {reason}") from exc
    if migrate:
        upgrade(engine)
    return engine


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only: it holds
    personal data, and SQLite gives its WAL and shared-memory files the
    database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # an existing store keeps the mode its operator chose
    with contextlib.suppress(FileExistsError):  # another process created it first
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    try:
        command.upgrade(_alembic_config(engine), revision)
        if engine.dialect.name == "postgresql":
            from clearway.store.partitions import ensure_partitions

            with engine.begin() as conn:
                ensure_partitions(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"migrating {engine.url!r} failed: {exc}") from exc
