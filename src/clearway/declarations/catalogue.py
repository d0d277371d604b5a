"""The product catalogue built from what is filed: the same product (GTIN,
or a seller's own SKU) declared under another HS heading, or at a price far
from what others declared for it, is flagged with those filings as evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

__all__ = ["CatalogueFlag", "ProductFiling", "catalogue_flags"]

EVIDENCE = 5


@dataclass(frozen=True, slots=True)
class ProductFiling:
    """One item line as the catalogue sees it. ``key`` is ``gtin:<GTIN>`` or
    ``sku:<seller>:<SKU>`` (a SKU only means something within one seller)."""

    key: str
    declaration_id: int
    item_line: int
    hs_code: str | None
    unit_value: float
    currency: str


@dataclass(frozen=True, slots=True)
class CatalogueFlag:
    declaration_id: int
    item_line: int
    kind: str  # "hs_conflict" or "price_outlier"
    key: str
    detail: str
    evidence: tuple[ProductFiling, ...]


def catalogue_flags(
    new: Sequence[ProductFiling],
    history: Sequence[ProductFiling],
    price_factor: float = 5.0,
    min_prices: int = 3,
) -> list[CatalogueFlag]:
    """Flags for the ``new`` filings against every other filing of the same
    product (``history`` and the rest of ``new``)."""
    by_key: dict[str, list[ProductFiling]] = defaultdict(list)
    for filing in (*history, *new):
        by_key[filing.key].append(filing)
    flags: list[CatalogueFlag] = []
    raised: set[tuple[int, int, str]] = set()

    def flag(candidate: CatalogueFlag) -> None:
        # An item known by GTIN and by SKU is flagged once per reason, by
        # the first identifier (the GTIN).
        mark = (candidate.declaration_id, candidate.item_line, candidate.kind)
        if mark not in raised:
            raised.add(mark)
            flags.append(candidate)

    for filing in new:
        others = [o for o in by_key[filing.key] if o.declaration_id != filing.declaration_id]
        if not others:
            continue
        heading = (filing.hs_code or "")[:4]
        elsewhere = [o for o in others if o.hs_code and heading and o.hs_code[:4] != heading]
        if elsewhere:
            headings = sorted({o.hs_code[:4] for o in elsewhere if o.hs_code})
            flag(
                CatalogueFlag(
                    filing.declaration_id,
                    filing.item_line,
                    "hs_conflict",
                    filing.key,
                    f"declared under heading {heading}; the same product was declared under "
                    f"{', '.join(headings)} in {len(elsewhere)} other filing(s)",
                    tuple(elsewhere[:EVIDENCE]),
                )
            )
        prices = [o.unit_value for o in others if o.currency == filing.currency]
        if len(prices) >= min_prices:
            typical = median(prices)
            if typical > 0 and not typical / price_factor <= filing.unit_value <= (
                typical * price_factor
            ):
                same_currency = [o for o in others if o.currency == filing.currency]
                flag(
                    CatalogueFlag(
                        filing.declaration_id,
                        filing.item_line,
                        "price_outlier",
                        filing.key,
                        f"unit value {filing.unit_value:.2f} {filing.currency} against a median "
                        f"of {typical:.2f} over {len(prices)} other filing(s)",
                        tuple(same_currency[:EVIDENCE]),
                    )
                )
    return flags
