"""The product catalogue in the store: each batch's items are compared with
every current filing of the same GTIN or seller SKU, and flags are stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, or_, select

from clearway.declarations.catalogue import ProductFiling, catalogue_flags
from clearway.store.bulk import bulk_insert
from clearway.store.schema import declaration_items, declarations, product_flags

__all__ = ["check_catalogue", "read_product_flags"]

_CHUNK = 400


def _keys(seller: str | None, gtin: str | None, sku: str | None) -> list[str]:
    keys = [f"gtin:{gtin}"] if gtin else []
    if sku:
        keys.append(f"sku:{seller or ''}:{sku}")
    return keys


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
    d, di = declarations.c, declaration_items.c
    history: list[ProductFiling] = []
    for start in range(0, max(len(gtins), len(skus)), _CHUNK):
        rows = conn.execute(
            select(
                di.declaration_id,
                di.line_no,
                di.gtin,
                di.sku,
                d.seller_name,
                di.hs_code,
                di.unit_value,
                di.currency,
            )
            .select_from(declaration_items.join(declarations, d.id == di.declaration_id))
            .where(d.current, di.declaration_id.not_in(list(seller)))
            .where(
                or_(
                    di.gtin.in_(gtins[start : start + _CHUNK]),
                    di.sku.in_(skus[start : start + _CHUNK]),
                )
            )
        )
        history += [
            ProductFiling(key, r.declaration_id, r.line_no, r.hs_code, r.unit_value, r.currency)
            for r in rows
            for key in _keys(r.seller_name, r.gtin, r.sku)
        ]
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
            {**dict(r._mapping), "evidence": orjson.loads(r.evidence)}
            for r in conn.execute(
                select(product_flags)
                .where(product_flags.c.declaration_id == declaration_row_id)
                .order_by(product_flags.c.item_line)
            )
        ]
