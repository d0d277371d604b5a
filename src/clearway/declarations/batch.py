"""Batch preparation: raw records in, storable filings and rejections out.

This is the CPU-heavy part of intake (validation, quality scoring,
canonical form), written as a pure function of a list of records so that it
runs in worker processes; the result is plain tuples, cheap to pickle.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from clearway.declarations.fastpath import canonical_json, decode_house
from clearway.declarations.intake.base import RawRecord
from clearway.declarations.models import Declaration, MasterFiling
from clearway.declarations.quality import assess_quality
from clearway.declarations.validation import Filing, TimeWindow, checked, validate_record
from clearway.errors import ErrorDetail

__all__ = ["PreparedBatch", "PreparedHouse", "PreparedMaster", "Rejection", "prepare_batch"]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not accepted, with every reason."""

    source: str
    position: int
    declaration_id: str | None
    filer_id: str | None
    errors: tuple[ErrorDetail, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "position": self.position,
            "declaration_id": self.declaration_id,
            "filer_id": self.filer_id,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass(frozen=True, slots=True)
class PreparedHouse:
    """A valid house declaration in the shape the store writes."""

    filer_id: str
    ref: str
    content_hash: str
    document: str
    columns: dict[str, Any]
    items: list[dict[str, Any]]
    # Per item, the listing attributes the HS suggestion reads (category
    # path, material, brand); empty when no item carries a category path or
    # material. Not stored as columns: the document keeps them.
    listing: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PreparedMaster:
    filer_id: str
    ref: str
    content_hash: str
    document: str
    columns: dict[str, Any]
    house_refs: list[str]


@dataclass(slots=True)
class PreparedBatch:
    houses: list[PreparedHouse] = field(default_factory=list)
    masters: list[PreparedMaster] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _utc(moment: datetime | None) -> datetime | None:
    # Stored in UTC: SQLite keeps no offset, and queries compare across zones.
    return moment.astimezone(UTC) if moment is not None else None


def _collected(decl: Declaration) -> float | None:
    """What the filer says it collected at sale (VAT and duty), if it says."""
    if decl.vat_collected is None and decl.duty_collected is None:
        return None
    return float((decl.vat_collected or 0) + (decl.duty_collected or 0))


def _digest(document: str) -> str:
    return hashlib.blake2b(document.encode(), digest_size=16).hexdigest()


def _house(decl: Declaration) -> PreparedHouse:
    # The canonical form (field order of the model, normalised numbers) is
    # what "identical content" means for idempotency.
    document = canonical_json(decl)
    quality = assess_quality(decl)
    t, s, c = decl.transport, decl.seller, decl.consignee
    columns = {
        "filed_at": _utc(decl.filed_at),
        "destination_country": decl.destination_country,
        "filer_role": decl.filer.role.value,
        "mode": t.mode.value,
        "tracking_number": t.tracking_number,
        "master_ref": t.master_ref,
        "departure_country": t.departure_country,
        "arrival_office": t.arrival_office,
        "expected_arrival": _utc(t.expected_arrival),
        "seller_name": s.name,
        "seller_country": s.country,
        "marketplace_name": decl.marketplace.name if decl.marketplace else None,
        "consignee_name": c.name,
        "consignee_country": c.country,
        "total_value": float(decl.totals.value),
        "total_currency": decl.totals.currency,
        "item_count": len(decl.items),
        "seller_ioss": s.ioss,
        "duty_paid_at_sale": decl.duty_paid_at_sale,
        "collected_at_sale": _collected(decl),
        "dq_score": quality.score,
        "dq_gaps": orjson.dumps([g.as_dict() for g in quality.gaps]).decode(),
    }
    items = [
        {
            "line_no": n,
            "description": i.description,
            "quantity": i.quantity,
            "unit_value": float(i.unit_value),
            "currency": i.currency,
            "hs_code": i.hs_code,
            "gtin": i.gtin,
            "sku": i.sku,
            "mpn": i.mpn,
            "brand": i.brand,
            "origin_country": i.origin_country,
            "net_weight_kg": float(i.net_weight_kg) if i.net_weight_kg is not None else None,
            "vague_description": n in quality.vague_items,
            "national_line": i.national_line.code if i.national_line is not None else None,
        }
        for n, i in enumerate(decl.items)
    ]
    listing: tuple[dict[str, str], ...] = ()
    if any(i.category_path or i.material for i in decl.items):
        listing = tuple(
            {
                k: v
                for k, v in (
                    ("category_path", i.category_path),
                    ("material", i.material),
                    ("brand", i.brand),
                )
                if v
            }
            for i in decl.items
        )
    return PreparedHouse(
        decl.filer.id, decl.declaration_id, _digest(document), document, columns, items, listing
    )


def _master(filing: MasterFiling) -> PreparedMaster:
    document = canonical_json(filing)
    columns = {
        "filed_at": _utc(filing.filed_at),
        "destination_country": filing.destination_country,
        "mode": filing.mode.value,
        "carrier_name": filing.carrier_name,
        "departure_country": filing.departure_country,
        "arrival_office": filing.arrival_office,
        "expected_arrival": _utc(filing.expected_arrival),
        "house_count": len(filing.house_refs),
    }
    return PreparedMaster(
        filing.filer.id,
        filing.master_ref,
        _digest(document),
        document,
        columns,
        list(dict.fromkeys(filing.house_refs)),
    )


def _identity(payload: bytes | dict[str, Any] | None) -> tuple[str | None, str | None]:
    """Best-effort declaration and filer id of a rejected record, for the report."""
    if payload is None:
        return None, None
    try:
        data = orjson.loads(payload) if isinstance(payload, bytes) else payload
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    ref = data.get("declaration_id", data.get("master_ref"))
    filer = data.get("filer")
    filer_id = filer.get("id") if isinstance(filer, dict) else None
    return (ref if isinstance(ref, str) else None, filer_id if isinstance(filer_id, str) else None)


def prepare_batch(records: list[RawRecord], window: TimeWindow | None = None) -> PreparedBatch:
    """Validate and shape a batch of records; never raises for bad input.

    Intake gives the ``window`` its times must lie in around now (the
    batch's receipt); a replay of stored filings, or the sequencer deciding
    what intake already accepted, gives none: an accepted filing stays
    accepted however old it grows."""
    batch = PreparedBatch()
    received = datetime.now(UTC)
    for record in records:
        if record.payload is None:
            batch.rejections.append(
                Rejection(record.source, record.position, None, None, record.problems)
            )
            continue
        # Clean house filings take the fast decoder (the bulk of traffic);
        # anything it does not accept is decided, and explained, by pydantic.
        fast = None if isinstance(record.payload, dict) else decode_house(record.payload)
        result: Filing | list[ErrorDetail]
        if fast is not None:
            result = checked(fast, window, received)
        else:
            result = validate_record(record.payload, window, received)
        if isinstance(result, list):
            ref, filer_id = _identity(record.payload)
            batch.rejections.append(
                Rejection(record.source, record.position, ref, filer_id, tuple(result))
            )
        elif result.kind == "master":
            batch.masters.append(_master(result))
        else:
            batch.houses.append(_house(result))
    return batch
