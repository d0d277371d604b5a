"""Data-quality score: how much of what customs needs before arrival is there.

Missing pre-arrival data is the core problem of parcel targeting, so every
declaration gets a score from 0 (nothing usable) to 1 (complete) and the
list of missing or weak elements, grouped as seller identity, product
identifiers, classification, consignee and transport.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from clearway.declarations.filing_rules import filing_rules, product_id_gaps
from clearway.declarations.models import Declaration
from clearway.errors import ConfigurationError

__all__ = ["ELEMENT_WEIGHTS", "Gap", "Quality", "assess_quality", "is_vague", "vague_terms"]

# Weights of the five elements; they sum to 1.
ELEMENT_WEIGHTS: dict[str, float] = {
    "seller_identity": 0.25,
    "product_identifiers": 0.20,
    "classification": 0.25,
    "consignee": 0.15,
    "transport": 0.15,
}

_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class Gap:
    """One missing or weak element: which element, which field, and why."""

    element: str
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"element": self.element, "field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Quality:
    score: float
    gaps: tuple[Gap, ...]
    vague_items: tuple[int, ...]


@cache
def vague_terms() -> tuple[frozenset[str], frozenset[str]]:
    """The vague-description list and its filler words, from the data file."""
    text = resources.files("clearway.declarations").joinpath("data/vague_terms.txt").read_text()
    terms: set[str] = set()
    filler: set[str] = set()
    target = terms
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "[filler]":
            target = filler
            continue
        if not _WORD.fullmatch(line.replace(" ", "a")):
            raise ConfigurationError(
                f"vague_terms.txt line {number}: a term must be lower-case letters and "
                f"spaces. Got {line!r}."
            )
        target.add(line)
    return frozenset(terms), frozenset(filler)


@cache
def is_vague(description: str) -> bool:
    """True when a goods description says nothing an officer could classify."""
    terms, filler = vague_terms()
    words = [w for w in _WORD.findall(description.lower()) if w not in filler]
    return not words or " ".join(words) in terms


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def assess_quality(decl: Declaration) -> Quality:
    """Score one declaration and list its gaps."""
    gaps: list[Gap] = []
    points = 0.0

    seller = decl.seller
    s = 0.0
    if seller.name:
        s += 0.4
    else:
        gaps.append(Gap("seller_identity", "seller.name", "seller name missing"))
    if seller.address is not None and seller.address.street:
        s += 0.2
    else:
        gaps.append(Gap("seller_identity", "seller.address", "seller street address missing"))
    if seller.tax_id or seller.eori or seller.ioss or seller.marketplace_seller_id:
        s += 0.4
    else:
        gaps.append(
            Gap(
                "seller_identity",
                "seller.tax_id",
                "no seller identifier (tax id, EORI, IOSS or marketplace seller id)",
            )
        )
    points += ELEMENT_WEIGHTS["seller_identity"] * s

    n = len(decl.items)
    with_gtin = sum(1 for i in decl.items if i.gtin)
    with_other = sum(1 for i in decl.items if not i.gtin and (i.mpn or i.sku))
    # A GTIN identifies the product worldwide; a merchant or maker reference
    # only within one catalogue, so it counts half.
    p = _share(with_gtin, n) + 0.5 * _share(with_other, n)
    points += ELEMENT_WEIGHTS["product_identifiers"] * p
    for k, item in enumerate(decl.items):
        if not item.gtin:
            reason = (
                "no GTIN (merchant or maker reference only)"
                if item.mpn or item.sku
                else "no product identifier (GTIN, MPN or SKU)"
            )
            gaps.append(Gap("product_identifiers", f"items[{k}].gtin", reason))
    # EU filings before the identifier rule binds (Delegated Reg. (EU)
    # 2026/1022): a missing merchant or maker id is a gap, not yet an error.
    for k, field, what in product_id_gaps(decl):
        since = filing_rules().product_identifiers.mandatory_from.isoformat()
        gaps.append(
            Gap("product_identifiers", f"items[{k}].{field}", f"no {what} (required from {since})")
        )

    vague = tuple(k for k, item in enumerate(decl.items) if is_vague(item.description))
    with_hs = sum(1 for i in decl.items if i.hs_code)
    c = 0.6 * _share(with_hs, n) + 0.4 * (1 - _share(len(vague), n))
    points += ELEMENT_WEIGHTS["classification"] * c
    for k, item in enumerate(decl.items):
        if not item.hs_code:
            gaps.append(Gap("classification", f"items[{k}].hs_code", "no HS code declared"))
    for k in vague:
        gaps.append(
            Gap(
                "classification",
                f"items[{k}].description",
                f"vague goods description {decl.items[k].description!r}",
            )
        )

    consignee = decl.consignee
    cs = 0.0
    if consignee.name:
        cs += 0.4
    else:
        gaps.append(Gap("consignee", "consignee.name", "consignee name missing"))
    address = consignee.address
    if address is not None and address.street and address.postcode:
        cs += 0.4
    else:
        gaps.append(Gap("consignee", "consignee.address", "consignee street or postcode missing"))
    if consignee.id or consignee.email_sha256 or consignee.phone_sha256:
        cs += 0.2
    else:
        gaps.append(Gap("consignee", "consignee.id", "no consignee id or contact"))
    points += ELEMENT_WEIGHTS["consignee"] * cs

    transport = decl.transport
    t = 0.0
    for field, present, weight in (
        ("transport.tracking_number", transport.tracking_number, 0.3),
        ("transport.master_ref", transport.master_ref, 0.3),
        ("transport.arrival_office", transport.arrival_office, 0.2),
        ("transport.expected_arrival", transport.expected_arrival, 0.2),
    ):
        if present:
            t += weight
        else:
            gaps.append(Gap("transport", field, f"{field.split('.')[1].replace('_', ' ')} missing"))
    points += ELEMENT_WEIGHTS["transport"] * t

    return Quality(score=round(points, 4), gaps=tuple(gaps), vague_items=vague)
