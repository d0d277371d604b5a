"""A simulated week sent to the clearance service as filers send it, for
``clearway demo``, the workspace tests and the workspace benchmark.

The simulator writes a week of filings; each filer then sends its own in
filing-time order, in lists of 1 to 20 (a list goes once it is full, and
at the end of the day whatever a filer still holds goes too), through
:meth:`~clearway.clearance.ClearanceService.submit`, as the API receives
them. The sequencer decides a tick whenever a tick's worth is queued, as
its loop does under load (here in this thread, between submissions: the
ticks are the same whatever the machine's speed). Then the red lane is
"inspected" (outcomes from the simulation's labels) and the filers enter
the trusted-operator programme.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from clearway.clearance import ClearanceService, IngestReport
from clearway.declarations.intake import RawRecord
from clearway.errors import Conflict, Overloaded
from clearway.risk.outcomes import read_outcome_file
from clearway.settings import Settings
from clearway.simulate import SimulationConfig, write_simulation
from clearway.store import open_engine
from clearway.store.duty import duty_totals
from clearway.store.ledger_reading import checkpoint_with_cosignatures
from clearway.store.operators import (
    current_filers,
    list_operators,
    register_operator,
    review_operators,
)
from clearway.store.outcomes import record_outcomes
from clearway.store.reading import summary
from clearway.store.risk import read_lanes
from clearway.web.accounts import add_user, reset_password
from clearway.wiring import service_for, stages_from_settings

__all__ = [
    "DEMO_OFFICER",
    "DemoWeek",
    "demo_officer",
    "enrol_operators",
    "inspect_red_lane",
    "run_demo",
    "submissions",
]

DEMO_OFFICER = "officer"
# The most filings a filer sends at once (each list is 1 to this).
MOST_PER_SUBMISSION = 20
OPERATOR_ROLES = ("marketplace", "carrier", "post", "broker")
_KEEP_REJECTIONS = 5

# (what, done, total): "simulated" houses, "submitted" and "decided" filings.
OnProgress = Callable[[str, int, int], None]


@dataclass(slots=True)
class DemoWeek:
    """What ``clearway demo`` prints: the run, then the store's figures."""

    database: str
    days: int
    per_day: int
    seed: int
    houses: int
    masters: int
    submissions: int = 0
    sizes: tuple[int, int] = (0, 0)  # the smallest and largest submission
    filers: int = 0
    intake: IngestReport = field(default_factory=IngestReport)
    inspected: int = 0
    tier_changes: int = 0
    store: dict[str, Any] = field(default_factory=dict)
    ledger: str = ""
    duty_by_day: list[dict[str, Any]] = field(default_factory=list)


def demo_officer(engine: Engine) -> str:
    """The demo officer account's password, new on every run."""
    try:
        return add_user(engine, DEMO_OFFICER, "Demo Officer", "customs_officer", datetime.now(UTC))
    except Conflict:
        return reset_password(engine, DEMO_OFFICER)


def submissions(
    lines: Iterable[bytes], rng: random.Random, most: int = MOST_PER_SUBMISSION
) -> Iterator[list[RawRecord]]:
    """The simulated filings (JSON Lines, a day after another) as their
    filers submit them: per day in filing-time order, each filer's in lists
    of 1 to ``most`` that go once full; at the end of the day every filer
    sends what it still holds. One day is held at a time, to sort it."""
    day: list[tuple[datetime, str, RawRecord]] = []
    for position, line in enumerate(lines, 1):
        document = orjson.loads(line)
        filed_at = datetime.fromisoformat(document["filed_at"])
        if day and filed_at.date() != day[-1][0].date():
            yield from _day_submissions(day, rng, most)
            day = []
        day.append((filed_at, document["filer"]["id"], RawRecord("demo", position, line)))
    yield from _day_submissions(day, rng, most)


def _day_submissions(
    day: list[tuple[datetime, str, RawRecord]], rng: random.Random, most: int
) -> Iterator[list[RawRecord]]:
    held: dict[str, list[RawRecord]] = {}
    sizes: dict[str, int] = {}
    # Stable: filings of the same moment keep the simulator's order.
    for _, filer, record in sorted(day, key=lambda row: row[0]):
        if filer not in held:
            held[filer], sizes[filer] = [], rng.randint(1, most)
        held[filer].append(record)
        if len(held[filer]) == sizes[filer]:
            yield held.pop(filer)
    yield from held.values()


