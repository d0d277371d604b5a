"""``clearway demo``: a simulated week through every pipeline stage there is."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearway.settings import Settings
from clearway.simulate import SimulationConfig, write_simulation
from clearway.store import open_engine
from clearway.store.duty import duty_totals
from clearway.store.ledger_reading import checkpoint_with_cosignatures
from clearway.store.reading import summary
from clearway.wiring import ingest_files, stages_from_settings

__all__ = ["demo_officer", "run_demo"]

DEMO_OFFICER = "officer"


def demo_officer(engine: Engine) -> str:
    """The demo officer account's password, new on every run."""
    from datetime import UTC, datetime

    from clearway.errors import Conflict
    from clearway.store.users import add_user, reset_password

    try:
        return add_user(engine, DEMO_OFFICER, "Demo Officer", "customs_officer", datetime.now(UTC))
    except Conflict:
        return reset_password(engine, DEMO_OFFICER)


def _inspect_red_lane(engine: Engine, truth: Path) -> int:
    """Record, for the declarations the red lane selected, what an
    inspection would have found (the simulation's labels): the hit rates
    and the operator programme then have outcomes to work from."""
    from datetime import UTC, datetime

    from clearway.store.outcomes import read_outcome_file, record_outcomes
    from clearway.store.risk import read_lanes

    rows = read_outcome_file(truth)
    lanes = read_lanes(engine, None, [r.declaration_id for r in rows])
    inspected = [r for r in rows if lanes.get(r.declaration_id) in ("red", "black")]
    recorded, _ = record_outcomes(engine, inspected, datetime.now(UTC))
    return recorded


def _operators(engine: Engine) -> int:
    """Register every simulated marketplace, carrier and post in the trusted
    operator programme and review them once."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from clearway.store.operators import list_operators, register_operator, review_operators
    from clearway.store.schema import declarations

    now = datetime.now(UTC)
    known = {row["filer_id"] for row in list_operators(engine)}
    with engine.connect() as conn:
        filers = conn.execute(
            select(declarations.c.filer_id, declarations.c.filer_role)
            .where(declarations.c.current)
            .distinct()
        ).all()
    for filer_id, role in filers:
        if filer_id not in known and role in ("marketplace", "carrier", "post", "broker"):
            name = filer_id.replace("-", " ").title()
            register_operator(engine, filer_id, name, role, now)
            known.add(filer_id)
    return len(review_operators(engine, now))


def run_demo(
    settings: Settings,
    *,
    days: int,
    per_day: int,
    seed: int,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Simulate, ingest into the configured store, and summarise."""
    engine = open_engine(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="clearway-demo-") as tmp:
        traffic = Path(tmp) / "traffic.jsonl"
        houses, masters = write_simulation(
            SimulationConfig(
                days=days,
                per_day=per_day,
                seed=seed,
                restricted_list=Path(settings.screening_sdn_file)
                if settings.screening_sdn_file
                else None,
            ),
            traffic,
            Path(tmp) / "truth.csv",
        )
        report = ingest_files(
            engine,
            [traffic],
            batch_size=settings.batch_size,
            workers=settings.workers,
            rejections_path=None,
            on_batch=on_batch,
            stages=stages_from_settings(settings, engine),
        )
        inspected = _inspect_red_lane(engine, Path(tmp) / "truth.csv")
    tier_changes = _operators(engine)
    result: dict[str, Any] = {
        "database": settings.database_url,
        "simulated": f"{houses:,} house declarations, {masters:,} master filings "
        f"over {days} days (seed {seed})",
        "intake": report.as_dict(),
        "inspections": f"{inspected:,} red-lane declarations inspected (outcomes from the "
        "simulation's labels)",
        "operators": f"{tier_changes:,} tier change(s) after the first review",
    }
    result.update(summary(engine))
    result["ledger"] = checkpoint_with_cosignatures(engine).split("\n\n")[0].replace("\n", " | ")
    result["duty_by_day"] = [
        f"{row['day']} {row['currency']}: duty {row['duty']:,.2f}, VAT {row['vat']:,.2f}, "
        f"short {row['shortfall']:,.2f} ({row['declarations']:,} declarations)"
        for row in duty_totals(engine, "day")
    ]
    return result
