"""``clearway demo``: a simulated week through every pipeline stage there is."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clearway.pipeline import ingest_files, stages_for
from clearway.settings import Settings
from clearway.simulate import SimulationConfig, write_simulation
from clearway.store import open_engine
from clearway.store.duty import duty_totals
from clearway.store.ledger_reading import checkpoint_with_cosignatures
from clearway.store.reading import summary

__all__ = ["run_demo"]


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
            stages=stages_for(settings, engine),
        )
    result: dict[str, Any] = {
        "database": settings.database_url,
        "simulated": f"{houses:,} house declarations, {masters:,} master filings "
        f"over {days} days (seed {seed})",
        "intake": report.as_dict(),
    }
    result.update(summary(engine))
    result["ledger"] = checkpoint_with_cosignatures(engine).split("\n\n")[0].replace("\n", " | ")
    result["duty_by_day"] = [
        f"{row['day']} {row['currency']}: duty {row['duty']:,.2f}, VAT {row['vat']:,.2f}, "
        f"short {row['shortfall']:,.2f} ({row['declarations']:,} declarations)"
        for row in duty_totals(engine, "day")
    ]
    return result
