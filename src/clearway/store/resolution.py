"""Resolving a batch's parties against the entities in the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from clearway.parties.resolution import PartyRecord, Resolver, party_records
from clearway.store.bulk import allocate_ids, bulk_insert, row_dict
from clearway.store.schema import declaration_parties, party_entities, party_identifiers

__all__ = ["read_parties", "resolve_batch"]

_CHUNK = 300


def _known(conn: Connection, records: Sequence[PartyRecord]) -> Resolver:
    """A resolver primed with the stored entities these records could be."""
    resolver = Resolver()
    # Single-column IN lists use the value and block indexes on SQLite and
    # PostgreSQL alike; (role, kind) and role are checked here.
    wanted = {(r.role, kind, value) for r in records for kind, value in r.identifiers}
    values = sorted({value for _, _, value in wanted})
    ident = party_identifiers.c
    for start in range(0, len(values), _CHUNK):
        for known in conn.execute(
            select(ident.role, ident.kind, ident.value, ident.entity_id).where(
                ident.value.in_(values[start : start + _CHUNK])
            )
        ):
            if (known.role, known.kind, known.value) in wanted:
                resolver.by_identifier[(known.role, known.kind, known.value)] = known.entity_id
    # A record with a known identifier never looks at its block: reading
    # the block (every entity of a country and leading word) would cost a
    # request more as the register grows.
    blocks = {
        (r.role, r.block)
        for r in records
        if not any((r.role, kind, value) in resolver.by_identifier for kind, value in r.identifiers)
    }
    names = sorted({block for _, block in blocks})
    entity = party_entities.c
    for start in range(0, len(names), _CHUNK):
        for row in conn.execute(
            select(entity.id, entity.role, entity.block, entity.name, entity.street).where(
                entity.block.in_(names[start : start + _CHUNK])
            )
        ):
            if (row.role, row.block) in blocks:
                resolver.add(row.role, row.block, row.id, row.name, row.street)
    return resolver


def resolve_batch(
    conn: Connection,
    houses: Sequence[dict[str, Any]],
    documents: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Link each new declaration version to its seller and consignee entities,
    creating entities for parties never seen before; ``documents``: the
    houses' documents, if the caller decoded them."""
    if documents is None:
        documents = [orjson.loads(row["document"]) for row in houses]
    found = [
        (row["id"], record)
        for row, document in zip(houses, documents, strict=True)
        for record in party_records(document)
    ]
    if not found:
        return
    resolver = _known(conn, [record for _, record in found])
    links, entities, identifiers = [], [], []
    new_ids = iter(allocate_ids(conn, party_entities, len(found)))
    for declaration_id, record in found:
        match = resolver.match(record)
        if match is None:
            entity = next(new_ids)
            entities.append(
                {
                    "id": entity,
                    "role": record.role,
                    "country": record.country,
                    "block": record.block,
                    "name": record.name,
                    "street": record.street,
                }
            )
            match = (entity, "new entity")
        entity, evidence = match
        # New identifiers only: one already known (to this entity or to
        # another) stays with the entity that has it.
        identifiers += [
            {"role": record.role, "kind": kind, "value": value, "entity_id": entity}
            for kind, value in record.identifiers
            if (record.role, kind, value) not in resolver.by_identifier
        ]
        resolver.learn(entity, record)
        links.append(
            {
                "declaration_id": declaration_id,
                "role": record.role,
                "entity_id": entity,
                "evidence": evidence,
            }
        )
    bulk_insert(conn, party_entities, entities)
    bulk_insert(conn, party_identifiers, identifiers)
    bulk_insert(conn, declaration_parties, links)


def read_parties(engine: Engine, declaration_row_id: int, linked: int = 0) -> list[dict[str, Any]]:
    """The entities a declaration names, with the evidence of each match;
    with ``linked``, up to that many other current declarations naming the
    same entity (the links an officer follows)."""
    from clearway.store.schema import declarations

    d, e = declaration_parties.c, party_entities.c
    with engine.connect() as conn:
        parties = [
            row_dict(r)
            for r in conn.execute(
                select(d.role, d.entity_id, d.evidence, e.name.label("entity_name"))
                .select_from(declaration_parties.join(party_entities, e.id == d.entity_id))
                .where(d.declaration_id == declaration_row_id)
                .order_by(d.role.desc())
            )
        ]
        for party in parties if linked else []:
            # Newest first from the entity index alone, then the few
            # candidates' declarations: a marketplace-sized entity has
            # thousands of filings and their rows are wide.
            candidates = [
                row_id
                for (row_id,) in conn.execute(
                    select(d.declaration_id)
                    .where(
                        d.entity_id == party["entity_id"],
                        d.role == party["role"],
                        d.declaration_id != declaration_row_id,
                    )
                    .order_by(d.declaration_id.desc())
                    .limit(3 * linked)
                )
            ]
            party["linked"] = [
                {"declaration_id": r.ref, "filer_id": r.filer_id}
                for r in conn.execute(
                    select(declarations.c.ref, declarations.c.filer_id)
                    .where(declarations.c.id.in_(candidates), declarations.c.current)
                    .order_by(declarations.c.id.desc())
                    .limit(linked)
                )
            ]
    return parties
