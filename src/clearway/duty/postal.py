"""US postal entries since de minimis ended: the postal informal entry view
of a declaration, monthly remittance of duty collected at origin per
qualified party, and Entry Type 13 matching of carriers' manifests to
postal entries by the foreign postal (S10) tracking number of each item.

The rule's dates, thresholds and the remittance day are data
(``declarations/data/filing_rules.yaml``, ``us_entries``) with their source.
Everything here is pure: the store hands in what it read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from clearway.declarations.filing_rules import filing_rules, utc_day
from clearway.declarations.models import Declaration
from clearway.duty.assess import assess
from clearway.duty.inputs import duty_input
from clearway.duty.regimes import DutyBook
from clearway.errors import InputError

__all__ = [
    "METHODS",
    "PostalEntry",
    "PostalEntryItem",
    "RemittanceRow",
    "Type13Match",
    "match_type13",
    "remittance",
    "remittance_due",
    "us_postal_entry",
]

METHODS = ("ad_valorem", "specific")
NOT_COLLECTED = "(not collected at origin)"


@dataclass(frozen=True, slots=True)
class PostalEntryItem:
    line: int
    description: str
    hts: str | None
    quantity: int
    net_weight_kg: float | None
    value: float
    currency: str
    origin_country: str | None
    postal_tracking_number: str | None


@dataclass(frozen=True, slots=True)
class PostalEntry:
    """A declaration as a US postal informal entry."""

    declaration_id: str
    tracking_number: str | None
    filed_on: date
    value: float
    currency: str
    items: tuple[PostalEntryItem, ...]
    duty_by_method: Mapping[str, float]
    remittance_month: str
    due_by: date
    collected_by: str | None
    duty_payer: str | None
    duty_collected: float | None
    problems: tuple[str, ...]
    source: str


def remittance_due(day: date) -> tuple[str, date]:
    """The remittance month (``YYYY-MM``) of duty on a filing of ``day`` and
    the day it is due: the given day of the following month."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return f"{day.year:04d}-{day.month:02d}", date(
        year, month, filing_rules().us_entries.remittance_due_day
    )


def _hts(decl: Declaration, n: int) -> str | None:
    item = decl.items[n]
    if item.national_line is not None and item.national_line.nomenclature == "US-HTS":
        return item.national_line.code
    return item.hs_code if item.hs_code is not None and len(item.hs_code) == 10 else None


def us_postal_entry(
    columns: Mapping[str, Any], items: Sequence[Mapping[str, Any]], book: DutyBook
) -> PostalEntry:
    """The postal informal entry of a stored US postal declaration (its
    columns with ``document``, and its item rows): per-item data, the duty
    by each postal method, when it is to be remitted, and what is missing."""
    decl = Declaration.model_validate_json(columns["document"])
    rule = filing_rules().us_entries
    if decl.destination_country not in rule.destinations or decl.transport.mode != "postal":
        raise InputError(
            f"declaration {decl.declaration_id} must be a US postal filing for a postal "
            f"informal entry. Got destination {decl.destination_country}, mode "
            f"{decl.transport.mode.value}."
        )
    filed = decl.filed_at or columns["received_at"]
    day = utc_day(filed) if isinstance(filed, datetime) else datetime.now(UTC).date()
    rows = [(columns, items)]
    duty = {
        method: float(assess(book, duty_input(rows, day), postal_method=method).duty[0])
        for method in METHODS
    }
    problems = []
    entry_items = []
    for n, item in enumerate(decl.items):
        hts = _hts(decl, n)
        if hts is None:
            problems.append(f"item line {n}: no 10-digit HTS number (needed per item)")
        entry_items.append(
            PostalEntryItem(
                n,
                item.description,
                hts,
                item.quantity,
                float(item.net_weight_kg) if item.net_weight_kg is not None else None,
                float(item.unit_value * item.quantity),
                item.currency,
                item.origin_country,
                item.postal_tracking_number,
            )
        )
    value = float(decl.totals.value)
    if decl.totals.currency == "USD" and value > rule.postal_informal_max_value_usd:
        problems.append(
            f"value {value:,.2f} USD is over {rule.postal_informal_max_value_usd:,.0f}: "
            "a formal entry is needed"
        )
    month, due_by = remittance_due(day)
    return PostalEntry(
        declaration_id=decl.declaration_id,
        tracking_number=decl.transport.tracking_number,
        filed_on=day,
        value=value,
        currency=decl.totals.currency,
        items=tuple(entry_items),
        duty_by_method=duty,
        remittance_month=month,
        due_by=due_by,
        collected_by=decl.collected_by,
        duty_payer=decl.duty_payer,
        duty_collected=float(decl.duty_collected) if decl.duty_collected is not None else None,
        problems=tuple(problems),
        source=rule.source,
    )


@dataclass(frozen=True, slots=True)
class RemittanceRow:
    """What one post or qualified party collected at origin in a month
    against the duty assessed on those filings."""

    party: str
    declarations: int
    collected: float
    due: float
    difference: float
    due_by: date


def remittance(month: str, filings: Iterable[tuple[Declaration, float]]) -> list[RemittanceRow]:
    """Per qualified party, for US postal filings of ``month`` (each with its
    assessed duty in USD): declarations, duty collected, duty due and the
    difference (collected - due; negative is under-remitted). Filings
    nobody collected for count under ``(not collected at origin)``."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError(f"--month must be YYYY-MM. Got {month!r}.") from None
    _, due_by = remittance_due(first)
    totals: dict[str, list[float]] = {}
    for decl, due in filings:
        party = decl.collected_by or NOT_COLLECTED
        row = totals.setdefault(party, [0, 0.0, 0.0])
        row[0] += 1
        # Collected amounts are in the totals' currency: USD for US mail.
        row[1] += float(decl.duty_collected or 0)
        row[2] += due
    return [
        RemittanceRow(
            party, int(n), round(collected, 2), round(due, 2), round(collected - due, 2), due_by
        )
        for party, (n, collected, due) in sorted(totals.items())
    ]


@dataclass(frozen=True, slots=True)
class Type13Match:
    """Manifest items matched to postal entries by foreign postal tracking
    number; what is left on either side is listed."""

    matched: tuple[tuple[str, int, str, str], ...]  # manifest id, item line, S10, entry id
    unmatched_items: tuple[tuple[str, int, str], ...]  # manifest id, item line, S10
    entries_without_manifest: tuple[tuple[str, str], ...]  # entry id, S10


def match_type13(manifests: Iterable[Declaration], entries: Iterable[Declaration]) -> Type13Match:
    """Match every item of Type 13 manifest filings (carriers reporting the
    foreign postal tracking number per item) to the postal entry with that
    tracking number."""
    kind = filing_rules().us_entries.type13_entry_type
    by_number: dict[str, str] = {}
    for entry in entries:
        if entry.transport.tracking_number is not None:
            by_number.setdefault(entry.transport.tracking_number, entry.declaration_id)
    matched, unmatched = [], []
    seen: set[str] = set()
    for manifest in manifests:
        if manifest.entry_type != kind:
            continue
        for n, item in enumerate(manifest.items):
            number = item.postal_tracking_number
            if number is not None and number in by_number:
                matched.append((manifest.declaration_id, n, number, by_number[number]))
                seen.add(number)
            else:
                unmatched.append((manifest.declaration_id, n, number or ""))
    return Type13Match(
        tuple(matched),
        tuple(unmatched),
        tuple((ref, number) for number, ref in sorted(by_number.items()) if number not in seen),
    )
