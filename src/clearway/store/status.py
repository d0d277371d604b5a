"""Where filings stand, as a filer may be told: received (queued),
accepted (stored), assessed (decided), referral_open (a question to answer)
or released. Lanes and scores only for callers who may read the queue:
customs controls are not announced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, select

from clearway.store.schema import (
    declarations,
    intake_queue,
    officer_decisions,
    referrals,
    risk_decisions,
)

__all__ = ["filing_states"]

_CHUNK = 500
_OPEN = ("open", "answered", "escalated")


def filing_states(
    engine: Engine, keys: Sequence[tuple[str, str]], with_lanes: bool
) -> dict[tuple[str, str], dict[str, Any]]:
    """The status of each (filer, ref) known (queued or stored)."""
    wanted = set(keys)
    refs = sorted({ref for _, ref in wanted})
    out: dict[tuple[str, str], dict[str, Any]] = {}
    d, r = declarations.c, risk_decisions.c
    with engine.connect() as conn:
        for start in range(0, len(refs), _CHUNK):
            part = refs[start : start + _CHUNK]
            rows = conn.execute(
                select(d.id, d.filer_id, d.ref, r.lane, r.score)
                .select_from(declarations.outerjoin(risk_decisions, r.declaration_id == d.id))
                .where(d.ref.in_(part), d.current)
            ).all()
            ids = {
                row.id: (row.filer_id, row.ref) for row in rows if (row.filer_id, row.ref) in wanted
            }
            released = set(
                conn.execute(
                    select(officer_decisions.c.declaration_id).where(
                        officer_decisions.c.declaration_id.in_(list(ids)),
                        officer_decisions.c.action == "release",
                    )
                ).scalars()
            )
            referred = set(
                conn.execute(
                    select(referrals.c.declaration_id).where(
                        referrals.c.declaration_id.in_(list(ids)), referrals.c.state.in_(_OPEN)
                    )
                ).scalars()
            )
            for row in rows:
                key = (row.filer_id, row.ref)
                if key not in wanted:
                    continue
                status = "accepted" if row.lane is None else "assessed"
                if row.id in referred:
                    status = "referral_open"
                if row.id in released:
                    status = "released"
                found: dict[str, Any] = {"status": status}
                if with_lanes and row.lane is not None:
                    found["lane"] = row.lane
                    found["score"] = row.score
                out[key] = found
            for filer_id, ref in conn.execute(
                select(intake_queue.c.filer_id, intake_queue.c.ref).where(
                    intake_queue.c.ref.in_(part)
                )
            ):
                if (filer_id, ref) in wanted:
                    # A queued amendment: received, whatever the earlier version's state.
                    out[(filer_id, ref)] = {"status": "received"}
    return out
