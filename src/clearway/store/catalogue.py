"""The product catalogue in the store: each batch's items are compared with
every current filing of the same GTIN, manufacturer product id (MPN) or
seller SKU, and flags are stored."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy import column as result_column

from clearway.declarations.catalogue import ProductFiling, catalogue_flags
from clearway.store.bulk import bulk_insert, row_dict
from clearway.store.schema import declaration_items, declarations, product_flags

__all__ = ["check_catalogue", "read_product_flags"]

_CHUNK = 50
# Row ids per IN list: one expanded parameter each, far below the limits.
_IDS = 500
# Filings per product compared against: enough for a median and for the
# headings a product is usually declared under.
RECENT = 25


# Identifiers that name a product whoever sells it; a SKU only means
# something within one seller's catalogue.
_SHARED = ("gtin", "mpn")


def _keys(seller: str | None, gtin: str | None, sku: str | None, mpn: str | None) -> list[str]:
    keys = [f"gtin:{gtin}"] if gtin else []
    if mpn:
        keys.append(f"mpn:{mpn}")
    if sku:
        keys.append(f"sku:{seller or ''}:{sku}")
    return keys


@cache
def _recent(column_name: str) -> Any:
    """The latest ``RECENT`` current filings of each product: a product filed
    every day must not make each batch read its whole history. Built once
    per column (parameters ``values`` and ``before``): building the query
    costs more than running it on a small batch."""
    d, di = declarations.c, declaration_items.c
    column = di[column_name]
    partition = [column] if column_name in _SHARED else [d.seller_name, column]
    ranked = (
        select(
            di.declaration_id,
            di.line_no,
            di.gtin,
            di.sku,
            di.mpn,
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
            di.declaration_id < bindparam("before", type_=BigInteger),
        )
        .subquery()
    )
    return select(ranked).where(ranked.c.recency <= bindparam("recent"))


# Lines read per product in the first, index-only pass: a few times what
# is kept, so that superseded versions and other sellers' SKUs seldom leave
# fewer than RECENT (the exact window query then settles that product).
_OVERREAD = 4


_LINE_COLUMNS = "declaration_id, line_no, gtin, sku, mpn, hs_code, unit_value, currency"


@cache
def _latest_lines(column_name: str, products: int) -> Any:
    """The latest item lines of each of ``products`` products (parameters
    ``v0``.., ``before``, ``take``), from declaration_items alone, so that
    each read walks the product's index and stops: the cost of a submission
    does not grow with the product's history. Plain SQL, built once per
    column and size: the same statement as the select() it was, whose
    compilation and cache key (50 arms) cost more than SQLite running it."""
    name = declaration_items.c[column_name].name
    reads = [
        f"SELECT * FROM (SELECT {_LINE_COLUMNS}, {k} AS product FROM declaration_items "
        f"WHERE {name} = :v{k} AND declaration_id < :before "
        f"ORDER BY declaration_id DESC LIMIT :take) AS p{k}"
        for k in range(products)
    ]
    return text(" UNION ALL ".join(reads)).columns(
        *(declaration_items.c[name] for name in _LINE_COLUMNS.split(", ")),
        result_column("product", Integer),
    )


def _product_history(
    conn: Connection,
    column: str,
    wanted: Sequence[tuple[str, str]],
    before: int,
) -> list[ProductFiling]:
    """The latest ``RECENT`` current filings of each (value, seller) product:
    what the window query :func:`_recent` returns, read in bounded time."""
    shared = column in _SHARED
    take = RECENT * _OVERREAD
    lines: list[Any] = []
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start : start + _CHUNK]
        params: dict[str, Any] = {"before": before, "take": take}
        params.update({f"v{k}": value for k, (value, _) in enumerate(part)})
        lines += [
            (start + row.product, row)
            for row in conn.execute(_latest_lines(column, len(part)), params)
        ]
    ids = sorted({row.declaration_id for _, row in lines})
    d = declarations.c
    current: dict[int, str] = {}
    for start in range(0, len(ids), _IDS):
        for row_id, seller_name in conn.execute(
            select(d.id, d.seller_name).where(d.id.in_(ids[start : start + _IDS]), d.current)
        ):
            current[row_id] = seller_name or ""
    kept: dict[int, list[Any]] = {}
    read: dict[int, int] = {}
    for product, row in sorted(lines, key=lambda pair: (pair[0], -pair[1].declaration_id)):
        read[product] = read.get(product, 0) + 1
        seller = current.get(row.declaration_id)
        if seller is None or (not shared and seller != wanted[product][1]):
            continue
        mine = kept.setdefault(product, [])
        if len(mine) < RECENT:
            mine.append((row, seller))
    history: list[ProductFiling] = []
    short = [
        value
        for k, (value, _) in enumerate(wanted)
        if len(kept.get(k, [])) < RECENT and read.get(k, 0) >= take
    ]
    for k, rows in kept.items():
        if wanted[k][0] in short:
            continue
        for row, seller in rows:
            key = f"{column}:{getattr(row, column)}" if shared else f"sku:{seller}:{row.sku}"
            history.append(
                ProductFiling(
                    key, row.declaration_id, row.line_no, row.hs_code, row.unit_value, row.currency
                )
            )
    # Products whose latest lines were mostly superseded or another seller's:
    # the exact window query, for them alone.
    for start in range(0, len(short), _CHUNK):
        for r in conn.execute(
            _recent(column),
            {"values": short[start : start + _CHUNK], "before": before, "recent": RECENT},
        ):
            key = (
                f"{column}:{getattr(r, column)}" if shared else f"sku:{r.seller_name or ''}:{r.sku}"
            )
            history.append(
                ProductFiling(key, r.declaration_id, r.line_no, r.hs_code, r.unit_value, r.currency)
            )
    return history


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
        for key in _keys(
            seller.get(item["declaration_id"]), item["gtin"], item["sku"], item.get("mpn")
        )
    ]
    if not new:
        return 0
    gtins = sorted({(i["gtin"], "") for i in items if i["gtin"]})
    skus = sorted({(i["sku"], seller.get(i["declaration_id"]) or "") for i in items if i["sku"]})
    # The batch's rows have the newest ids (allocated in this transaction):
    # history is what came before the first of them. One bound parameter
    # per read, where a NOT IN over the batch's ids bound thousands.
    before = min(seller)
    mpns = sorted({(i["mpn"], "") for i in items if i.get("mpn")})
    history = _product_history(conn, "gtin", gtins, before)
    history += _product_history(conn, "mpn", mpns, before)
    history += _product_history(conn, "sku", skus, before)
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
