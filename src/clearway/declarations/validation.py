"""Validation: a raw record in, a filing or *every* problem with it out.

Two passes, both collecting all problems: pydantic-core checks shapes and
bounds (in Rust, fast), then :func:`reference_problems` checks membership in
the reference lists (country, currency, HS 2022, GTIN check digit) and
identifiers a URL path can carry, and :mod:`.filing_rules` the 2026 rules
(national lines, EU product ids and VAT-regime codes, US entry types, S10).
At intake, times are checked against a window around receipt
(:mod:`.bounds`), and text holding NUL is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Discriminator, Tag, TypeAdapter, ValidationError

from clearway._internal.pydantic_errors import error_details
from clearway.declarations.bounds import (
    TimeWindow,
    identifier_problems,
    nul_problems,
    time_problems,
)
from clearway.declarations.filing_rules import filing_rule_problems
from clearway.declarations.models import Declaration, MasterFiling
from clearway.errors import ErrorDetail, format_value
from clearway.reference import gtin_problem, is_country, is_currency, is_hs_subheading

__all__ = ["Filing", "TimeWindow", "checked", "reference_problems", "validate_record"]

Filing = Declaration | MasterFiling


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("kind", "house")
    else:
        kind = getattr(value, "kind", "house")
    return kind if kind in ("house", "master") else "house"


_TAGS = frozenset({"house", "master"})
_ADAPTER: TypeAdapter[Filing] = TypeAdapter(
    Annotated[
        Annotated[Declaration, Tag("house")] | Annotated[MasterFiling, Tag("master")],
        Discriminator(_kind),
    ]
)


def _ref_error(field: str, code: str, rule: str, value: str) -> ErrorDetail:
    return ErrorDetail(field, code, f"must be {rule}. Got {format_value(value)}.")


def _countries(filing: Filing) -> Iterator[tuple[str, str | None]]:
    yield "destination_country", filing.destination_country
    if isinstance(filing, MasterFiling):
        yield "departure_country", filing.departure_country
        return
    yield "transport.departure_country", filing.transport.departure_country
    yield "seller.country", filing.seller.country
    if filing.seller.address is not None:
        yield "seller.address.country", filing.seller.address.country
    yield "consignee.country", filing.consignee.country
    if filing.consignee.address is not None:
        yield "consignee.address.country", filing.consignee.address.country
    for n, item in enumerate(filing.items):
        yield f"items[{n}].origin_country", item.origin_country


def reference_problems(filing: Filing) -> list[ErrorDetail]:
    """Every code in ``filing`` that is well-formed but not in its reference
    list, and every identifier that a URL path could not carry."""
    problems = [
        _ref_error(field, "country_code", "an ISO 3166-1 alpha-2 country code", code)
        for field, code in _countries(filing)
        if code is not None and not is_country(code)
    ]
    problems += identifier_problems(filing)
    if isinstance(filing, MasterFiling):
        return problems
    if not is_currency(filing.totals.currency):
        problems.append(
            _ref_error(
                "totals.currency",
                "currency_code",
                "an ISO 4217 currency code",
                filing.totals.currency,
            )
        )
    for n, item in enumerate(filing.items):
        if not is_currency(item.currency):
            problems.append(
                _ref_error(
                    f"items[{n}].currency",
                    "currency_code",
                    "an ISO 4217 currency code",
                    item.currency,
                )
            )
        if item.hs_code is not None and not is_hs_subheading(item.hs_code):
            problems.append(
                _ref_error(
                    f"items[{n}].hs_code",
                    "hs_code_unknown",
                    "a code starting with an HS 2022 subheading",
                    item.hs_code,
                )
            )
        if item.gtin is not None:
            why = gtin_problem(item.gtin)
            if why is not None:
                problems.append(
                    ErrorDetail(
                        f"items[{n}].gtin",
                        "gtin",
                        f"must be a valid GTIN: it {why}. Got {format_value(item.gtin)}.",
                    )
                )
    return problems


def checked(
    filing: Filing, window: TimeWindow | None = None, received: datetime | None = None
) -> Filing | list[ErrorDetail]:
    """``filing`` (from either decoder) or every problem the types cannot
    state: reference lists, identifiers and, given a ``window``, its times
    around ``received`` (now when not given). The 2026 filing rules that
    start on a day use the filing's own ``filed_at``, else, at intake (with
    a ``window``), the day of receipt; a replay without either keeps what
    was accepted."""
    problems = reference_problems(filing)
    at_intake = None
    if window is not None:
        at_intake = received or datetime.now(UTC)
        problems += time_problems(filing, window, at_intake)
    if not isinstance(filing, MasterFiling):
        problems += filing_rule_problems(filing, at_intake)
    return problems if problems else filing


def validate_record(
    raw: bytes | str | dict[str, Any],
    window: TimeWindow | None = None,
    received: datetime | None = None,
) -> Filing | list[ErrorDetail]:
    """Validate one record (JSON text or an already-parsed mapping); with a
    ``window``, its times must lie within it around ``received``.

    Returns the filing, or the list of every problem found. Never raises for
    bad input: malformed JSON is reported as a problem of the whole record.
    """
    nul = nul_problems(raw)
    try:
        if isinstance(raw, dict):
            filing = _ADAPTER.validate_python(raw)
        else:
            filing = _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            reason = errors[0].get("ctx", {}).get("error", "invalid JSON")
            return [ErrorDetail("", "json_invalid", f"is not valid JSON: {reason}.")]
        if errors and errors[0]["type"] in ("model_type", "model_attributes_type", "dict_type"):
            return [
                ErrorDetail(
                    "",
                    "not_an_object",
                    f"must be a JSON object. Got {format_value(errors[0].get('input'))}.",
                )
            ]
        return nul + error_details(exc, _TAGS)
    result = checked(filing, window, received)
    if nul:
        return nul + (result if isinstance(result, list) else [])
    return result
