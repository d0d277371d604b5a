"""The metadata every table of the store belongs to."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData

__all__ = ["Id", "metadata"]

metadata = MetaData()

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-assigned).
Id = BigInteger().with_variant(Integer, "sqlite")
