"""Parties: restricted-party screening and partner-agency routing
(identity resolution and trusted operators are to come)."""

from clearway.parties.routing import Routing, route
from clearway.parties.screening import (
    ListedParty,
    ScreeningHit,
    ScreeningIndex,
    load_sdn,
    normalise_name,
)

__all__ = [
    "ListedParty",
    "Routing",
    "ScreeningHit",
    "ScreeningIndex",
    "load_sdn",
    "normalise_name",
    "route",
]
