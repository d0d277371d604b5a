"""Reading filings back: one declaration with its history and filing links,
and the summary figures the CLI and demo print."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, func, select

from clearway.errors import InputError, NotFound
from clearway.store.bulk import row_dict
from clearway.store.schema import (
    agency_routings,
    declaration_items,
    declarations,
    master_filings,
    master_houses,
    risk_decisions,
)

__all__ = [
    "DeclarationView",
    "FilingLink",
    "MasterView",
    "declaration_holders",
    "get_declaration",
    "get_master",
    "master_filers",
    "summary",
]


@dataclass(frozen=True, slots=True)
class FilingLink:
    """Where a house stands in the multiple filing: complete, or what is missing."""

    master_ref: str | None
    master_filer: str | None
    listed_in_master: bool
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True, slots=True)
class DeclarationView:
    row_id: int
    filer_id: str
    ref: str
    version: int
    received_at: Any
    document: dict[str, Any]
    dq_score: float
    dq_gaps: list[dict[str, str]]
    items: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    link: FilingLink


@dataclass(frozen=True, slots=True)
class MasterView:
    filer_id: str
    ref: str
    version: int
    document: dict[str, Any]
    houses_filed: list[str] = field(default_factory=list)
    houses_missing: list[str] = field(default_factory=list)


def _link(engine: Engine, row: Any) -> FilingLink:
    if row.master_ref is None:
        return FilingLink(None, None, False, ("master reference (transport.master_ref)",))
    with engine.connect() as conn:
        master = conn.execute(
            select(master_filings.c.id, master_filings.c.filer_id)
            .where(master_filings.c.ref == row.master_ref, master_filings.c.current)
            .where(master_filings.c.destination_country == row.destination_country)
        ).first()
        if master is None:
            return FilingLink(
                row.master_ref, None, False, (f"master filing {row.master_ref} from the carrier",)
            )
        listed = (
            row.tracking_number is not None
            and conn.execute(
                select(master_houses.c.house_ref).where(
                    master_houses.c.master_id == master.id,
                    master_houses.c.house_ref == row.tracking_number,
                )
            ).first()
            is not None
        )
    missing = (
        ()
        if listed
        else (f"house {row.tracking_number or '(no tracking number)'} in master {row.master_ref}",)
    )
    return FilingLink(row.master_ref, master.filer_id, listed, missing)


def get_declaration(engine: Engine, ref: str, filer_id: str | None = None) -> DeclarationView:
    """The current version of declaration ``ref`` (of ``filer_id`` when given)."""
    query = select(declarations).where(declarations.c.ref == ref, declarations.c.current)
    if filer_id is not None:
        query = query.where(declarations.c.filer_id == filer_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        if not rows:
            raise NotFound(
                f"declaration {ref!r} not found"
                + (f" for filer {filer_id!r}." if filer_id else ".")
            )
        if len(rows) > 1:
            filers = ", ".join(sorted(r.filer_id for r in rows))
            raise InputError(
                f"declaration {ref!r} exists for several filers ({filers}); pass --filer."
            )
        row = rows[0]
        items = [
            row_dict(r)
            for r in conn.execute(
                select(declaration_items)
                .where(declaration_items.c.declaration_id == row.id)
                .order_by(declaration_items.c.line_no)
            )
        ]
        versions = [
            row_dict(r)
            for r in conn.execute(
                select(
                    declarations.c.version, declarations.c.received_at, declarations.c.content_hash
                )
                .where(declarations.c.filer_id == row.filer_id, declarations.c.ref == ref)
                .order_by(declarations.c.version)
            )
        ]
    return DeclarationView(
        row_id=row.id,
        filer_id=row.filer_id,
        ref=row.ref,
        version=row.version,
        received_at=row.received_at,
        document=orjson.loads(row.document),
        dq_score=row.dq_score,
        dq_gaps=orjson.loads(row.dq_gaps),
        items=items,
        versions=versions,
        link=_link(engine, row),
    )


def declaration_holders(engine: Engine, ref: str) -> dict[str, set[str]]:
    """Every filer with a current declaration ``ref`` and the agencies that
    declaration is routed to: what a caller's scope is checked against
    before a declaration id is resolved to one filer's declaration."""
    query = (
        select(declarations.c.filer_id, agency_routings.c.agency)
        .select_from(
            declarations.outerjoin(
                agency_routings, agency_routings.c.declaration_id == declarations.c.id
            )
        )
        .where(declarations.c.ref == ref, declarations.c.current)
    )
    holders: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for filer_id, agency in conn.execute(query):
            agencies = holders.setdefault(str(filer_id), set())
            if agency is not None:
                agencies.add(str(agency))
    return holders


