"""Parties: restricted-party screening against dated lists, and
partner-agency routing (identity resolution and trusted operators are to come)."""

from clearway.parties.lists import (
    ScreeningFormat,
    ScreeningList,
    bundled_list,
    index_of,
    list_formats,
    load_sdn,
    read_list,
)
from clearway.parties.routing import Routing, route
from clearway.parties.screening import (
    ListedParty,
    ScreeningHit,
    ScreeningIndex,
    entry_digest,
    normalise_name,
    party_key,
    scan,
)

__all__ = [
    "ListedParty",
    "Routing",
    "ScreeningFormat",
    "ScreeningHit",
    "ScreeningIndex",
    "ScreeningList",
    "bundled_list",
    "entry_digest",
    "index_of",
    "list_formats",
    "load_sdn",
    "normalise_name",
    "party_key",
    "read_list",
    "route",
    "scan",
]
