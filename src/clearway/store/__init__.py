"""The store: SQLAlchemy Core on SQLite (default) or PostgreSQL."""

from clearway.store.engine import normalise_url, open_engine, upgrade, writing
from clearway.store.filings import WriteResult, write_batch

__all__ = ["WriteResult", "normalise_url", "open_engine", "upgrade", "write_batch", "writing"]
