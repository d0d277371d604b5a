"""Restricted-party screening: names (with a country) against restricted lists.

Matching is tuned so that exact, reordered and lightly misspelt names, and
names missing a middle word, match while names that only share common words
do not:

1. names are normalised (accents, case, punctuation) and legal-form words
   (CO, LTD, LLC, ...) and trade words (TRADING, INTERNATIONAL, ...) are set
   aside as *generic*;
2. two words are the same word at 75% similarity (``rapidfuzz.fuzz.ratio``);
3. a listed name is a candidate when every one of its distinctive words is
   in the query, or every one but a middle word of a name of three or more,
   and one of them at least is spelt as listed;
4. a candidate is scored half on the distinctive words and half on the whole
   name (``token_sort_ratio``, so word order does not count); a missing
   middle word costs 4 points; a matching country adds 5, a different one
   subtracts 3; a hit scores at least ``threshold``.

:class:`ScreeningIndex` finds candidates through an inverted index (word of
the lists -> listed names), with the similar words of each query word found
once per process and cached, so a name costs a few dictionary look-ups;
:func:`scan` is the straightforward definition (every listed name, one by
one) that the index must agree with.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

__all__ = [
    "ListedParty",
    "ScreeningHit",
    "ScreeningIndex",
    "entry_digest",
    "normalise_name",
    "party_key",
    "scan",
]


@cache
def generic_words() -> frozenset[str]:
    """Legal-form, particle and trade words, from ``data/generic_words.txt``."""
    text = resources.files("clearway.parties").joinpath("data/generic_words.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Two words are the same word at 75% similarity: one letter wrong in four.
WORD_SIMILARITY = 75
# What a missing middle word costs, and a country's evidence.
MISSING_WORD_PENALTY = 4.0
SAME_COUNTRY_BONUS = 5.0
OTHER_COUNTRY_PENALTY = 3.0
_NON_WORD = re.compile(r"[^A-Z0-9 ]+")


def normalise_name(name: str) -> list[str]:
    """Upper-case ASCII tokens of a name, without accents or punctuation."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NON_WORD.sub(" ", ascii_name.upper().replace("'", "")).split()


def distinctive_words(tokens: Iterable[str]) -> list[str]:
    generic = generic_words()
    return [t for t in tokens if t not in generic and len(t) > 1]


def party_key(name: str, country: str | None) -> str:
    """A filed party as false-positive marks know it: its distinctive words
    (sorted, so order and punctuation do not make a new party) and country."""
    return f"{' '.join(sorted(set(distinctive_words(normalise_name(name)))))}|{country or ''}"


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


