from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearway.declarations.intake import IntakeLimits, format_for, read_records
from clearway.declarations.intake.csv_rows import HOUSE_COLUMNS, ITEM_COLUMNS
from clearway.declarations.intake.jsonl import iter_lines
from clearway.errors import InputError
from tests import factories as f

LIMITS = IntakeLimits(max_record_bytes=64 * 1024)


def records(path: Path, fmt: str | None = None) -> list:
    return list(read_records([path], LIMITS, fmt))


def test_format_from_suffix_and_explicit(tmp_path: Path) -> None:
    assert format_for(tmp_path / "a.jsonl").name == "jsonl"
    assert format_for(tmp_path / "a.CSV").name == "csv"
    assert format_for(tmp_path / "a.txt", "json").name == "json"
    with pytest.raises(InputError, match="--format"):
        format_for(tmp_path / "a.txt")
    with pytest.raises(InputError, match="must be one of"):
        format_for(tmp_path / "a.txt", "xml")


def test_jsonl_huge_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    good = orjson.dumps(f.declaration())
    with path.open("wb") as out:
        out.write(good + b"\n")
        out.write(b'{"declaration_id": "' + b"x" * (50 * 1024 * 1024) + b'"}\n')
        out.write(good + b"\n")
    got = records(path)
    assert [r.position for r in got] == [1, 2, 3]
    assert got[0].payload == good
    assert got[2].payload == good
    assert got[1].payload is None
    assert got[1].problems[0].code == "record_too_large"
    assert "52,428,8" in got[1].problems[0].message


def test_jsonl_skips_blank_lines_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n{"b": 2}\n{"c": 3}')
    got = records(path)
    assert [(r.position, r.payload) for r in got] == [
        (1, b'{"a": 1}'),
        (4, b'{"b": 2}'),
        (5, b'{"c": 3}'),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=30),
    st.integers(min_value=4, max_value=64),
)
def test_iter_lines_agrees_with_split(lines: list[bytes], limit: int) -> None:
    data = b"\n".join(lines)
    got = list(iter_lines(io.BytesIO(data), limit))
    expected = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
    assert [(n, line if line is not None else None) for n, line, _ in got] == [
        (n, line if len(line) <= limit else None) for n, line in expected
    ]


def test_json_document_single_and_list(tmp_path: Path) -> None:
    one, many = tmp_path / "one.json", tmp_path / "many.json"
    one.write_bytes(orjson.dumps(f.declaration()))
    many.write_bytes(orjson.dumps([f.declaration(), 3, f.declaration()]))
    assert len(records(one)) == 1
    got = records(many)
    assert [r.position for r in got] == [1, 2, 3]
    assert got[1].problems[0].code == "not_an_object"
    assert isinstance(got[2].payload, dict)


def test_malformed_json_document(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'[{"declaration_id": "D1"}, {')
    got = records(path)
    assert len(got) == 1
    assert got[0].problems[0].code == "json_invalid"


def _csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    import csv

    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_rows(doc: dict) -> list[dict[str, str]]:
    """Flatten a declaration into the documented CSV rows, one per item."""
    header: dict[str, str] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif prefix != "items":
            header[prefix] = str(value).lower() if isinstance(value, bool) else str(value)

    walk("", {k: v for k, v in doc.items() if k != "items"})
    return [{**header, **{f"item.{k}": str(v) for k, v in item.items()}} for item in doc["items"]]


COLUMNS = list(HOUSE_COLUMNS + ITEM_COLUMNS)


def test_csv_groups_rows_into_declarations(tmp_path: Path) -> None:
    from clearway.declarations import Declaration, validate_record

    d1 = f.declaration(
        items=[
            f.item(),
            f.item(description="cotton t-shirt", hs_code="610910", gtin=None, unit_value="5.00"),
        ]
    )
    d2 = f.declaration()
    path = tmp_path / "in.csv"
    path.write_text(_csv(csv_rows(d1) + csv_rows(d2), COLUMNS))
    got = records(path)
    assert [r.position for r in got] == [2, 4]
    first = validate_record(got[0].payload)
    assert isinstance(first, Declaration)
    assert [i.description for i in first.items] == [
        "wireless earbuds bluetooth 5.3",
        "cotton t-shirt",
    ]
    assert first.duty_paid_at_sale is True


def test_truncated_csv_keeps_earlier_declarations(tmp_path: Path) -> None:
    d1, d2 = f.declaration(), f.declaration()
    text = _csv(csv_rows(d1) + csv_rows(d2), COLUMNS)
    path = tmp_path / "cut.csv"
    path.write_text(text[: len(text) - 200])
    got = records(path)
    assert got[0].payload is not None
    assert got[-1].payload is None
    assert got[-1].problems[0].code == "csv_row_width"
    assert "truncated" in got[-1].problems[0].message


def test_csv_unknown_column_rejects_the_file_with_the_column_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("declaration_id,filer.id,colour\nD1,m,red\n")
    (only,) = records(path)
    assert only.problems[0].code == "csv_header"
    assert "'colour'" in only.problems[0].message


def test_csv_conflicting_header_values_within_a_declaration(tmp_path: Path) -> None:
    doc = f.declaration(items=[f.item(), f.item()])
    rows = csv_rows(doc)
    rows[1]["seller.name"] = "Someone Else Ltd"
    path = tmp_path / "conflict.csv"
    path.write_text(_csv(rows, COLUMNS))
    (only,) = records(path)
    assert only.payload is None
    assert only.problems[0].field == "seller.name"
    assert only.problems[0].code == "csv_conflict"


def test_csv_declaration_split_over_non_adjacent_rows_is_refused(tmp_path: Path) -> None:
    d1, d2 = f.declaration(), f.declaration()
    rows = csv_rows(d1) + csv_rows(d2) + csv_rows(d1)
    path = tmp_path / "scattered.csv"
    path.write_text(_csv(rows, COLUMNS))
    got = records(path)
    assert got[0].payload is not None
    assert got[1].payload is not None
    assert got[2].problems[0].code == "csv_not_grouped"
