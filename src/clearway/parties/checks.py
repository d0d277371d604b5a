"""The parties stage of the pipeline: screen every seller and consignee of a
batch and route every consignment to its partner agencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from clearway.declarations.batch import PreparedHouse
from clearway.parties.routing import Routing, route
from clearway.parties.screening import ScreeningHit, ScreeningIndex, load_sdn

__all__ = ["PartyChecks", "check_parties", "screening_index"]


@dataclass(frozen=True, slots=True)
class PartyChecks:
    """Per house of a batch: screening hits as (role, hit), and routings."""

    hits: list[list[tuple[str, ScreeningHit]]]
    routes: list[list[Routing]]


@cache
def screening_index(path: str) -> ScreeningIndex:
    """The index of a list file, loaded once per process."""
    return load_sdn(Path(path))


def check_parties(
    houses: Sequence[PreparedHouse], index: ScreeningIndex | None, *, routing: bool = True
) -> PartyChecks:
    """Screen each house's seller and consignee against ``index`` and, with
    ``routing``, route its goods to the agencies concerned (scoring history
    needs only the hits)."""
    hits: list[list[tuple[str, ScreeningHit]]] = [[] for _ in houses]
    if index is not None:
        for role in ("seller", "consignee"):
            screened = index.screen_many(
                [(h.columns[f"{role}_name"], h.columns[f"{role}_country"]) for h in houses]
            )
            for found, house_hits in zip(screened, hits, strict=True):
                house_hits.extend((role, hit) for hit in found)
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
