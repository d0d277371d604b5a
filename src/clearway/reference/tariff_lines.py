"""National tariff lines (US HTS, EU CN and TARIC) and UPU S10 item ids.

Which nomenclatures exist, how many digits a line has and which
destinations use it are data (``data/national_lines.yaml``); the checks
here say what is wrong in words a filer can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from clearway.errors import ConfigurationError
from clearway.reference.countries import is_country

__all__ = [
    "Nomenclature",
    "national_line_problem",
    "nomenclatures",
    "s10_check_digit",
    "s10_problem",
]


@dataclass(frozen=True, slots=True)
class Nomenclature:
    name: str
    title: str
    digits: int
    destinations: frozenset[str]
    source: str


@cache
def nomenclatures() -> dict[str, Nomenclature]:
    """The known nomenclatures by name, from the data file."""
    text = resources.files("clearway.reference").joinpath("data/national_lines.yaml").read_text()
    try:
        data = yaml.safe_load(text)["nomenclatures"]
        return {
            name: Nomenclature(
                name,
                str(entry["name"]),
                int(entry["digits"]),
                frozenset(entry["destinations"]),
                str(entry["source"]),
            )
            for name, entry in data.items()
        }
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"national_lines.yaml: {exc!r}") from None


def national_line_problem(
    code: str, nomenclature: str, hs_code: str | None, destination: str
) -> tuple[str, str] | None:
    """``(field, why)`` when a national line is wrong, else None; ``field``
    is ``code`` or ``nomenclature`` (relative to the line)."""
    known = nomenclatures().get(nomenclature)
    if known is None:
        return "nomenclature", f"must be one of {', '.join(sorted(nomenclatures()))}"
    if destination not in known.destinations:
        return "nomenclature", f"must be a nomenclature of the destination {destination}"
    if len(code) != known.digits:
        return "code", f"must have {known.digits} digits in {nomenclature}"
    if hs_code is not None and not code.startswith(hs_code[:6]):
        return "code", f"must extend the declared HS subheading {hs_code[:6]}"
    if hs_code is not None and len(hs_code) > 6 and not code.startswith(hs_code):
        return "code", f"must extend the declared code {hs_code}"
    return None


_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """The S10 check digit of an eight-digit serial number (UPU S10 4.2)."""
    check = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS, strict=True)) % 11
    return 5 if check == 11 else 0 if check == 10 else check


def s10_problem(value: str) -> str | None:
    """Why ``value`` is not a UPU S10 item identifier, or None when it is."""
    if _S10.fullmatch(value) is None:
        return (
            "must be a UPU S10 item id: two letters, eight digits, a check digit and the "
            "issuing post's two-letter country code"
        )
    if int(value[10]) != s10_check_digit(value[2:10]):
        return f"must end its digits with the S10 check digit {s10_check_digit(value[2:10])}"
    country = value[11:]
    if not is_country(country):
        return f"must end with the issuing post's country code ({country} is not one)"
    return None
