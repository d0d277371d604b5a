"""Party resolution: sellers and consignees from any filer resolved to stable
entities, with the evidence of each match.

A party is first matched on a strong identifier (a marketplace seller id,
a tax id or EORI, IOSS; a consignee id or e-mail or phone hash); failing
that, on its name within a block of plausible candidates (the same country
and postcode for a consignee, the same country and leading distinctive word
for a seller), fuzzily, with rapidfuzz; failing that it becomes a new
entity. Consignee resolution is what makes split shipments visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from clearway.parties.screening import distinctive_words, normalise_name

__all__ = ["PartyRecord", "Resolver", "party_records"]

NAME_SIMILARITY = 90
STREET_SIMILARITY = 85


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """A seller or consignee as filed, reduced to what matching uses."""

    role: str
    name: str
    country: str
    block: str
    street: str
    identifiers: tuple[tuple[str, str], ...]


def _address(party: Mapping[str, Any]) -> Mapping[str, Any]:
    address = party.get("address")
    return address if isinstance(address, Mapping) else {}


def party_records(document: Mapping[str, Any]) -> list[PartyRecord]:
    """The seller and the consignee of a declaration document."""
    out = []
    seller = document.get("seller") or {}
    name = str(seller.get("name") or "")
    country = str(seller.get("country") or _address(seller).get("country") or "")
    market = (document.get("marketplace") or {}).get("id") or ""
    identifiers = [
        (kind, f"{market}:{value}" if kind == "seller_id" else str(value))
        for kind, value in (
            ("seller_id", seller.get("marketplace_seller_id")),
            ("tax_id", seller.get("tax_id")),
            ("eori", seller.get("eori")),
            ("ioss", seller.get("ioss")),
        )
        if value
    ]
    words = distinctive_words(normalise_name(name))
    if name or identifiers:
        out.append(
            PartyRecord(
                "seller",
                name,
                country,
                f"{country}:{words[0] if words else ''}",
                " ".join(normalise_name(str(_address(seller).get("street") or ""))),
                tuple(identifiers),
            )
        )
    consignee = document.get("consignee") or {}
    address = _address(consignee)
    identifiers = [
        (kind, str(value))
        for kind, value in (
            ("consignee_id", consignee.get("id")),
            ("email", consignee.get("email_sha256")),
            ("phone", consignee.get("phone_sha256")),
        )
        if value
    ]
    country = str(consignee.get("country") or "")
    out.append(
        PartyRecord(
            "consignee",
            str(consignee.get("name") or ""),
            country,
            f"{country}:{''.join(str(address.get('postcode') or '').split()).upper()}",
            " ".join(normalise_name(str(address.get("street") or ""))),
            tuple(identifiers),
        )
    )
    return out


def _name_key(name: str) -> str:
    """The name as matching compares it: normalised words, sorted (so that
    word order does not count)."""
    return " ".join(sorted(normalise_name(name)))


@dataclass(slots=True)
class Resolver:
    """Matches records against known entities; learns the ones it creates.

    ``by_identifier`` maps (role, kind, value) to an entity id; ``by_block``
    maps (role, block) to the entities there as (id, name, street, name
    key), each name normalised once when it is added, not per comparison.
    """

    by_identifier: dict[tuple[str, str, str], int] = field(default_factory=dict)
    by_block: dict[tuple[str, str], list[tuple[int, str, str, str]]] = field(default_factory=dict)
    # (role, block, entity, name) already in by_block: learning a record
    # looks here instead of scanning its block (a busy block holds
    # thousands of entities, and a batch learns as many records).
    _named: set[tuple[str, str, int, str]] = field(default_factory=set)

    def add(self, role: str, block: str, entity: int, name: str, street: str) -> None:
        """Make entity ``entity`` a candidate for names in ``block``."""
        if (role, block, entity, name) in self._named:
            return
        self._named.add((role, block, entity, name))
        self.by_block.setdefault((role, block), []).append((entity, name, street, _name_key(name)))

    def match(self, record: PartyRecord) -> tuple[int, str] | None:
        """(entity id, evidence) of the entity ``record`` is, if known."""
        for kind, value in record.identifiers:
            entity = self.by_identifier.get((record.role, kind, value))
            if entity is not None:
                return entity, f"same {kind.replace('_', ' ')}"
        name = _name_key(record.name)
        if not name:
            return None
        best: tuple[float, int, str] | None = None
        for entity, other, street, key in self.by_block.get((record.role, record.block), []):
            # Both keys are sorted words already: the plain ratio of the two
            # is token_sort_ratio without sorting each candidate again.
            score = fuzz.ratio(name, key, score_cutoff=NAME_SIMILARITY)
            if score < NAME_SIMILARITY:
                continue
            if (
                record.street
                and street
                and fuzz.token_sort_ratio(record.street, street) < STREET_SIMILARITY
            ):
                continue
            if best is None or score > best[0]:
                where = "postcode" if record.role == "consignee" else "country"
                best = (score, entity, f"name {score:.0f}% like {other!r}, same {where}")
        return (best[1], best[2]) if best else None

    def learn(self, entity: int, record: PartyRecord) -> None:
        for kind, value in record.identifiers:
            self.by_identifier.setdefault((record.role, kind, value), entity)
        if record.name:
            self.add(record.role, record.block, entity, record.name, record.street)
