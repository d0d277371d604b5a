"""Restricted-party lists as dated data: what a list file holds, read by a
format plugin (hook ``clearway_screening_formats``), and the snapshot of
OFAC's SDN list that ships with clearway so screening is on from the start.

Built-in formats (:mod:`clearway.parties.formats`):

- ``ofac-sdn``: OFAC's legacy SDN CSV (``sdn.csv``; ``alt.csv`` aliases and
  ``add.csv`` addresses beside it are read when present);
- ``ofac-consolidated``: the same format for OFAC's consolidated non-SDN
  list (``cons_prim.csv`` with ``cons_alt.csv`` and ``cons_add.csv``);
- ``clearway-snapshot``: the compact gzip JSON that
  ``scripts/build-screening-snapshot`` writes (the bundled one included).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pycountry

from clearway.errors import ConfigurationError, InputError
from clearway.parties.screening import ListedParty, ScreeningIndex

__all__ = [
    "BUNDLED_SNAPSHOT",
    "SNAPSHOT_FORMAT",
    "ScreeningFormat",
    "ScreeningList",
    "bundled_list",
    "index_of",
    "list_formats",
    "load_sdn",
    "read_list",
    "read_ofac_csv",
    "read_snapshot",
    "stale_warning",
    "write_snapshot",
]

SNAPSHOT_FORMAT = "clearway-screening-snapshot/1"
BUNDLED_SNAPSHOT = "data/ofac-sdn-snapshot.json.gz"
_AKA = re.compile(r"\b[af]\.k\.a\.,?\s*'([^']+)'", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ScreeningList:
    """One version of one list: its entries, where it came from and the
    date its publisher published it."""

    name: str
    source: str
    format: str
    published: date
    entries: tuple[ListedParty, ...]
    notes: tuple[str, ...] = field(default=())
    # Which stored version this is (the store's digest; "" when read from a
    # file): indexes are built once per version.
    version: str = ""


@dataclass(frozen=True, slots=True)
class ScreeningFormat:
    """A list format: ``read(path, list_name, published)``; ``published``
    None when the file must say it (or the file's date is used)."""

    name: str
    description: str
    default_list_name: str
    read: Callable[[Path, str, date | None], ScreeningList]


def list_formats() -> dict[str, ScreeningFormat]:
    """Every registered list format by name."""
    from clearway.plugins import plugin_manager

    found: dict[str, ScreeningFormat] = {}
    for provided in plugin_manager().hook.clearway_screening_formats():
        for fmt in provided:
            found.setdefault(fmt.name, fmt)
    return found


def read_list(
    path: Path, format_name: str, *, name: str | None = None, published: date | None = None
) -> ScreeningList:
    """Read a list file in a registered format."""
    formats = list_formats()
    fmt = formats.get(format_name)
    if fmt is None:
        raise InputError(
            f"format must be one of {', '.join(sorted(formats))}. Got {format_name!r}."
        )
    if not path.is_file():
        raise InputError(f"{path}: no such list file.")
    return fmt.read(path, name or fmt.default_list_name, published)


@cache
def _country_code(name: str) -> str | None:
    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        try:
            return str(pycountry.countries.search_fuzzy(name)[0].alpha_2)
        except LookupError:
            return None


def _rows(path: Path) -> Iterable[list[str]]:
    # OFAC's legacy CSV is Latin-1 and ends with a DOS end-of-file byte.
    with path.open(encoding="latin-1", newline="") as stream:
        reader = csv.reader(stream)
        try:
            for row in reader:
                if row and not row[0].startswith("\x1a"):
                    yield [cell.strip() for cell in row]
        except csv.Error as error:
            raise InputError(
                f"{path}: line {reader.line_num} is not OFAC legacy CSV ({error})."
            ) from error


def _value(cell: str) -> str:
    return "" if cell == "-0-" else cell


def _beside(path: Path, kind: str) -> Path:
    """``alt.csv`` beside ``sdn.csv``; ``cons_alt.csv`` beside ``cons_prim.csv``."""
    prefix = "cons_" if path.name.lower().startswith("cons_") else ""
    return path.with_name(f"{prefix}{kind}.csv")


def read_ofac_csv(
    path: Path, list_name: str, published: date | None, *, format_name: str = "ofac-sdn"
) -> ScreeningList:
    """A list in OFAC's legacy CSV format (12 columns, no header, ``-0-``
    empty), with aliases and addresses from the files beside it. Alias and
    address rows of entries absent from the main file (the files may be of
    different days) are left out and counted in ``notes``."""
    aliases: dict[str, list[str]] = defaultdict(list)
    countries: dict[str, set[str]] = defaultdict(set)
    alt, add = _beside(path, "alt"), _beside(path, "add")
    if alt.is_file():
        for row in _rows(alt):
            if len(row) >= 4 and _value(row[3]):
                aliases[row[0]].append(row[3])
    if add.is_file():
        for row in _rows(add):
            if len(row) >= 5 and _value(row[4]):
                code = _country_code(row[4])
                if code:
                    countries[row[0]].add(code)
    entries = []
    for row in _rows(path):
        if len(row) < 12:
            raise ConfigurationError(
                f"{path}: entry {row[:1]} must have 12 columns "
                f"(OFAC legacy SDN CSV). Got {len(row)}."
            )
        entry, name, kind, program, remarks = row[0], row[1], row[2], row[3], row[11]
        names = (name, *aliases.get(entry, []), *_AKA.findall(_value(remarks)))
        entries.append(
            ListedParty(
                list_name,
                entry,
                name,
                _value(kind) or "entity",
                _value(program),
                tuple(dict.fromkeys(names)),
                frozenset(countries.get(entry, ())),
            )
        )
    if not entries:
        raise ConfigurationError(f"{path}: no entries in OFAC SDN CSV format.")
    known = {e.entry_id for e in entries}
    orphans = len((set(aliases) | set(countries)) - known)
    notes = (f"aliases or addresses of {orphans} entries not in {path.name} left out",)
    when = published or date.fromtimestamp(path.stat().st_mtime)
    return ScreeningList(
        list_name, str(path), format_name, when, tuple(entries), notes if orphans else ()
    )


def load_sdn(path: Path, threshold: float = 88.0) -> ScreeningIndex:
    """An index of OFAC's SDN CSV (``alt.csv`` and ``add.csv`` beside it are
    used when present): what ``CLEARWAY_SCREENING_SDN_FILE`` names."""
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such SDN list file.")
    return index_of([read_ofac_csv(path, "OFAC SDN", None)], threshold)


def index_of(lists: Iterable[ScreeningList], threshold: float = 88.0) -> ScreeningIndex:
    """One index over every entry of ``lists``."""
    index = ScreeningIndex(threshold=threshold)
    for listed in lists:
        for entry in listed.entries:
            index.add(entry)
    return index


def write_snapshot(listed: ScreeningList, path: Path) -> None:
    """The compact snapshot of ``listed``: only what screening needs."""
    document = {
        "format": SNAPSHOT_FORMAT,
        "list": listed.name,
        "source": listed.source,
        "source_format": listed.format,
        "published": listed.published.isoformat(),
        "entries": [
            [
                e.entry_id,
                e.kind,
                e.programs,
                [n for n in e.names if n != e.name],
                sorted(e.countries),
                e.name,
            ]
            for e in listed.entries
        ],
    }
    # mtime=0: the same list gives the same bytes.
    path.write_bytes(gzip.compress(orjson.dumps(document), compresslevel=9, mtime=0))


def _snapshot(data: bytes, origin: str, name: str | None, published: date | None) -> ScreeningList:
    try:
        document: dict[str, Any] = orjson.loads(gzip.decompress(data))
        if document.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"format must be {SNAPSHOT_FORMAT!r}")
        list_name = name or str(document["list"])
        entries = tuple(
            ListedParty(
                list_name,
                str(entry_id),
                str(primary),
                str(kind),
                str(programs),
                tuple(dict.fromkeys([str(primary), *map(str, aliases)])),
                frozenset(map(str, countries)),
            )
            for entry_id, kind, programs, aliases, countries, primary in document["entries"]
        )
        when = published or date.fromisoformat(str(document["published"]))
        return ScreeningList(list_name, str(document["source"]), "clearway-snapshot", when, entries)
    # A truncated or corrupt file raises any of these on the way in.
    except (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{origin}: not a clearway screening snapshot ({error}).") from error


def read_snapshot(
    path: Path, name: str | None = None, published: date | None = None
) -> ScreeningList:
    return _snapshot(path.read_bytes(), str(path), name, published)


@cache
def bundled_list() -> ScreeningList:
    """The dated OFAC SDN snapshot shipped with clearway: screened against
    when no list was imported."""
    data = resources.files("clearway.parties").joinpath(BUNDLED_SNAPSHOT).read_bytes()
    found = _snapshot(data, f"clearway/parties/{BUNDLED_SNAPSHOT}", None, None)
    return ScreeningList(found.name, found.source, "bundled", found.published, found.entries,
                         version=f"bundled:{found.published.isoformat()}")  # fmt: skip


def stale_warning(lists: Iterable[ScreeningList], max_age_days: int, today: date) -> str | None:
    """A warning when the newest active list was published more than
    ``max_age_days`` before ``today`` (or when no list is active)."""
    found = list(lists)
    if not found:
        return "no restricted-party list is active: screening is off."
    newest = max(found, key=lambda s: s.published)
    age = (today - newest.published).days
    if age <= max_age_days:
        return None
    return (
        f"the newest restricted-party list ({newest.name}, published "
        f"{newest.published.isoformat()}) is {age} days old, over the limit of {max_age_days} "
        "(screening_max_list_age_days): import the current lists with "
        "`clearway screening import`."
    )