def master_filers(engine: Engine, refs: set[str]) -> dict[str, set[str]]:
    """The filers of the current master filings of each of ``refs`` (a
    master reference belongs to the carrier that filed it first)."""
    found: dict[str, set[str]] = {}
    wanted = sorted(refs)
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            for ref, filer_id in conn.execute(
                select(master_filings.c.ref, master_filings.c.filer_id).where(
                    master_filings.c.ref.in_(wanted[start : start + 500]),
                    master_filings.c.current,
                )
            ):
                found.setdefault(str(ref), set()).add(str(filer_id))
    return found


def get_master(engine: Engine, ref: str) -> MasterView:
    """A master filing with its houses split into filed and still missing."""
    with engine.connect() as conn:
        row = conn.execute(
            select(master_filings).where(master_filings.c.ref == ref, master_filings.c.current)
        ).first()
        if row is None:
            raise NotFound(f"master filing {ref!r} not found.")
        listed = [
            r
            for (r,) in conn.execute(
                select(master_houses.c.house_ref)
                .where(master_houses.c.master_id == row.id)
                .order_by(master_houses.c.house_ref)
            )
        ]
        filed = {
            r
            for (r,) in conn.execute(
                select(declarations.c.tracking_number).where(
                    declarations.c.master_ref == ref,
                    declarations.c.current,
                    declarations.c.destination_country == row.destination_country,
                )
            )
        }
    return MasterView(
        row.filer_id,
        row.ref,
        row.version,
        orjson.loads(row.document),
        [h for h in listed if h in filed],
        [h for h in listed if h not in filed],
    )


def summary(engine: Engine) -> dict[str, Any]:
    """Headline figures of the store: filings, versions, quality, open links."""
    d = declarations
    with engine.connect() as conn:
        current = conn.execute(
            select(func.count(), func.avg(d.c.dq_score)).where(d.c.current)
        ).one()
        versions = conn.execute(select(func.count()).select_from(d)).scalar_one()
        masters = conn.execute(select(func.count()).where(master_filings.c.current)).scalar_one()
        by_destination: dict[str, int] = dict(
            conn.execute(
                select(d.c.destination_country, func.count())
                .where(d.c.current)
                .group_by(d.c.destination_country)
            ).all()
        )
        lanes: dict[str, int] = dict(
            conn.execute(
                select(risk_decisions.c.lane, func.count())
                .select_from(d.join(risk_decisions, risk_decisions.c.declaration_id == d.c.id))
                .where(d.c.current)
                .group_by(risk_decisions.c.lane)
            ).all()
        )
        linked = conn.execute(
            select(func.count())
            .select_from(
                d.join(
                    master_filings,
                    (master_filings.c.ref == d.c.master_ref)
                    & master_filings.c.current
                    & (master_filings.c.destination_country == d.c.destination_country),
                ).join(
                    master_houses,
                    (master_houses.c.master_id == master_filings.c.id)
                    & (master_houses.c.house_ref == d.c.tracking_number),
                )
            )
            .where(d.c.current)
        ).scalar_one()
    return {
        "declarations": current[0],
        "versions": versions,
        "master_filings": masters,
        "mean_data_quality": round(float(current[1] or 0.0), 3),
        "linked_to_master": linked,
        "missing_master_part": current[0] - linked,
        "by_destination": dict(sorted(by_destination.items())),
        "lanes": {lane: lanes.get(lane, 0) for lane in ("green", "yellow", "red", "black")},
    }
