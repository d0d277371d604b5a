"""The parties stage of the pipeline: screen every seller and consignee of a
batch against the active lists and route every consignment to its partner
agencies."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from clearway.declarations.batch import PreparedHouse
from clearway.parties.lists import ScreeningList, index_of, read_ofac_csv
from clearway.parties.routing import Routing, route
from clearway.parties.screening import ScreeningHit, ScreeningIndex, entry_digest, party_key

__all__ = [
    "FalsePositive",
    "PartyChecks",
    "ScreeningOptions",
    "check_parties",
    "screening_index",
    "sdn_file_list",
]

# (party key, list name, entry id, entry digest): a party an officer found is
# not that entry, for as long as the entry says what it said then.
FalsePositive = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class PartyChecks:
    """Per house of a batch: screening hits as (role, hit), and routings."""

    hits: list[list[tuple[str, ScreeningHit]]]
    routes: list[list[Routing]]


@dataclass(frozen=True, slots=True)
class ScreeningOptions:
    """What screening screens against: the active lists, by value (stage
    workers never read the store), and the officers' false-positive marks."""

    lists: tuple[ScreeningList, ...]
    false_positives: frozenset[FalsePositive] = frozenset()
    threshold: float = 88.0

    @property
    def key(self) -> tuple[tuple[str, str, str, int], ...]:
        return tuple((s.name, s.version, s.source, len(s.entries)) for s in self.lists)


@cache
def sdn_file_list(path: str) -> ScreeningList:
    """The list ``CLEARWAY_SCREENING_SDN_FILE`` names, read once per process."""
    found = Path(path)
    listed = read_ofac_csv(found, "OFAC SDN file", None)
    stamp = f"file:{found.resolve()}:{found.stat().st_mtime_ns}"
    return ScreeningList(listed.name, listed.source, listed.format, listed.published,
                         listed.entries, listed.notes, stamp)  # fmt: skip


_INDEXES: OrderedDict[tuple[object, ...], ScreeningIndex] = OrderedDict()


def screening_index(options: ScreeningOptions | str) -> ScreeningIndex:
    """The index of the lists of ``options`` (or of one SDN file), built
    once per process and list versions."""
    if isinstance(options, str):
        options = ScreeningOptions((sdn_file_list(options),))
    key = (options.key, options.threshold)
    index = _INDEXES.get(key)
    if index is None:
        index = index_of(options.lists, options.threshold)
        _INDEXES[key] = index
        # A list import makes a new version; keep the previous one for
        # batches still in flight, no more.
        while len(_INDEXES) > 2:
            _INDEXES.popitem(last=False)
    return index


def suppressed(
    hit: ScreeningHit, name: str, country: str | None, marks: frozenset[FalsePositive]
) -> bool:
    """Whether an officer marked this party as not this entry (as it is)."""
    if not marks:
        return False
    mark = (party_key(name, country), hit.party.list_name, hit.party.entry_id,
            entry_digest(hit.party))  # fmt: skip
    return mark in marks


def check_parties(
    houses: Sequence[PreparedHouse],
    index: ScreeningIndex | None,
    *,
    routing: bool = True,
    false_positives: frozenset[FalsePositive] = frozenset(),
) -> PartyChecks:
    """Screen each house's seller and consignee against ``index`` (less the
    marked false positives) and, with ``routing``, route its goods to the
    agencies concerned (scoring history needs only the hits)."""
    hits: list[list[tuple[str, ScreeningHit]]] = [[] for _ in houses]
    if index is not None:
        for role in ("seller", "consignee"):
            parties = [(h.columns[f"{role}_name"], h.columns[f"{role}_country"]) for h in houses]
            screened = index.screen_many(parties)
            for found, house_hits, (name, country) in zip(screened, hits, parties, strict=True):
                house_hits.extend(
                    (role, hit)
                    for hit in found
                    if not suppressed(hit, name or "", country, false_positives)
                )
    if not routing:
        return PartyChecks(hits, [[] for _ in houses])
    routes = [
        route(
            h.columns["destination_country"],
            [(item["line_no"], item["hs_code"]) for item in h.items],
        )
        for h in houses
    ]
    return PartyChecks(hits, routes)


def newest_publication(lists: Sequence[ScreeningList]) -> date | None:
    return max((s.published for s in lists), default=None)
