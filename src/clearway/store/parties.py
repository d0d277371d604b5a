"""Storing and reading the parties stage: screening hits and routings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select

from clearway.parties.checks import PartyChecks
from clearway.store.bulk import bulk_insert, row_dict
from clearway.store.schema import agency_routings, screening_hits

__all__ = ["read_findings", "read_party_checks", "record_finding", "write_party_checks"]


def write_party_checks(
    conn: Connection, declaration_ids: list[int], indices: list[int], checks: PartyChecks
) -> list[dict[str, Any]]:
    """Store the checks of batch positions ``indices`` for the declaration rows
    ``declaration_ids``; return, per row with any, what was found (for the ledger)."""
    hits, routes, found = [], [], []
    for row_id, k in zip(declaration_ids, indices, strict=True):
        row_hits = [
            {
                "declaration_id": row_id,
                "role": role,
                "list_name": hit.party.list_name,
                "entry_id": hit.party.entry_id,
                "listed_name": hit.party.name,
                "matched_name": hit.matched_name,
                "score": hit.score,
                "reason": hit.reason,
            }
            for role, hit in checks.hits[k]
        ]
        row_routes = [
            {
                "declaration_id": row_id,
                "agency": r.agency,
                "reason": r.reason,
                "item_lines": ",".join(map(str, r.item_lines)),
                "hs_codes": ",".join(r.hs_codes),
            }
            for r in checks.routes[k]
        ]
        hits += row_hits
        routes += row_routes
        if row_hits or row_routes:
            found.append({"declaration_id": row_id, "screening": row_hits, "routing": row_routes})
    bulk_insert(conn, screening_hits, hits)
    bulk_insert(conn, agency_routings, routes)
    return found


def read_party_checks(engine: Engine, declaration_row_id: int) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        hits = [
            row_dict(r)
            for r in conn.execute(
                select(screening_hits)
                .where(screening_hits.c.declaration_id == declaration_row_id)
                .order_by(screening_hits.c.score.desc())
            )
        ]
        routes = [
            row_dict(r)
            for r in conn.execute(
                select(agency_routings)
                .where(agency_routings.c.declaration_id == declaration_row_id)
                .order_by(agency_routings.c.agency)
            )
        ]
    return {"screening": hits, "routing": routes}


def record_finding(
    engine: Engine, declaration_row_id: int, agency: str, finding: str, note: str, now: Any
) -> dict[str, Any]:
    """A partner agency's finding on a declaration routed to it."""
    from sqlalchemy import insert

    from clearway.store.engine import writing
    from clearway.store.schema import agency_findings

    values = {
        "declaration_id": declaration_row_id,
        "agency": agency,
        "finding": finding,
        "note": note,
        "recorded_at": now,
    }
    with writing(engine).begin() as conn:
        values["id"] = conn.execute(
            insert(agency_findings).values(**values).returning(agency_findings.c.id)
        ).scalar_one()
    return values


def read_findings(engine: Engine, declaration_row_id: int) -> list[dict[str, Any]]:
    from clearway.store.schema import agency_findings

    with engine.connect() as conn:
        rows = [
            row_dict(r)
            for r in conn.execute(
                select(agency_findings)
                .where(agency_findings.c.declaration_id == declaration_row_id)
                .order_by(agency_findings.c.id)
            )
        ]
    for row in rows:
        row["recorded_at"] = str(row["recorded_at"])
        del row["declaration_id"]
    return rows
