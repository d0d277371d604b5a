"""Factories for filings: valid by default, any field overridable by path."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import orjson

_counter = itertools.count(1)

GTIN_OK = "4006381333931"
SHA = "a" * 64


def item(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "description": "wireless earbuds bluetooth 5.3",
        "quantity": 1,
        "unit_value": "12.50",
        "currency": "EUR",
        "hs_code": "851830",
        "gtin": GTIN_OK,
        "sku": "SKU-1",
        # EU filings from 2026-11-01 need the maker's product id too.
        "mpn": "MPN-1",
        "origin_country": "CN",
        "net_weight_kg": "0.1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def declaration(items: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    """A complete, valid house declaration; ``a__b=v`` sets ``doc["a"]["b"]``."""
    items = items if items is not None else [item()]
    n = next(_counter)
    doc: dict[str, Any] = {
        "declaration_id": f"D{n:06d}",
        "filer": {"id": "mkt-1", "role": "marketplace", "name": "Shopzilla"},
        "destination_country": "DE",
        "filed_at": "2026-11-02T10:00:00Z",
        "transport": {
            "mode": "air",
            "tracking_number": f"TRK{n:08d}",
            "master_ref": "176-00000001",
            "departure_country": "CN",
            "arrival_office": "DEFRA",
            "expected_arrival": "2026-11-04T06:00:00Z",
        },
        "seller": {
            "name": "Shenzhen Bright Electronics Co., Ltd",
            "address": {"street": "1 Industrial Road", "city": "Shenzhen", "country": "CN"},
            "country": "CN",
            "marketplace_seller_id": "MS1234567",
            "tax_id": "CN9112345678",
        },
        "marketplace": {
            "name": "Shopzilla",
            "id": "mkt-1",
            "listing_url": "https://shopzilla.example/item/1",
        },
        "consignee": {
            "name": "Anna Schmidt",
            "address": {
                "street": "Hauptstrasse 1",
                "city": "Berlin",
                "postcode": "10115",
                "country": "DE",
            },
            "country": "DE",
            "email_sha256": SHA,
        },
        "items": items,
        "totals": {
            "value": _total(items),
            "currency": items[0]["currency"] if items else "EUR",
            "gross_weight_kg": "0.3",
        },
        "incoterm": "DDP",
        "duty_paid_at_sale": True,
    }
    for path, value in overrides.items():
        _set(doc, path.split("__"), value)
    return doc


def master(house_refs: list[str], **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "master",
        "master_ref": "176-00000001",
        "filer": {"id": "car-skyline", "role": "carrier", "name": "Skyline Express"},
        "destination_country": "DE",
        "mode": "air",
        "carrier_name": "Skyline Express",
        "departure_country": "CN",
        "arrival_office": "DEFRA",
        "house_refs": house_refs,
    }
    for path, value in overrides.items():
        _set(doc, path.split("__"), value)
    return doc


def _total(items: list[dict[str, Any]]) -> str:
    from decimal import Decimal

    try:
        total = sum((Decimal(str(i["unit_value"])) * int(i["quantity"]) for i in items), Decimal(0))
    except (ArithmeticError, ValueError, TypeError):
        return "1.00"  # the test is about bad items; totals are not its point
    return str(total)


def _set(doc: Any, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    last = path[-1]
    if isinstance(doc, list):
        doc[int(last)] = value
    elif value is _DELETE:
        doc.pop(last, None)
    else:
        doc[last] = value


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


_DELETE = _Delete()
DELETE: Any = _DELETE


def jsonl(*docs: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def clone(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)
