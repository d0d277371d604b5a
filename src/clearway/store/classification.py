"""Storing and reading each item's HS suggestions and misclassification signal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from clearway.classification.misclassification import ItemClassification
from clearway.store.bulk import bulk_insert, row_dict
from clearway.store.schema import item_classifications

__all__ = ["read_item_classifications", "write_item_classifications"]


def write_item_classifications(
    conn: Connection,
    declaration_ids: list[int],
    indices: list[int],
    checked: Sequence[Sequence[ItemClassification]],
) -> None:
    """Store the checks of batch positions ``indices`` (``checked`` is aligned
    with the batch's houses, one entry per item line) for rows ``declaration_ids``."""
    rows = [
        {
            "declaration_id": row_id,
            "item_line": line,
            **{k: v for k, v in check.as_row().items() if k != "suggestions"},
            "suggestions": orjson.dumps(check.suggestions).decode(),
        }
        for row_id, k in zip(declaration_ids, indices, strict=True)
        for line, check in enumerate(checked[k])
    ]
    bulk_insert(conn, item_classifications, rows)


def read_item_classifications(engine: Engine, declaration_row_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(item_classifications)
            .where(item_classifications.c.declaration_id == declaration_row_id)
            .order_by(item_classifications.c.item_line)
        )
        out = []
        for row in rows:
            found = row_dict(row)
            found["suggestions"] = orjson.loads(found["suggestions"])
            out.append(found)
    return out
