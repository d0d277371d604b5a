"""The product catalogue in the store: each batch's items are compared with
every current filing of the same GTIN or seller SKU, and flags are stored."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, func, select

from clearway.declarations.catalogue import ProductFiling, catalogue_flags
from clearway.store.bulk import bulk_insert, row_dict
from clearway.store.schema import declaration_items, declarations, product_flags

__all__ = ["check_catalogue", "read_product_flags"]

_CHUNK = 400
# Filings per product compared against: enough for a median and for the
# headings a product is usually declared under.
RECENT = 25


def _keys(seller: str | None, gtin: str | None, sku: str | None) -> list[str]:
    keys = [f"gtin:{gtin}"] if gtin else []
    if sku:
        keys.append(f"sku:{seller or ''}:{sku}")
    return keys


@cache
def _recent(column_name: str) -> Any:
    """The latest ``RECENT`` current filings of each product: a product filed
    every day must not make each batch read its whole history. Built once
    per column (parameters ``values`` and ``exclude``): building the query
    costs more than running it on a small batch."""
    d, di = declarations.c, declaration_items.c
    column = di[column_name]
    partition = [column] if column is di.gtin else [d.seller_name, column]
    ranked = (
        select(
            di.declaration_id,
            di.line_no,
            di.gtin,
            di.sku,
            d.seller_name,
            di.hs_code,
            di.unit_value,
            di.currency,
            func.row_number()
            .over(partition_by=partition, order_by=di.declaration_id.desc())
            .label("recency"),
        )
        .select_from(declaration_items.join(declarations, d.id == di.declaration_id))
        .where(
            d.current,
            column.in_(bindparam("values", expanding=True)),
            di.declaration_id.not_in(bindparam("exclude", expanding=True)),
        )
        .subquery()
    )
    return select(ranked).where(ranked.c.recency <= bindparam("recent"))


def check_catalogue(
    conn: Connection, houses: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]]
) -> int:
    """Flag this batch's items (rows just written) against the catalogue;
    return the number of flags stored."""
    seller = {row["id"]: row["seller_name"] for row in houses}
    new = [
        ProductFiling(
            key,
            item["declaration_id"],
            item["line_no"],
            item["hs_code"],
            item["unit_value"],
            item["currency"],
        )
        for item in items
        for key in _keys(seller.get(item["declaration_id"]), item["gtin"], item["sku"])
    ]
    if not new:
        return 0
    gtins = sorted({i["gtin"] for i in items if i["gtin"]})
    skus = sorted({i["sku"] for i in items if i["sku"]})
    history: list[ProductFiling] = []
    for column, values in ((declaration_items.c.gtin, gtins), (declaration_items.c.sku, skus)):
        by_gtin = column is declaration_items.c.gtin
        for start in range(0, len(values), _CHUNK):
            for r in conn.execute(
                _recent(column.name),
                {
                    "values": values[start : start + _CHUNK],
                    "exclude": list(seller),
                    "recent": RECENT,
                },
            ):
                key = f"gtin:{r.gtin}" if by_gtin else f"sku:{r.seller_name or ''}:{r.sku}"
                history.append(
                    ProductFiling(
                        key, r.declaration_id, r.line_no, r.hs_code, r.unit_value, r.currency
                    )
                )
    flags = catalogue_flags(new, history)
    bulk_insert(
        conn,
        product_flags,
        [
            {
                "declaration_id": flag.declaration_id,
                "item_line": flag.item_line,
                "kind": flag.kind,
                "product": flag.key,
                "detail": flag.detail,
                "evidence": orjson.dumps(
                    [
                        {
                            "declaration_id": e.declaration_id,
                            "item_line": e.item_line,
                            "hs_code": e.hs_code,
                            "unit_value": e.unit_value,
                            "currency": e.currency,
                        }
                        for e in flag.evidence
                    ]
                ).decode(),
            }
            for flag in flags
        ],
    )
    return len(flags)


def read_product_flags(engine: Engine, declaration_row_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            {**row_dict(r), "evidence": orjson.loads(r.evidence)}
            for r in conn.execute(
                select(product_flags)
                .where(product_flags.c.declaration_id == declaration_row_id)
                .order_by(product_flags.c.item_line)
            )
        ]
