"""Where the edges get the write path: the clearance service over a store.

The core (:mod:`clearway.clearance`) knows the store only through its
Protocols; this is the one place that puts the two together, for the CLI,
the API, the demo, the benchmarks and the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearway.clearance import ClearanceService, IngestReport, Stages
from clearway.settings import Settings
from clearway.store.clearance import SqlClearanceStore
from clearway.store.operators import operator_benefits

__all__ = ["ingest_files", "ingest_records", "service_for", "stages_from_settings"]


def stages_from_settings(settings: Settings, engine: Engine) -> Stages:
    """Every stage, configured from settings, with the operator programme's
    benefits read from the store."""
    from clearway.clearance import stages_for

    return stages_for(settings, operator_benefits(engine))


def service_for(
    engine: Engine, stages: Stages | None = None, settings: Settings | None = None
) -> ClearanceService:
    """The clearance service over ``engine`` (every stage off unless given)."""
    options: dict[str, Any] = {}
    if settings is not None:
        options = {
            "queue_limit": settings.intake_queue_limit,
            "tick_size": settings.sequencer_tick_size,
            "refresh": lambda: stages_from_settings(settings, engine),
        }
    return ClearanceService(SqlClearanceStore(engine), stages or Stages(), **options)


def ingest_files(
    engine: Engine, paths: list[Path], *, stages: Stages | None = None, **options: Any
) -> IngestReport:
    """Ingest files through the one write path (see :meth:`ClearanceService.ingest_files`)."""
    return service_for(engine, stages).ingest_files(paths, **options)


def ingest_records(
    engine: Engine, records: Any, *, stages: Stages | None = None, **options: Any
) -> IngestReport:
    return service_for(engine, stages).ingest_records(records, **options)
