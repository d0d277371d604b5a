"""Restricted parties for simulated traffic: names drawn from the active
screening lists, filed the way real filers write them, so that screening
is measured on variations and not only on exact names.

Each drawn entry (an entity or an individual) is filed as one of: the name
as listed; in title or lower case; an alias; an individual's name in
natural order ("LAST, First Middle" as "First Middle Last") or words
shuffled; an individual without a middle name, a company without its legal
form. Its country is the entry's first listed country, else CN.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from clearway.parties.screening import ListedParty

__all__ = ["VARIATIONS", "restricted_names", "vary_name"]

VARIATIONS = ("exact", "case", "alias", "order", "middle")
_LEGAL_FORMS = frozenset(
    {"LLC", "LTD", "CO", "INC", "LIMITED", "GMBH", "SA", "JSC", "OOO", "FZE", "CORP", "PJSC"}
)


def _natural(name: str) -> list[str]:
    """An individual's "LAST, First Middle" as ["First", "Middle", "LAST"]."""
    if "," in name:
        last, _, rest = name.partition(",")
        return [*rest.split(), *last.split()]
    return name.split()


def _without_middle(entry: ListedParty, words: list[str]) -> str:
    if entry.kind == "individual" and len(words) >= 3:
        return " ".join(words[:1] + words[2:])
    # A company's "middle name" is its legal form, often left out.
    kept = [w for w in words if w.strip(".,").upper() not in _LEGAL_FORMS]
    return " ".join(kept) if kept and len(kept) < len(words) else " ".join(words).title()


def vary_name(rng: random.Random, entry: ListedParty, variation: str) -> str:
    """``entry``'s name as a filer might write it (see the module's list)."""
    name = entry.name
    words = _natural(name)
    aliases = [n for n in entry.names if n != name]
    shuffled = words[:]
    rng.shuffle(shuffled)
    varied = {
        "exact": name,
        "case": rng.choice((" ".join(words).title(), " ".join(words).lower())),
        "alias": rng.choice(aliases) if aliases else name.title(),
        # An individual in natural order, a company's words shuffled.
        "order": " ".join(words if entry.kind == "individual" and "," in name else shuffled),
        "middle": _without_middle(entry, words),
    }
    return varied[variation]


def restricted_names(
    rng: random.Random, entries: Sequence[ListedParty], count: int = 400
) -> list[tuple[str, str, str]]:
    """``count`` (name as filed, country, variation) drawn from the entities
    and individuals of ``entries``, each variation equally often."""
    people = [e for e in entries if e.kind in ("entity", "individual")]
    if not people:
        return []
    out = []
    for n in range(count):
        entry = rng.choice(people)
        variation = VARIATIONS[n % len(VARIATIONS)]
        # The first listed country (as the simulator always filed them);
        # China, where most parcels ship from, for an entry with none.
        country = min(entry.countries) if entry.countries else "CN"
        out.append((vary_name(rng, entry, variation), country, variation))
    return out
