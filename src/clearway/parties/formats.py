"""clearway's own list formats, registered as plugins on the
``clearway_screening_formats`` hook (see :mod:`clearway.parties.lists`)."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

from clearway.hookspecs import hookimpl
from clearway.parties.lists import ScreeningFormat, ScreeningList, read_ofac_csv, read_snapshot

__all__ = ["clearway_screening_formats"]


def _snapshot(path: Path, name: str, published: date | None) -> ScreeningList:
    return read_snapshot(path, name, published)


@hookimpl
def clearway_screening_formats() -> list[ScreeningFormat]:
    return [
        ScreeningFormat(
            "ofac-sdn",
            "OFAC SDN list, legacy CSV (sdn.csv; alt.csv and add.csv beside it)",
            "OFAC SDN",
            partial(read_ofac_csv, format_name="ofac-sdn"),
        ),
        ScreeningFormat(
            "ofac-consolidated",
            "OFAC consolidated non-SDN list, legacy CSV (cons_prim.csv; cons_alt.csv and "
            "cons_add.csv beside it)",
            "OFAC Consolidated",
            partial(read_ofac_csv, format_name="ofac-consolidated"),
        ),
        ScreeningFormat(
            "clearway-snapshot",
            "compact gzip JSON written by scripts/build-screening-snapshot",
            "OFAC SDN",
            _snapshot,
        ),
    ]
