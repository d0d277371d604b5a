"""Parties: restricted-party screening (identity resolution and trusted
operators are to come)."""

from clearway.parties.screening import (
    ListedParty,
    ScreeningHit,
    ScreeningIndex,
    load_sdn,
    normalise_name,
)

__all__ = ["ListedParty", "ScreeningHit", "ScreeningIndex", "load_sdn", "normalise_name"]
