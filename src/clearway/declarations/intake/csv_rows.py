"""CSV intake: one row per item, rows of one declaration next to each other.

Column names are the JSON paths of the data model (``filer.id``,
``seller.address.street``, ``totals.value``); item fields are ``item.<name>``
(``item.description``, ``item.hs_code``). Declaration-level columns repeat on
every row of a declaration and must agree. An empty cell is an absent value.
The full list is in ``docs/intake.md`` and :data:`HOUSE_COLUMNS`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clearway.declarations.intake.base import IntakeFormat, IntakeLimits, RawRecord
from clearway.errors import ErrorDetail, format_value
from clearway.hookspecs import hookimpl

__all__ = ["HOUSE_COLUMNS", "ITEM_COLUMNS", "CsvRowsFormat"]

HOUSE_COLUMNS: tuple[str, ...] = (
    "declaration_id",
    "filer.id",
    "filer.role",
    "filer.name",
    "filer.eori",
    "destination_country",
    "filed_at",
    "transport.mode",
    "transport.tracking_number",
    "transport.master_ref",
    "transport.departure_country",
    "transport.arrival_office",
    "transport.expected_arrival",
    "seller.name",
    "seller.address.street",
    "seller.address.city",
    "seller.address.postcode",
    "seller.address.country",
    "seller.country",
    "seller.marketplace_seller_id",
    "seller.tax_id",
    "seller.eori",
    "seller.ioss",
    "marketplace.name",
    "marketplace.id",
    "marketplace.listing_url",
    "consignee.name",
    "consignee.address.street",
    "consignee.address.city",
    "consignee.address.postcode",
    "consignee.address.country",
    "consignee.country",
    "consignee.id",
    "consignee.email_sha256",
    "consignee.phone_sha256",
    "totals.value",
    "totals.currency",
    "totals.gross_weight_kg",
    "totals.packages",
    "incoterm",
    "duty_paid_at_sale",
    "vat_collected",
    "duty_collected",
    # 2026 rules (issue 20).
    "vat_regime",
    "entry_type",
    "collected_by",
    "duty_payer",
)
ITEM_COLUMNS: tuple[str, ...] = (
    "item.description",
    "item.quantity",
    "item.unit_value",
    "item.currency",
    "item.hs_code",
    "item.gtin",
    "item.sku",
    "item.mpn",
    "item.brand",
    "item.origin_country",
    "item.net_weight_kg",
    # 2026 rules (issue 20).
    "item.national_line.code",
    "item.national_line.nomenclature",
    "item.national_line.version",
    "item.postal_tracking_number",
    # Listing attributes for HS suggestions (issue 18).
    "item.category_path",
    "item.material",
)
_KNOWN = frozenset(HOUSE_COLUMNS + ITEM_COLUMNS)
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _cell(column: str, value: str) -> Any:
    if column == "duty_paid_at_sale":
        return _BOOLEANS.get(value.lower(), value)
    return value


class _Group:
    def __init__(self, key: tuple[str, str], line: int) -> None:
        self.key = key
        self.line = line
        self.header: dict[str, str] = {}
        self.items: list[dict[str, Any]] = []
        self.problems: list[ErrorDetail] = []

    def add(self, row: dict[str, str], line: int) -> None:
        item: dict[str, Any] = {}
        for column, value in row.items():
            if value == "":
                continue
            if column.startswith("item."):
                _put(item, column[5:], value)
                continue
            seen = self.header.setdefault(column, value)
            if seen != value:
                self.problems.append(
                    ErrorDetail(
                        column,
                        "csv_conflict",
                        f"must be the same on every row of declaration {self.key[1]!r} "
                        f"(line {self.line}: {format_value(seen)}). Got {format_value(value)} "
                        f"on line {line}.",
                    )
                )
        self.items.append(item)

    def record(self, source: str) -> RawRecord:
        if self.problems:
            return RawRecord(source, self.line, None, tuple(self.problems))
        document: dict[str, Any] = {}
        for column, value in self.header.items():
            _put(document, column, _cell(column, value))
        document["items"] = self.items
        return RawRecord(source, self.line, document)


class CsvRowsFormat:
    name: str = "csv"
    suffixes: tuple[str, ...] = (".csv",)

    def read(self, path: Path, limits: IntakeLimits) -> Iterator[RawRecord]:
        source = path.name
        csv.field_size_limit(limits.max_record_bytes)
        with path.open("r", encoding="utf-8", newline="", errors="replace") as text:
            yield from self._read(source, text)

    def _read(self, source: str, text: io.TextIOBase) -> Iterator[RawRecord]:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRecord(source, 1, None, (ErrorDetail("", "csv_invalid", f"header: {exc}."),))
            return
        unknown = [c for c in header if c not in _KNOWN]
        missing = [c for c in ("declaration_id", "filer.id") if c not in header]
        if unknown or missing:
            why = []
            if unknown:
                why.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
            if missing:
                why.append(f"missing column(s) {', '.join(map(repr, missing))}")
            yield RawRecord(
                source,
                1,
                None,
                (
                    ErrorDetail(
                        "",
                        "csv_header",
                        f"header must use the documented column names (docs/intake.md): "
                        f"{'; '.join(why)}.",
                    ),
                ),
            )
            return
        width = len(header)
        group: _Group | None = None
        finished: set[tuple[str, str]] = set()
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if group is not None:
                    group.problems.append(ErrorDetail("", "csv_invalid", f"line {line}: {exc}."))
                else:
                    yield RawRecord(
                        source,
                        line,
                        None,
                        (ErrorDetail("", "csv_invalid", f"line {line}: {exc}."),),
                    )
                continue
            if not any(cells):
                continue
            if len(cells) != width:
                problem = ErrorDetail(
                    "",
                    "csv_row_width",
                    f"line {line} must have {width} cells like the header. Got {len(cells)}"
                    + (" (truncated file?)." if len(cells) < width else "."),
                )
                row = dict(zip(header, cells, strict=False))
                key = (row.get("filer.id", ""), row.get("declaration_id", ""))
                if group is not None and group.key == key:
                    group.problems.append(problem)
                    continue
                if group is not None:
                    yield group.record(source)
                    finished.add(group.key)
                    group = None
                yield RawRecord(source, line, None, (problem,))
                continue
            row = dict(zip(header, cells, strict=True))
            key = (row["filer.id"], row["declaration_id"])
            if group is None or group.key != key:
                if group is not None:
                    yield group.record(source)
                    finished.add(group.key)
                group = _Group(key, line)
                if key in finished:
                    group.problems.append(
                        ErrorDetail(
                            "declaration_id",
                            "csv_not_grouped",
                            f"rows of one declaration must be next to each other. Got "
                            f"{key[1]!r} again on line {line}.",
                        )
                    )
            group.add(row, line)
        if group is not None:
            yield group.record(source)


@hookimpl
def clearway_intake_formats() -> list[IntakeFormat]:
    return [CsvRowsFormat()]
