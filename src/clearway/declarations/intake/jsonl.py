"""JSON Lines intake: one filing per line, read in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from clearway.declarations.intake.base import IntakeFormat, IntakeLimits, RawRecord
from clearway.errors import ErrorDetail
from clearway.hookspecs import hookimpl

__all__ = ["JsonLinesFormat", "iter_lines"]

_CHUNK = 1 << 20


def iter_lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """Yield ``(line_number, line, length)`` for each non-empty line.

    A line longer than ``max_bytes`` is never held whole: it is skipped to
    its end and yielded as ``None`` with its full length, so one huge line
    costs no more memory than a normal one.
    """
    number = 0
    pending = b""
    skipping = False
    skipped = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                piece = chunk[start:]
                if skipping:
                    skipped += len(piece)
                elif len(pending) + len(piece) > max_bytes:
                    skipping, skipped, pending = True, len(pending) + len(piece), b""
                else:
                    pending += piece
                break
            number += 1
            piece = chunk[start:end]
            if skipping:
                yield number, None, skipped + len(piece)
                skipping, skipped = False, 0
            else:
                line = pending + piece if pending else piece
                pending = b""
                if len(line) > max_bytes:
                    yield number, None, len(line)
                elif line.strip():
                    yield number, line, len(line)
            start = end + 1
    if skipping:
        yield number + 1, None, skipped
    elif pending.strip():
        yield number + 1, pending, len(pending)


def too_long(source: str, number: int, length: int, limit: int) -> RawRecord:
    return RawRecord(
        source,
        number,
        None,
        (
            ErrorDetail(
                "",
                "record_too_large",
                f"must be at most {limit:,} bytes (setting max_record_bytes). "
                f"Got {length:,} bytes.",
            ),
        ),
    )


class JsonLinesFormat:
    name: str = "jsonl"
    suffixes: tuple[str, ...] = (".jsonl", ".ndjson")

    def read(self, path: Path, limits: IntakeLimits) -> Iterator[RawRecord]:
        source = path.name
        with path.open("rb") as stream:
            for number, line, length in iter_lines(stream, limits.max_record_bytes):
                if line is None:
                    yield too_long(source, number, length, limits.max_record_bytes)
                else:
                    yield RawRecord(source, number, line)


@hookimpl
def clearway_intake_formats() -> list[IntakeFormat]:
    return [JsonLinesFormat()]
