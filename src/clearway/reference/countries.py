"""ISO 3166-1 countries and ISO 4217 currencies, from ``pycountry``."""

from __future__ import annotations

from functools import cache

import pycountry

__all__ = ["country_name", "is_country", "is_currency"]


@cache
def _countries() -> dict[str, str]:
    return {c.alpha_2: c.name for c in pycountry.countries}


@cache
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code (upper case)."""
    return code in _countries()


def is_currency(code: str) -> bool:
    """True for an ISO 4217 alphabetic code (upper case)."""
    return code in _currencies()


def country_name(code: str) -> str:
    """The English short name of a country code, or the code itself if unknown."""
    return _countries().get(code, code)
