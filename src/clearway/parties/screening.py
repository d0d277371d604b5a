"""Restricted-party screening: names (with a country) against restricted lists.

Lists are loaded by plugins on the ``clearway_screening_lists`` hook; the
built-in one reads OFAC's legacy SDN CSV files (``sdn.csv`` with its aliases
in the remarks, and, beside it, ``alt.csv`` aliases and ``add.csv``
addresses for countries). Matching is tuned so that exact and lightly
misspelt names match while names that only share common words do not:

1. names are normalised (accents, case, punctuation) and legal-form words
   (CO, LTD, LLC, ...) and trade words (TRADING, INTERNATIONAL, ...) are set
   aside as *generic*;
2. candidates are list names sharing a distinctive token, or its first or
   last four letters (so one typo still finds them);
3. a candidate is scored with ``rapidfuzz`` on the distinctive tokens, and
   must cover the list name's distinctive tokens; a matching country adds
   to the score, a different one subtracts.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import pycountry
from rapidfuzz import fuzz, process

from clearway.errors import ConfigurationError

__all__ = ["ListedParty", "ScreeningHit", "ScreeningIndex", "load_sdn", "normalise_name"]


@cache
def generic_words() -> frozenset[str]:
    """Legal-form, particle and trade words, from ``data/generic_words.txt``."""
    text = resources.files("clearway.parties").joinpath("data/generic_words.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Two words are the same word at 75% similarity: one letter wrong in four.
_WORD_SIMILARITY = 75
_NON_WORD = re.compile(r"[^A-Z0-9 ]+")
_AKA = re.compile(r"\b[af]\.k\.a\.,?\s*'([^']+)'", re.IGNORECASE)


def normalise_name(name: str) -> list[str]:
    """Upper-case ASCII tokens of a name, without accents or punctuation."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(" ", ascii_name.upper().replace("'", "")).split()


def distinctive_words(tokens: Iterable[str]) -> list[str]:
    generic = generic_words()
    return [t for t in tokens if t not in generic and len(t) > 1]


@dataclass(frozen=True, slots=True)
class ListedParty:
    """One restricted-list entry with every name it is known by."""

    list_name: str
    entry_id: str
    name: str
    kind: str
    programs: str
    names: tuple[str, ...]
    countries: frozenset[str]


@dataclass(frozen=True, slots=True)
class ScreeningHit:
    party: ListedParty
    matched_name: str
    score: float
    reason: str


@dataclass(slots=True)
class ScreeningIndex:
    """Names of restricted parties, indexed for fast fuzzy look-up."""

    threshold: float = 88.0
    parties: list[ListedParty] = field(default_factory=list)
    # (party, name as listed, distinctive tokens, all tokens), tokens sorted
    _names: list[tuple[int, str, str, str]] = field(default_factory=list)
    _by_token: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, party: ListedParty) -> None:
        number = len(self.parties)
        self.parties.append(party)
        for name in party.names:
            words = normalise_name(name)
            tokens = distinctive_words(words)
            if not tokens:
                continue
            slot = len(self._names)
            self._names.append((number, name, " ".join(sorted(tokens)), " ".join(sorted(words))))
            for token in tokens:
                for key in (token, f"<{token[:4]}", f">{token[-4:]}"):
                    self._by_token[key].add(slot)

    def screen(self, name: str, country: str | None = None) -> list[ScreeningHit]:
        """Every listed party ``name`` matches, best first."""
        words = normalise_name(name)
        tokens = distinctive_words(words)
        if not tokens:
            return []
        whole = " ".join(sorted(words))
        candidates: set[int] = set()
        for token in tokens:
            for key in (token, f"<{token[:4]}", f">{token[-4:]}"):
                candidates |= self._by_token.get(key, set())
        query = " ".join(sorted(tokens))
        best: dict[int, ScreeningHit] = {}
        slots = list(candidates)
        # A first pass in C over every candidate; only the close ones get the
        # word-by-word checks below. The country can add 5, hence the margin.
        close = process.extract(
            query,
            [self._names[s][2] for s in slots],
            scorer=fuzz.token_sort_ratio,
            score_cutoff=self.threshold - 10,
            limit=None,
        )
        for _, _, position in close:
            number, shown, key, listed_whole = self._names[slots[position]]
            listed = key.split()
            # Every distinctive word of the listed name must be there: a
            # shared first name or a shared trade word is not a match.
            coverage = sum(
                1 for t in listed if any(fuzz.ratio(t, q) >= _WORD_SIMILARITY for q in tokens)
            ) / len(listed)
            if coverage < 1.0 or (len(listed) == 1 and len(tokens) > 2):
                continue
            # Half on the distinctive words, half on the whole name: "Sunshine
            # Electronics Ltd" is not the vessel "SUNSHINE".
            score = (
                fuzz.token_sort_ratio(query, key) + fuzz.token_sort_ratio(whole, listed_whole)
            ) / 2
            party = self.parties[number]
            reason = f"name {score:.0f}% like {shown!r}"
            if country and party.countries:
                # Listed addresses include branches abroad: a different
                # country weighs less than a matching one.
                if country in party.countries:
                    score += 5
                    reason += f", same country {country}"
                else:
                    score -= 3
                    reason += f", listed for {', '.join(sorted(party.countries))}"
            if score >= self.threshold and (number not in best or score > best[number].score):
                best[number] = ScreeningHit(party, shown, min(score, 100.0), reason)
        return sorted(best.values(), key=lambda hit: -hit.score)

    def screen_many(
        self, names: Sequence[tuple[str | None, str | None]]
    ) -> list[list[ScreeningHit]]:
        """Hits for a batch of (name, country) pairs; a missing name has none.

        Sellers and consignees repeat all day, so each distinct pair is
        screened once per batch.
        """
        seen: dict[tuple[str, str | None], list[ScreeningHit]] = {}
        out: list[list[ScreeningHit]] = []
        for name, country in names:
            if not name:
                out.append([])
                continue
            if (name, country) not in seen:
                seen[(name, country)] = self.screen(name, country)
            out.append(seen[(name, country)])
        return out


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
    with path.open(encoding="latin-1", newline="") as stream:
        for row in csv.reader(stream):
            if row and not row[0].startswith("\x1a"):
                yield [cell.strip() for cell in row]


def _value(cell: str) -> str:
    return "" if cell == "-0-" else cell


def load_sdn(path: Path, threshold: float = 88.0) -> ScreeningIndex:
    """An index of OFAC's SDN CSV (``alt.csv`` and ``add.csv`` beside it are
    used when present)."""
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such SDN list file.")
    aliases: dict[str, list[str]] = defaultdict(list)
    countries: dict[str, set[str]] = defaultdict(set)
    alt, add = path.with_name("alt.csv"), path.with_name("add.csv")
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
    index = ScreeningIndex(threshold=threshold)
    count = 0
    for row in _rows(path):
        if len(row) < 12:
            raise ConfigurationError(
                f"{path}: entry {row[:1]} must have 12 columns "
                f"(OFAC legacy SDN CSV). Got {len(row)}."
            )
        entry, name, kind, program, remarks = row[0], row[1], row[2], row[3], row[11]
        names = (name, *aliases.get(entry, []), *_AKA.findall(_value(remarks)))
        index.add(
            ListedParty(
                "OFAC SDN",
                entry,
                name,
                _value(kind) or "entity",
                _value(program),
                tuple(dict.fromkeys(names)),
                frozenset(countries.get(entry, ())),
            )
        )
        count += 1
    if count == 0:
        raise ConfigurationError(f"{path}: no entries in OFAC SDN CSV format.")
    return index