def entry_digest(party: ListedParty) -> str:
    """What an entry says, hashed: a changed digest is a changed entry (it is
    rescreened, and false-positive marks on it lapse)."""
    text = "\x1f".join(
        (party.name, party.kind, party.programs, *party.names, "|", *sorted(party.countries))
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class ScreeningHit:
    party: ListedParty
    matched_name: str
    score: float
    reason: str


_LETTER_BIT = {c: n for n, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}
_BYTE_BITS = np.array([bin(n).count("1") for n in range(256)], dtype=np.uint8)


def _letters(word: str) -> int:
    """The letters a word has, as bits (anything else on bit 36)."""
    mask = 0
    for letter in word:
        mask |= 1 << _LETTER_BIT.get(letter, 36)
    return mask


def _popcount(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Bits set in each value (numpy's own where it has one)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values).astype(np.int64)
    as_bytes = values.view(np.uint8).reshape(*values.shape, 8)
    counted: npt.NDArray[np.int64] = _BYTE_BITS[as_bytes].sum(axis=-1, dtype=np.int64)
    return counted


@dataclass(frozen=True, slots=True)
class _Pool:
    """Listed words of the lengths a query word can be like, with their
    letter masks and lengths."""

    words: npt.NDArray[np.object_]
    masks: npt.NDArray[np.uint64]
    lengths: npt.NDArray[np.int64]


def _needed(size: int) -> int:
    """How many of a listed name's words a query must have."""
    return size - 1 if size >= 3 else size


@dataclass(frozen=True, slots=True)
class _Similar:
    """A query word in the index: the listed words like it, every listed
    name (slot) with one of them, and those it covers enough alone."""

    words: frozenset[str]
    slots: frozenset[int]
    alone: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Name:
    """One listed name: its party, the name as listed, its distinctive words
    in natural order (unique), and the sorted forms the score compares."""

    party: int
    shown: str
    words: tuple[str, ...]
    key: str
    whole: str


def _listed_name(number: int, name: str) -> _Name | None:
    words = normalise_name(name)
    # Words in natural order: an individual listed as "LAST, First Middle"
    # has its middle name between "First" and "LAST".
    last, comma, rest = name.partition(",")
    natural = normalise_name(f"{rest} {last}") if comma else words
    tokens = tuple(dict.fromkeys(distinctive_words(natural)))
    if not tokens:
        return None
    return _Name(number, name, tokens, " ".join(sorted(distinctive_words(words))),
                 " ".join(sorted(words)))  # fmt: skip


def _score(
    listed: _Name,
    covered: Sequence[bool],
    query: list[str],
    whole: str,
    party: ListedParty,
    country: str | None,
    threshold: float,
) -> ScreeningHit | None:
    """The hit of ``listed`` (its words' coverage by the query given), or
    None: the one place where a candidate becomes a hit."""
    words = listed.words
    missing = [n for n, c in enumerate(covered) if not c]
    if len(missing) > 1 or (missing and (len(words) < 3 or missing[0] in (0, len(words) - 1))):
        return None
    # A single listed word is not found in a long name: "Sunshine Electronics
    # Trading Co" is not the vessel "SUNSHINE".
    if len(words) == 1 and len(query) > 2:
        return None
    # Every word of a name a little off is another name: "Maria Ricci" is
    # not "RICCIO, Mariano". One word at least is spelt as listed.
    if len(words) > 1 and not any(w in query for w in words):
        return None
    key, listed_whole = listed.key, listed.whole
    if missing:
        gone = words[missing[0]]
        key = " ".join(t for t in key.split() if t != gone)
        listed_whole = " ".join(t for t in listed_whole.split() if t != gone)
    score = (
        fuzz.token_sort_ratio(" ".join(sorted(query)), key)
        + fuzz.token_sort_ratio(whole, listed_whole)
    ) / 2
    reason = f"name {score:.0f}% like {listed.shown!r}"
    if listed.shown != party.name:
        reason += " (an alias)"
    if missing:
        score -= MISSING_WORD_PENALTY
        reason += f", without {words[missing[0]]!r}"
    if country and party.countries:
        # Listed addresses include branches abroad: a different country
        # weighs less than a matching one.
        if country in party.countries:
            score += SAME_COUNTRY_BONUS
            reason += f", same country {country}"
        else:
            score -= OTHER_COUNTRY_PENALTY
            reason += f", listed for {', '.join(sorted(party.countries))}"
    if score < threshold:
        return None
    return ScreeningHit(party, listed.shown, min(score, 100.0), reason)


def _best(hits: Iterable[tuple[int, ScreeningHit]]) -> list[ScreeningHit]:
    best: dict[int, ScreeningHit] = {}
    for number, hit in hits:
        # Equal scores go to the first name in order, whichever order the
        # names were compared in.
        known = best.get(number)
        if known is None or (hit.score, known.matched_name) > (known.score, hit.matched_name):
            best[number] = hit
    # Ties in score go by list and entry, so both matchers order alike.
    return sorted(best.values(), key=lambda h: (-h.score, h.party.list_name, h.party.entry_id))


def scan(
    parties: Sequence[ListedParty], name: str, country: str | None = None, threshold: float = 88.0
) -> list[ScreeningHit]:
    """Every listed party ``name`` matches, best first, by comparing it with
    every listed name: the definition :class:`ScreeningIndex` must agree
    with (and far too slow for traffic)."""
    words = normalise_name(name)
    query = distinctive_words(words)
    if not query:
        return []
    whole = " ".join(sorted(words))
    found = []
    for number, party in enumerate(parties):
        for shown in party.names:
            listed = _listed_name(number, shown)
            if listed is None:
                continue
            covered = [
                any(fuzz.ratio(t, q) >= WORD_SIMILARITY for q in query) for t in listed.words
            ]
            hit = _score(listed, covered, query, whole, party, country, threshold)
            if hit is not None:
                found.append((number, hit))
    return _best(found)


@dataclass(slots=True)
class ScreeningIndex:
    """Names of restricted parties, indexed for fast fuzzy look-up."""

    threshold: float = 88.0
    parties: list[ListedParty] = field(default_factory=list)
    _names: list[_Name] = field(default_factory=list)
    # word of the lists -> the listed names (slots) with it
    _postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # words of the lists by length, for the similar-word search
    _by_length: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    # query word -> the words of the lists at WORD_SIMILARITY or more
    _similar: dict[str, _Similar] = field(default_factory=dict)
    _pools: dict[int, _Pool] = field(default_factory=dict)

    def add(self, party: ListedParty) -> None:
        number = len(self.parties)
        self.parties.append(party)
        for name in dict.fromkeys(party.names):
            listed = _listed_name(number, name)
            if listed is None:
                continue
            slot = len(self._names)
            self._names.append(listed)
            for word in listed.words:
                if word not in self._postings:
                    self._by_length[len(word)].append(word)
                self._postings[word].append(slot)
        # New words of the lists may be similar to words already looked up.
        self._similar.clear()
        self._pools.clear()

    def __len__(self) -> int:
        return len(self.parties)

    def _pool(self, size: int) -> _Pool:
        """The listed words a query word of ``size`` letters can be like:
        ratio >= 75 needs lengths within a factor 0.6."""
        pool = self._pools.get(size)
        if pool is None:
            vocabulary = self._pools.get(0)
            if vocabulary is None:
                words = np.array(list(self._postings), dtype=object)
                vocabulary = _Pool(
                    words,
                    np.array([_letters(w) for w in words], dtype=np.uint64),
                    np.array([len(w) for w in words], dtype=np.int64),
                )
                self._pools[0] = vocabulary
            lengths = vocabulary.lengths
            keep = np.flatnonzero((lengths >= int(size * 0.6)) & (lengths <= int(size / 0.6) + 1))
            pool = _Pool(vocabulary.words[keep], vocabulary.masks[keep], lengths[keep])
            self._pools[size] = pool
        return pool

    def _learn(self, words: Iterable[str]) -> None:
        """Find the similar listed words of each new query word. Exact, in
        two steps: two words at ratio >= 75 are at most a quarter of their
        joint length apart in insertions and deletions, and each letter one
        has and the other lacks takes one of those, so a cheap count of such
        letters (a bit mask per word) rules most of the listed words out;
        ``rapidfuzz`` scores the rest."""
        by_length: dict[int, list[str]] = defaultdict(list)
        for word in dict.fromkeys(words):
            if word not in self._similar:
                by_length[len(word)].append(word)
        for size, group in by_length.items():
            pool = self._pool(size)
            if not len(pool.words):
                for word in group:
                    self._similar[word] = self._reach([])
                continue
            for start in range(0, len(group), 64):
                part = group[start : start + 64]
                masks = np.array([_letters(w) for w in part], dtype=np.uint64)
                apart = _popcount(masks[:, None] ^ pool.masks[None, :])
                near = 4 * apart <= pool.lengths[None, :] + size
                for word, row in zip(part, near, strict=True):
                    candidates = pool.words[np.flatnonzero(row)]
                    scores = process.cdist(
                        [word],
                        candidates,
                        scorer=fuzz.ratio,
                        score_cutoff=WORD_SIMILARITY,
                        dtype=np.uint8,
                    )[0]
                    similar = [str(w) for w in candidates[np.flatnonzero(scores)]]
                    self._similar[word] = self._reach(similar)

    def _reach(self, similar: list[str]) -> _Similar:
        """What a query word reaches: the listed words like it, the names
        (slots) with any of them, and the names it alone covers enough."""
        covered: dict[int, int] = defaultdict(int)
        for word in similar:
            for slot in self._postings[word]:
                covered[slot] += 1
        names = self._names
        alone = frozenset(
            slot for slot, n in covered.items() if n >= _needed(len(names[slot].words))
        )
        return _Similar(frozenset(similar), frozenset(covered), alone)

    def screen(self, name: str, country: str | None = None) -> list[ScreeningHit]:
        """Every listed party ``name`` matches, best first."""
        words = normalise_name(name)
        query = distinctive_words(words)
        if not query:
            return []
        self._learn(query)
        return self._screen(words, query, country)

    def _screen(
        self, words: list[str], query: list[str], country: str | None
    ) -> list[ScreeningHit]:
        similar = self._similar
        reached = [similar[word] for word in dict.fromkeys(query)]
        # A listed name needs all its words but one middle word (so two at
        # least) unless it has one: either one query word covers enough of
        # it, or two query words both reach it.
        candidates: set[int] = set()
        for n, first in enumerate(reached):
            candidates |= first.alone
            for second in reached[n + 1 :]:
                candidates |= first.slots & second.slots
        if not candidates:
            return []
        present = frozenset().union(*(r.words for r in reached))
        whole = " ".join(sorted(words))
        found = []
        for slot in candidates:
            listed = self._names[slot]
            covered = [w in present for w in listed.words]
            # Two words missing (or one of a short name) is no match: the
            # common case, decided before scoring.
            missing = len(covered) - sum(covered)
            if missing > 1 or (missing and len(covered) < 3):
                continue
            hit = _score(
                listed, covered, query, whole, self.parties[listed.party], country, self.threshold
            )
            if hit is not None:
                found.append((listed.party, hit))
        return _best(found)

    def screen_many(
        self, names: Sequence[tuple[str | None, str | None]]
    ) -> list[list[ScreeningHit]]:
        """Hits for a batch of (name, country) pairs; a missing name has none.

        Sellers and consignees repeat all day, so each distinct pair is
        screened once per batch, and the batch's new words are looked up
        together.
        """
        tokens: dict[str, tuple[list[str], list[str]]] = {}
        for name, _ in names:
            if name and name not in tokens:
                words = normalise_name(name)
                tokens[name] = (words, distinctive_words(words))
        self._learn(w for _, query in tokens.values() for w in query)
        seen: dict[tuple[str, str | None], list[ScreeningHit]] = {}
        out: list[list[ScreeningHit]] = []
        for name, country in names:
            if not name:
                out.append([])
                continue
            key = (name, country)
            if key not in seen:
                words, query = tokens[name]
                seen[key] = self._screen(words, query, country) if query else []
            out.append(seen[key])
        return out
