"""CSV for spreadsheets: every export writes its cells through here.

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some spreadsheets skip before reading one of those)
is taken for a formula when the file is opened: a seller named
``=HYPERLINK(...)`` would run in an officer's spreadsheet. Such a cell is
written with a leading single quote, as OWASP recommends, which shows the
text as text. Numbers are written as they are: a negative amount is a
value, not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

__all__ = ["FORMULA_STARTS", "SafeWriter", "safe_cell", "safe_writer"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """``value``, with a quote in front when it is text a spreadsheet would
    read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """A ``csv.writer`` whose text cells are never formulas."""

    def __init__(self, stream: _Writable) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(stream: _Writable) -> SafeWriter:
    """A CSV writer over ``stream`` that escapes formula-like text cells."""
    return SafeWriter(stream)
