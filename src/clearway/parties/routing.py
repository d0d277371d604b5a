"""Partner-agency routing: which regulators must see a consignment.

The table is data (``data/agencies.yaml``): per jurisdiction, an agency, why,
and the HS prefixes that call it in. A declaration's routing lists each
agency with the items (line and code) that triggered it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clearway._internal.pydantic_errors import error_details
from clearway.errors import ConfigurationError

__all__ = ["Routing", "route"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    jurisdiction: str
    agency: str
    reason: str
    hs: list[str] = Field(min_length=1)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    jurisdictions: dict[str, list[str]]
    agencies: list[_Entry]


@dataclass(frozen=True, slots=True)
class Routing:
    """One agency a declaration goes to, and the items that call it in."""

    agency: str
    reason: str
    item_lines: tuple[int, ...]
    hs_codes: tuple[str, ...]


@cache
def _table() -> tuple[dict[str, str], list[_Entry]]:
    source = "parties/data/agencies.yaml"
    try:
        table = _Table.model_validate(
            yaml.safe_load(resources.files("clearway").joinpath(source).read_text())
        )
    except ValidationError as exc:
        problems = "; ".join(f"{d.field}: {d.message}" for d in error_details(exc))
        raise ConfigurationError(f"{source}: {problems}") from None
    for entry in table.agencies:
        if entry.jurisdiction not in table.jurisdictions:
            raise ConfigurationError(
                f"{source}: agency {entry.agency!r} names jurisdiction "
                f"{entry.jurisdiction!r}, which is not listed"
            )
    country_to = {c: name for name, countries in table.jurisdictions.items() for c in countries}
    return country_to, table.agencies


def route(destination: str, items: Sequence[tuple[int, str | None]]) -> list[Routing]:
    """The agencies for a consignment to ``destination`` with items given as
    (line number, HS code or None)."""
    country_to, entries = _table()
    jurisdiction = country_to.get(destination)
    if jurisdiction is None:
        return []
    found: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for entry in entries:
        if entry.jurisdiction != jurisdiction:
            continue
        for line, code in items:
            if code and any(code.startswith(prefix) for prefix in entry.hs):
                found.setdefault((entry.agency, entry.reason), []).append((line, code))
    return [
        Routing(agency, reason, tuple(line for line, _ in hits), tuple(code for _, code in hits))
        for (agency, reason), hits in found.items()
    ]
