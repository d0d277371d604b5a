"""The path every filing takes: read, validate, score, store, report.

The calling process reads records and hands out batches; each worker
process validates and shapes its batch
(:func:`clearway.declarations.batch.prepare_batch`), then waits for its turn
and writes it, so batches commit in input order (an amendment later in a
file always lands after its original) while validation runs in parallel. At
most ``2 x workers`` batches are in flight: memory stays bounded whatever the
input size.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Condition
from pathlib import Path
from typing import IO

import orjson
from sqlalchemy import Engine

from clearway.classification.loading import classifier_for
from clearway.classification.misclassification import ItemClassification, check_houses
from clearway.declarations.batch import PreparedBatch, Rejection, prepare_batch
from clearway.declarations.intake import IntakeLimits, RawRecord, read_records
from clearway.duty import DutyBook, DutyResult, assess, duty_input, load_book
from clearway.errors import StoreError
from clearway.ledger.keys import LedgerKeys, keys_for
from clearway.parties.checks import PartyChecks, check_parties, screening_index
from clearway.risk.lanes import LanePolicy
from clearway.risk.scoring import BatchRisk, assess_batch
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.filings import WriteResult, write_batch

__all__ = [
    "ClassificationOptions",
    "DutyOptions",
    "IngestReport",
    "RiskOptions",
    "Stages",
    "ingest_files",
    "ingest_records",
    "stages_for",
]


@dataclass(slots=True)
class IngestReport:
    """Counts of one intake run, and where the rejections were written."""

    accepted: int = 0
    amended: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections_path: Path | None = None
    first_rejections: list[Rejection] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.accepted + self.amended + self.duplicate + self.rejected

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "accepted": self.accepted,
            "amended": self.amended,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejections": str(self.rejections_path) if self.rejections_path else None,
        }


def _batches(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class _RejectionLog:
    """Writes rejections as JSON Lines, opening the file only if one comes."""

    def __init__(self, path: Path | None, keep: int = 20) -> None:
        self.path = path
        self.keep = keep
        self.stream: IO[bytes] | None = None
        self.first: list[Rejection] = []

    def write(self, rejections: list[Rejection]) -> None:
        room = self.keep - len(self.first)
        if room > 0:
            self.first.extend(rejections[:room])
        if self.path is None or not rejections:
            return
        if self.stream is None:
            self.stream = self.path.open("wb")
        self.stream.write(b"".join(orjson.dumps(r.as_dict()) + b"\n" for r in rejections))
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def _count(
    report: IngestReport, result: WriteResult, rejections: list[Rejection], log: _RejectionLog
) -> None:
    # Rejections are logged only once the batch's accepted part is committed,
    # so the report never claims more than what the store holds.
    report.accepted += result.accepted
    report.amended += result.amended
    report.duplicate += result.duplicate
    report.rejected += len(rejections)
    log.write(rejections)


@dataclass(frozen=True, slots=True)
class DutyOptions:
    """Assess duty and tax on every accepted house, with this book."""

    book: DutyBook
    postal_method: str = "ad_valorem"


@dataclass(frozen=True, slots=True)
class ClassificationOptions:
    """Suggest HS codes for every item and weigh the declared code against
    them, with the model in ``model_file`` (the built-in one when absent)."""

    model_file: str | None = None


@dataclass(frozen=True, slots=True)
class RiskOptions:
    """Score every declaration and give it a lane: ``rules_file`` (None:
    built-in rules), the learned model in ``model_file`` when it fits
    declarations, and the red-lane capacity per batch."""

    rules_file: str | None = None
    model_file: str | None = None
    inspection_share: float = 0.05
    exploration_share: float = 0.10
    daily_capacity: int | None = None
    # (filer id, score discount, random-check factor) of trusted operators.
    operator_benefits: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Stages:
    """What happens to accepted filings besides storing them; each stage is
    off when None. Picklable: worker processes receive it."""

    duty: DutyOptions | None = None
    ledger: LedgerKeys | None = None
    screening_list: str | None = None
    classification: ClassificationOptions | None = None
    risk: RiskOptions | None = None


def stages_for(settings: Settings, engine: Engine | None = None) -> Stages:
    """Every stage, configured from settings: what ``clearway ingest`` runs.
    With ``engine``, the trusted operators' benefits are read from it."""
    from clearway.store.operators import operator_benefits

    return Stages(
        duty=DutyOptions(load_book(), settings.us_postal_duty_method),
        ledger=keys_for(settings),
        screening_list=settings.screening_sdn_file,
        classification=ClassificationOptions(settings.classifier_model_file),
        risk=RiskOptions(
            settings.risk_rules_file,
            settings.risk_model_file,
            settings.risk_inspection_share,
            settings.risk_exploration_share,
            settings.risk_daily_capacity,
            operator_benefits(engine) if engine is not None else (),
        ),
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    batch: PreparedBatch
    duty: DutyResult | None
    parties: PartyChecks | None
    classified: list[list[ItemClassification]] | None
    risk: BatchRisk | None = None


def _prepare(records: list[RawRecord], stages: Stages) -> _Prepared:
    """The pure stages of a batch: validation and shaping, party checks,
    classification, duty."""
    batch = prepare_batch(records)
    if not batch.houses:
        return _Prepared(batch, None, None, None, None)
    index = screening_index(stages.screening_list) if stages.screening_list else None
    parties = check_parties(batch.houses, index)
    duty = None
    if stages.duty is not None:
        rows = [(house.columns, house.items) for house in batch.houses]
        today = datetime.now(UTC).date()
        duty = assess(
            stages.duty.book, duty_input(rows, today), postal_method=stages.duty.postal_method
        )
    classified = None
    if stages.classification is not None:
        classifier = classifier_for(stages.classification.model_file)
        classified = check_houses(classifier, batch.houses)
    risk = None
    if stages.risk is not None:
        options = stages.risk
        policy = LanePolicy(
            capacity_share=options.inspection_share,
            exploration_share=options.exploration_share,
        )
        risk = assess_batch(
            batch.houses,
            datetime.now(UTC).date(),
            policy,
            rules_file=options.rules_file,
            model_file=options.model_file,
            daily_capacity=options.daily_capacity,
            operator_benefits=options.operator_benefits,
            classified=classified,
            parties=parties,
        )
    return _Prepared(batch, duty, parties, classified, risk)


def _write(engine: Engine, prepared: _Prepared, stages: Stages) -> WriteResult:
    return write_batch(
        engine,
        prepared.batch,
        duty=prepared.duty,
        ledger=stages.ledger,
        parties=prepared.parties,
        classified=prepared.classified,
        risk=prepared.risk,
    )


@dataclass(slots=True)
class _Turns:
    """Whose turn it is to write: batches commit in input order even though
    workers finish preparing them in any order."""

    turn: Synchronized[int]
    changed: Condition
    aborted: Synchronized[bool]


_engine: Engine | None = None
_turns: _Turns | None = None
_stages = Stages()


def _start_worker(
    url: str,
    turn: Synchronized[int],
    changed: Condition,
    aborted: Synchronized[bool],
    stages: Stages,
) -> None:
    global _engine, _turns, _stages  # noqa: PLW0603 - one engine per worker process
    _engine = open_engine(url, migrate=False)
    _turns = _Turns(turn, changed, aborted)
    _stages = stages


def _prepare_and_store(
    sequence: int, records: list[RawRecord]
) -> tuple[WriteResult, list[Rejection]]:
    """In a worker: validate a batch, wait for its turn, write it."""
    if _engine is None or _turns is None:
        raise RuntimeError("_prepare_and_store runs in workers started by _start_worker")
    prepared = _prepare(records, _stages)
    turns = _turns
    with turns.changed:
        while turns.turn.value != sequence:
            if turns.aborted.value:
                raise StoreError("intake stopped: an earlier batch failed")
            turns.changed.wait(timeout=1.0)
    try:
        result = _write(_engine, prepared, _stages)
    except BaseException:
        with turns.changed:
            turns.aborted.value = True
            turns.changed.notify_all()
        raise
    with turns.changed:
        turns.turn.value = sequence + 1
        turns.changed.notify_all()
    return result, prepared.batch.rejections


def ingest_records(
    engine: Engine,
    records: Iterable[RawRecord],
    *,
    batch_size: int = 2000,
    workers: int = 0,
    rejections_path: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
    stages: Stages | None = None,
) -> IngestReport:
    """Validate, store and run ``stages`` on ``records``; rejections go to
    ``rejections_path``.

    ``workers=0`` does everything in this process (small inputs, tests);
    otherwise that many worker processes each validate a batch and write it
    in turn, while this one only reads and counts.
    """
    report = IngestReport()
    log = _RejectionLog(rejections_path)
    run = stages or Stages()
    try:
        if workers <= 0:
            for raw in _batches(records, batch_size):
                prepared = _prepare(raw, run)
                written = _write(engine, prepared, run)
                _count(report, written, prepared.batch.rejections, log)
                if on_batch:
                    on_batch(len(raw))
        else:
            _ingest_in_workers(engine, records, batch_size, workers, report, log, on_batch, run)
    finally:
        log.close()
    report.first_rejections = log.first
    report.rejections_path = rejections_path if log.stream is not None else None
    return report


def _ingest_in_workers(
    engine: Engine,
    records: Iterable[RawRecord],
    batch_size: int,
    workers: int,
    report: IngestReport,
    log: _RejectionLog,
    on_batch: Callable[[int], None] | None,
    stages: Stages,
) -> None:
    context = multiprocessing.get_context("spawn")
    turn, aborted = context.Value("q", 0), context.Value("b", False)
    changed = context.Condition()
    url = engine.url.render_as_string(hide_password=False)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(url, turn, changed, aborted, stages),
    )
    in_flight: deque[tuple[Future[tuple[WriteResult, list[Rejection]]], int]] = deque()

    def settle() -> None:
        future, count = in_flight.popleft()
        result, rejections = future.result()
        _count(report, result, rejections, log)
        if on_batch:
            on_batch(count)

    try:
        for sequence, raw in enumerate(_batches(records, batch_size)):
            in_flight.append((pool.submit(_prepare_and_store, sequence, raw), len(raw)))
            if len(in_flight) >= 2 * workers:
                settle()
        while in_flight:
            settle()
    except BaseException:
        with changed:
            aborted.value = True
            changed.notify_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def ingest_files(
    engine: Engine,
    paths: list[Path],
    *,
    format_name: str | None = None,
    limits: IntakeLimits | None = None,
    batch_size: int = 2000,
    workers: int = 0,
    rejections_path: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
    stages: Stages | None = None,
) -> IngestReport:
    """Ingest files of any registered format (see :mod:`clearway.declarations.intake`)."""
    records = read_records(paths, limits or IntakeLimits(), format_name)
    return ingest_records(
        engine,
        records,
        batch_size=batch_size,
        workers=workers,
        rejections_path=rejections_path,
        on_batch=on_batch,
        stages=stages,
    )
