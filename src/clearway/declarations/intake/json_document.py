"""JSON intake: a file holding one filing object or a list of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from clearway.declarations.intake.base import IntakeFormat, IntakeLimits, RawRecord
from clearway.errors import ErrorDetail, format_value
from clearway.hookspecs import hookimpl

__all__ = ["JsonDocumentFormat"]


class JsonDocumentFormat:
    name: str = "json"
    suffixes: tuple[str, ...] = (".json",)

    def read(self, path: Path, limits: IntakeLimits) -> Iterator[RawRecord]:
        source = path.name
        size = path.stat().st_size
        if size > limits.max_json_document_bytes:
            yield RawRecord(
                source,
                1,
                None,
                (
                    ErrorDetail(
                        "",
                        "document_too_large",
                        f"must be at most {limits.max_json_document_bytes:,} bytes to be read "
                        f"as one JSON document (setting max_json_document_bytes); "
                        f"use JSON Lines for streaming. Got {size:,} bytes.",
                    ),
                ),
            )
            return
        try:
            document = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            yield RawRecord(
                source, 1, None, (ErrorDetail("", "json_invalid", f"is not valid JSON: {exc}."),)
            )
            return
        elements = document if isinstance(document, list) else [document]
        for index, element in enumerate(elements, start=1):
            if isinstance(element, dict):
                yield RawRecord(source, index, element)
            else:
                yield RawRecord(
                    source,
                    index,
                    None,
                    (
                        ErrorDetail(
                            "",
                            "not_an_object",
                            f"must be a JSON object. Got {format_value(element)}.",
                        ),
                    ),
                )


@hookimpl
def clearway_intake_formats() -> list[IntakeFormat]:
    return [JsonDocumentFormat()]
