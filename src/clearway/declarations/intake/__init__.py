"""Intake: files in, raw records out, whatever the format.

Formats are plugins on the ``clearway_intake_formats`` hook; JSON, JSON Lines
and CSV are the built-ins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from clearway.declarations.intake.base import IntakeFormat, IntakeLimits, RawRecord
from clearway.errors import InputError
from clearway.plugins import plugin_manager

__all__ = ["IntakeFormat", "IntakeLimits", "RawRecord", "format_for", "formats", "read_records"]


def formats() -> dict[str, IntakeFormat]:
    """Every registered intake format by name."""
    found: dict[str, IntakeFormat] = {}
    for provided in plugin_manager().hook.clearway_intake_formats():
        for fmt in provided:
            found.setdefault(fmt.name, fmt)
    return found


def format_for(path: Path, name: str | None = None) -> IntakeFormat:
    """The format named ``name``, or the one whose suffix ``path`` has."""
    known = formats()
    if name is not None:
        if name not in known:
            raise InputError(f"--format must be one of {', '.join(sorted(known))}. Got {name!r}.")
        return known[name]
    lowered = path.name.lower()
    for fmt in known.values():
        if any(lowered.endswith(suffix) for suffix in fmt.suffixes):
            return fmt
    raise InputError(
        f"{path}: cannot tell the format from the file name; pass --format "
        f"({', '.join(sorted(known))})."
    )


def read_records(
    paths: Iterable[Path], limits: IntakeLimits, format_name: str | None = None
) -> Iterator[RawRecord]:
    """Every record of every file, in order, lazily."""
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file.")
        yield from format_for(path, format_name).read(path, limits)
