"""What every intake format produces: a stream of raw records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from clearway.errors import ErrorDetail

__all__ = ["IntakeFormat", "IntakeLimits", "RawRecord"]


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """Bounds that keep intake memory flat whatever the input."""

    max_record_bytes: int = 1_048_576
    max_json_document_bytes: int = 256 * 1_048_576


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read from a file, before validation.

    ``position`` is the 1-based line (JSON Lines, CSV: the group's first
    line) or 1-based element index (JSON). ``problems`` is set when the record
    could not even be read: ``problems`` lists why and ``payload`` is None.
    """

    source: str
    position: int
    payload: bytes | dict[str, Any] | None
    problems: tuple[ErrorDetail, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.source}:{self.position}"


class IntakeFormat(Protocol):
    """An input format: its name, the file suffixes it claims, and its reader."""

    name: str
    suffixes: tuple[str, ...]

    def read(self, path: Path, limits: IntakeLimits) -> Iterator[RawRecord]:
        """Yield every record of ``path``; never raise for bad content."""
        ...
