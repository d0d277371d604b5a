"""The path every filing takes: read, validate, score, store, report.

Reading and writing happen in the calling process; validation and shaping
(:func:`clearway.declarations.batch.prepare_batch`) run in worker processes
on batches. At most ``2 x workers`` batches are in flight, so memory stays
bounded whatever the input size, and batches are written in input order so
an amendment later in a file always lands after its original.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO

import orjson
from sqlalchemy import Engine

from clearway.declarations.batch import PreparedBatch, Rejection, prepare_batch
from clearway.declarations.intake import IntakeLimits, RawRecord, read_records
from clearway.store.filings import WriteResult, write_batch

__all__ = ["IngestReport", "ingest_files", "ingest_records"]


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


def _store(engine: Engine, batch: PreparedBatch, report: IngestReport, log: _RejectionLog) -> None:
    # Rejections are logged only once the batch's accepted part is committed,
    # so the report never claims more than what the store holds.
    result: WriteResult = write_batch(engine, batch)
    report.accepted += result.accepted
    report.amended += result.amended
    report.duplicate += result.duplicate
    report.rejected += len(batch.rejections)
    log.write(batch.rejections)


def ingest_records(
    engine: Engine,
    records: Iterable[RawRecord],
    *,
    batch_size: int = 2000,
    workers: int = 0,
    rejections_path: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> IngestReport:
    """Validate and store ``records``; rejections go to ``rejections_path``.

    ``workers=0`` validates in this process (small inputs, tests); otherwise
    that many worker processes validate while this one reads and writes.
    """
    report = IngestReport()
    log = _RejectionLog(rejections_path)
    try:
        if workers <= 0:
            for raw in _batches(records, batch_size):
                _store(engine, prepare_batch(raw), report, log)
                if on_batch:
                    on_batch(len(raw))
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                in_flight: deque[tuple[Future[PreparedBatch], int]] = deque()
                for raw in _batches(records, batch_size):
                    in_flight.append((pool.submit(prepare_batch, raw), len(raw)))
                    if len(in_flight) >= 2 * workers:
                        future, count = in_flight.popleft()
                        _store(engine, future.result(), report, log)
                        if on_batch:
                            on_batch(count)
                while in_flight:
                    future, count = in_flight.popleft()
                    _store(engine, future.result(), report, log)
                    if on_batch:
                        on_batch(count)
    finally:
        log.close()
    report.first_rejections = log.first
    report.rejections_path = rejections_path if log.stream is not None else None
    return report


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
    )