class _Sender:
    """Submits lists, and decides a tick whenever a tick's worth is queued."""

    def __init__(self, service: ClearanceService) -> None:
        self.service = service
        self.report = IngestReport()
        self.submissions = 0
        self.sizes = (MOST_PER_SUBMISSION, 0)
        self.filers: set[str] = set()
        self.sent = 0
        self.queued = 0
        self.decided = 0

    def send(self, records: list[RawRecord]) -> None:
        try:
            submitted = self.service.submit(records, source="demo")
        except Overloaded:
            # A queue limit below a tick's worth: decide, then send again.
            self.decide(everything=True)
            submitted = self.service.submit(records, source="demo")
        self.submissions += 1
        self.sizes = (min(self.sizes[0], len(records)), max(self.sizes[1], len(records)))
        self.filers.update(r.filer_id for r in submitted.receipts)
        self.sent += len(records)
        self.queued += len(submitted.queued)
        self.report.duplicate += sum(r.status == "duplicate" for r in submitted.receipts)
        self.report.rejected += len(submitted.rejections)
        room = _KEEP_REJECTIONS - len(self.report.first_rejections)
        self.report.first_rejections.extend(submitted.rejections[: max(room, 0)])

    def decide(self, *, everything: bool = False) -> None:
        while everything or self.queued - self.decided >= self.service.tick_size:
            result = self.service.run_once()
            if result is None:
                return
            self.report.add(result)
            counts = result.counts
            self.decided += counts.accepted + counts.amended + counts.duplicate


def inspect_red_lane(engine: Engine, truth: Path) -> int:
    """Record, for the declarations the red lane selected, what an
    inspection would have found (the simulation's labels): the hit rates
    and the operator programme then have outcomes to work from."""
    rows = read_outcome_file(truth)
    lanes = read_lanes(engine, None, [r.declaration_id for r in rows])
    inspected = [r for r in rows if lanes.get(r.declaration_id) in ("red", "black")]
    recorded, _ = record_outcomes(engine, inspected, datetime.now(UTC))
    return recorded


def enrol_operators(engine: Engine) -> int:
    """Register every simulated marketplace, carrier, post and broker in the
    trusted operator programme and review them once; the tier changes."""
    now = datetime.now(UTC)
    known = {row["filer_id"] for row in list_operators(engine)}
    for filer_id, role in current_filers(engine):
        if filer_id not in known and role in OPERATOR_ROLES:
            register_operator(engine, filer_id, filer_id.replace("-", " ").title(), role, now)
            known.add(filer_id)
    return len(review_operators(engine, now))


def run_demo(
    settings: Settings,
    *,
    days: int,
    per_day: int,
    seed: int,
    on_progress: OnProgress | None = None,
) -> DemoWeek:
    """Simulate, send it all to the configured store's clearance service,
    inspect the red lane, review the operators; the figures to print."""
    report = on_progress or (lambda _what, _done, _total: None)
    engine = open_engine(settings.database_url)
    stages = stages_from_settings(settings, engine)
    service = service_for(engine, stages, settings)
    # Restricted names come from the lists screened against (the bundled
    # OFAC SDN snapshot by default), so the demo shows real hits.
    config = SimulationConfig(
        days=days,
        per_day=per_day,
        seed=seed,
        restricted_parties=tuple(
            entry for listed in stages.screening.lists for entry in listed.entries
        )
        if stages.screening
        else (),
    )
    with tempfile.TemporaryDirectory(prefix="clearway-demo-") as tmp:
        traffic, truth = Path(tmp) / "traffic.jsonl", Path(tmp) / "truth.csv"
        simulated = 0

        def simulating(count: int) -> None:
            nonlocal simulated
            simulated += count
            report("simulated", simulated, days * per_day)

        houses, masters = write_simulation(config, traffic, truth, on_progress=simulating)
        sender = _Sender(service)
        with traffic.open("rb") as lines:
            for records in submissions(lines, random.Random(seed)):
                sender.send(records)
                sender.decide()
                report("submitted", sender.sent, houses + masters)
                report("decided", sender.decided, houses + masters)
        sender.decide(everything=True)
        report("decided", sender.decided, houses + masters)
        week = DemoWeek(
            settings.database_url,
            days,
            per_day,
            seed,
            houses,
            masters,
            submissions=sender.submissions,
            sizes=sender.sizes,
            filers=len(sender.filers),
            intake=sender.report,
        )
        week.inspected = inspect_red_lane(engine, truth)
    week.tier_changes = enrol_operators(engine)
    week.store = summary(engine)
    week.ledger = checkpoint_with_cosignatures(engine).split("\n\n")[0].replace("\n", " | ")
    week.duty_by_day = duty_totals(engine, "day")
    return week
