"""The 2026 filing rules that depend on the destination and the day: national
tariff lines, EU product identifiers and VAT-regime codes, US entry types
refused since de minimis ended, and UPU S10 item ids on postal filings.

Dates, code lists and thresholds are data (``data/filing_rules.yaml``),
each with its source. Every problem names the field, the rule and the value
in the one error shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clearway._internal.pydantic_errors import error_details
from clearway._internal.yaml_text import parse_yaml
from clearway.declarations.models import Declaration
from clearway.errors import ConfigurationError, ErrorDetail, format_value
from clearway.reference import national_line_problem, s10_problem

__all__ = ["FilingRules", "filing_rule_problems", "filing_rules", "product_id_gaps", "utc_day"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductIdentifiers(_Data):
    source: str
    destinations: frozenset[str]
    voluntary_from: date
    mandatory_from: date
    required: dict[Literal["sku", "mpn", "gtin"], str]


class VatRegimeCode(_Data):
    name: str
    ioss: Literal["required", "forbidden", "allowed"] = "allowed"


class VatRegimes(_Data):
    source: str
    destinations: frozenset[str]
    codes: dict[str, VatRegimeCode]
    removed: dict[str, str] = {}


class UsEntries(_Data):
    source: str
    destinations: frozenset[str]
    refused_from: date
    refused: dict[str, str]
    postal_informal_max_value_usd: Annotated[float, Field(gt=0)]
    remittance_due_day: Annotated[int, Field(ge=1, le=28)]
    type13_entry_type: str
    statutory_end_commercial_de_minimis: date


class S10Rule(_Data):
    source: str
    modes: frozenset[str]


class FilingRules(_Data):
    eu_destinations: frozenset[str]
    product_identifiers: ProductIdentifiers
    vat_regimes: VatRegimes
    us_entries: UsEntries
    s10: S10Rule


@cache
def filing_rules() -> FilingRules:
    """The built-in filing rules, checked once per process."""
    name = "data/filing_rules.yaml"
    text = resources.files("clearway.declarations").joinpath(name).read_text()
    data = parse_yaml(text, name, ConfigurationError)
    try:
        return FilingRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{d.field}: {d.message}" for d in error_details(exc))
        raise ConfigurationError(f"{name}: {problems}") from None


def utc_day(moment: datetime) -> date:
    """The UTC date of ``moment``; at the ends of the calendar (year 1 or
    9999, refused by the time window anyway) its own date, never an error."""
    try:
        return moment.astimezone(UTC).date()
    except OverflowError:
        return moment.date()


def _day(decl: Declaration, received: datetime | None) -> date | None:
    if decl.filed_at is not None:
        return utc_day(decl.filed_at)
    return utc_day(received) if received is not None else None


def product_id_gaps(decl: Declaration) -> list[tuple[int, str, str]]:
    """``(line, field, what)`` for every required product identifier an EU
    filing lacks, whatever its day (before the rule binds it is a gap)."""
    rule = filing_rules().product_identifiers
    if decl.destination_country not in rule.destinations:
        return []
    return [
        (n, field, what)
        for n, item in enumerate(decl.items)
        for field, what in rule.required.items()
        if not getattr(item, field)
    ]


def filing_rule_problems(decl: Declaration, received: datetime | None) -> list[ErrorDetail]:
    """Every 2026 filing rule ``decl`` breaks. Rules that start on a day use
    the filing's ``filed_at``, else ``received``; with neither (a stored
    filing replayed) they are not applied: what was accepted stays accepted."""
    rules = filing_rules()
    day = _day(decl, received)
    problems = _national_lines(decl)
    problems += _vat_regime(decl, rules.vat_regimes)
    ids = rules.product_identifiers
    if day is not None and day >= ids.mandatory_from:
        for n, field, what in product_id_gaps(decl):
            problems.append(
                ErrorDetail(
                    f"items[{n}].{field}",
                    "product_id_required",
                    f"must give the {what} of item line {n}: required on EU low-value "
                    f"declarations filed on or after {ids.mandatory_from.isoformat()} "
                    f"({ids.source}). Got nothing.",
                )
            )
    us = rules.us_entries
    if (
        day is not None
        and day >= us.refused_from
        and decl.destination_country in us.destinations
        and decl.entry_type in us.refused
    ):
        problems.append(
            ErrorDetail(
                "entry_type",
                "us_entry_refused",
                f"must not claim {us.refused[decl.entry_type]} treatment: refused for US "
                f"filings since {us.refused_from.isoformat()} ({us.source}). "
                f"Got {format_value(decl.entry_type)}.",
            )
        )
    problems += _s10(decl, decl.transport.mode.value in rules.s10.modes)
    return problems


def _national_lines(decl: Declaration) -> list[ErrorDetail]:
    problems = []
    for n, item in enumerate(decl.items):
        line = item.national_line
        if line is None:
            continue
        found = national_line_problem(
            line.code, line.nomenclature, item.hs_code, decl.destination_country
        )
        if found is not None:
            field, why = found
            problems.append(
                ErrorDetail(
                    f"items[{n}].national_line.{field}",
                    "national_line",
                    f"{why}. Got {format_value(getattr(line, field))}.",
                )
            )
    return problems


def _vat_regime_problem(decl: Declaration, code: str, rule: VatRegimes) -> str | None:
    if decl.destination_country not in rule.destinations:
        return f"must be absent: VAT-regime codes are for EU destinations ({rule.source})"
    if code in rule.removed:
        return f"must not be {code}: {rule.removed[code]}"
    known = rule.codes.get(code)
    if known is None:
        return f"must be one of {', '.join(sorted(rule.codes))} ({rule.source})"
    if known.ioss == "required" and decl.seller.ioss is None:
        return f"must come with seller.ioss: {code} ({known.name}) declares an IOSS sale"
    if known.ioss == "forbidden" and decl.seller.ioss is not None:
        return f"must be F48 when seller.ioss is given: {code} ({known.name}) is not an IOSS sale"
    return None


def _vat_regime(decl: Declaration, rule: VatRegimes) -> list[ErrorDetail]:
    code = decl.vat_regime
    why = None if code is None else _vat_regime_problem(decl, code, rule)
    if why is None:
        return []
    return [ErrorDetail("vat_regime", "vat_regime", f"{why}. Got {format_value(code)}.")]


def _s10(decl: Declaration, postal: bool) -> list[ErrorDetail]:
    """S10 ids: the tracking number of a postal filing, and every item's
    foreign postal tracking number (reported by carriers for Type 13)."""
    fields = [("transport.tracking_number", decl.transport.tracking_number if postal else None)]
    fields += [
        (f"items[{n}].postal_tracking_number", item.postal_tracking_number)
        for n, item in enumerate(decl.items)
    ]
    problems = []
    for field, value in fields:
        if value is None:
            continue
        why = s10_problem(value)
        if why is not None:
            problems.append(ErrorDetail(field, "s10", f"{why}. Got {format_value(value)}."))
    return problems
