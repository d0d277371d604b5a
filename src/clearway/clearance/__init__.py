"""The one write path for new filings: durable intake, pure stage workers,
one sequencer per store that owns stateful decisions and the ledger tick.
CLI, API, workspace, demo and history replays all go through it."""

from clearway.clearance.admission import Admission
from clearway.clearance.ports import ClearanceStore, Counts, IntakeQueue, QueuedFiling, Tick
from clearway.clearance.sequencer import Decided, Sequencer, TickResult
from clearway.clearance.service import ClearanceService, IngestReport, Receipt, Submission
from clearway.clearance.stages import (
    ClassificationOptions,
    DutyOptions,
    RiskOptions,
    Staged,
    Stages,
    run_stages,
    stages_for,
)

__all__ = [
    "Admission",
    "ClassificationOptions",
    "ClearanceService",
    "ClearanceStore",
    "Counts",
    "Decided",
    "DutyOptions",
    "IngestReport",
    "IntakeQueue",
    "QueuedFiling",
    "Receipt",
    "RiskOptions",
    "Sequencer",
    "Staged",
    "Stages",
    "Submission",
    "Tick",
    "TickResult",
    "run_stages",
    "stages_for",
]
