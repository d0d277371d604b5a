"""The one service for new filings: CLI, API, workspace and demo call it.

- :meth:`ClearanceService.submit`: intake. Decode and validate, recognise
  duplicates by (filer, reference, content), append durably to the intake
  queue; the receipt is the acknowledgement. A full queue refuses
  (:class:`~clearway.errors.Overloaded`) instead of growing.
- :meth:`ClearanceService.run_once` / :meth:`start`: the sequencer loop
  (claim a tick from the queue, run the pure stages, decide, write).
- :meth:`ClearanceService.ingest_records`: a file or stream read here; pure
  stages in worker processes, decided by the same sequencer, in input order.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from clearway.clearance.admission import Admission, GroupCommit, Receipt, Submission, admit
from clearway.clearance.ports import ClearanceStore, IntakeQueue
from clearway.clearance.sequencer import Decided, Sequencer, TickResult
from clearway.clearance.stages import Staged, Stages, run_stages, warm_up
from clearway.clearance.telemetry import record_tick
from clearway.declarations.batch import Rejection, prepare_batch
from clearway.declarations.intake import IntakeLimits, RawRecord, read_records
from clearway.reference import is_country, is_currency, is_hs_subheading

__all__ = ["ClearanceService", "IngestReport", "Receipt", "Submission"]

_log = logging.getLogger("clearway.clearance")


class _Store(ClearanceStore, IntakeQueue, Protocol):
    def try_lead(self) -> bool: ...
    def resign(self) -> None: ...
    def notify(self) -> None: ...
    def wait_for_filings(self, timeout: float) -> None: ...


@dataclass(slots=True)
class IngestReport:
    """Counts of one intake run, and where the rejections were written."""

    accepted: int = 0
    amended: int = 0
    duplicate: int = 0
    rejected: int = 0
    raised: int = 0
    rejections_path: Path | None = None
    first_rejections: list[Rejection] = field(default_factory=list)
    decided: list[Decided] = field(default_factory=list)

    @property
    def read(self) -> int:
        return self.accepted + self.amended + self.duplicate + self.rejected

    def add(self, result: TickResult) -> None:
        self.accepted += result.counts.accepted
        self.amended += result.counts.amended
        self.duplicate += result.counts.duplicate
        self.raised += result.raised

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "accepted": self.accepted,
            "amended": self.amended,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejections": str(self.rejections_path) if self.rejections_path else None,
        }


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


def _batches(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


_stages = Stages()


@dataclass(eq=False, slots=True)
class _Waiter:
    left: set[int]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]


def _resolve(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(True)


def _start_worker(stages: bytes) -> None:
    global _stages  # noqa: PLW0603 - one configuration per worker process
    # Pickled by the parent: the worker unpickles (imports, lists) on its
    # own, while the parent starts the next worker; as an argument, the
    # parent's write of it would wait until the worker had done so.
    _stages = pickle.loads(stages)  # noqa: S301 - the parent's own configuration


def _prepare_and_stage(records: list[RawRecord]) -> Staged:
    """In a worker: validation, then the pure stages."""
    return run_stages(prepare_batch(records, _stages.window), _stages)


class ClearanceService:
    """New filings for one store; one per process."""

    def __init__(
        self,
        store: _Store,
        stages: Stages,
        *,
        queue_limit: int = 20_000,
        tick_size: int = 256,
        tick_seconds: float = 0.05,
        refresh: Callable[[], Stages] | None = None,
        refresh_seconds: float = 30.0,
    ) -> None:
        self.store = store
        self.stages = stages
        self.queue_limit = queue_limit
        self.tick_size = tick_size
        # How long the idle loop waits before looking at the queue again:
        # filings queued by another process of the server do not wake it.
        self.tick_seconds = tick_seconds
        self.sequencer = Sequencer(store, stages)
        # Operator tiers change in the store, maybe in another process:
        # the sequencer loop re-reads them every ``refresh_seconds``.
        self.refresh = refresh
        self.refresh_seconds = refresh_seconds
        self._refreshed = time.monotonic()
        self._serial = threading.Lock()
        self._ticked = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiters: list[_Waiter] = []
        self._waiting_lock = threading.Lock()
        self._poke = threading.Event()
        self._poller: threading.Thread | None = None
        self._group = GroupCommit(
            lambda group: admit(self.store, self.queue_limit, group), self.store.notify
        )

    def reconfigure(self, stages: Stages) -> None:
        """New stages (operator tiers changed); the next tick uses them."""
        with self._serial:
            self.stages = stages
            self.sequencer.stages = stages

    @property
    def running(self) -> bool:
        return self._thread is not None

    # -- intake --------------------------------------------------------------

    def prepare(
        self, records: list[RawRecord], *, source: str = "api", request_id: str | None = None
    ) -> Admission:
        """Validate ``records`` (CPU work, for a thread): what :meth:`submit`
        or :meth:`acknowledge` then admits."""
        return Admission(prepare_batch(records, self.stages.window), source, request_id)

    def submit(
        self, records: list[RawRecord], *, source: str = "api", request_id: str | None = None
    ) -> Submission:
        """Validate and queue ``records``; duplicates of queued or stored
        filings are recognised here, before any stage runs."""
        (answer,) = admit(
            self.store,
            self.queue_limit,
            [self.prepare(records, source=source, request_id=request_id)],
        )
        if isinstance(answer, Exception):
            raise answer
        if answer.queued:
            self.store.notify()
        return answer

    @staticmethod
    def warm_intake() -> None:
        """Load the reference lists intake validates against (HS
        nomenclature, countries, currencies), so that a worker's first
        requests do not wait for them."""
        is_hs_subheading("010121")
        is_country("FR")
        is_currency("EUR")

    async def acknowledge(self, admission: Admission) -> Submission:
        """Queue validated filings together with every other request's
        waiting now (one transaction for the group: group commit); returns
        once they are durably queued, holding no thread meanwhile."""
        return await self._group.submit(admission)

    async def until_decided(self, queue_ids: list[int], timeout: float) -> bool:
        """Wait on the event loop, holding no thread, until every one of
        ``queue_ids`` is decided (True) or ``timeout`` seconds pass (False).
        One poller thread per process asks the store about every waiter's
        filings in one query per round, however many requests wait."""
        if not queue_ids:
            return True
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        waiter = _Waiter(set(queue_ids), loop, future)
        with self._waiting_lock:
            self._waiters.append(waiter)
            if self._poller is None:
                self._poller = threading.Thread(
                    target=self._poll, name="clearway-waiters", daemon=True
                )
                self._poller.start()
        self._poke.set()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return False
        finally:
            with self._waiting_lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _poll(self) -> None:
        try:
            self._polling()
        finally:
            with self._waiting_lock:
                self._poller = None

    def _polling(self) -> None:
        while not self._stop.is_set():
            with self._waiting_lock:
                waiters = list(self._waiters)
            if not waiters:
                self._poke.wait(1.0)
                self._poke.clear()
                continue
            wanted = sorted(set().union(*(w.left for w in waiters)))
            try:
                still = self.store.waiting(wanted)
            except Exception:
                _log.exception("asking the queue which filings are decided failed")
                still = set(wanted)
            for waiter in waiters:
                waiter.left &= still
                if not waiter.left:
                    waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
            with self._ticked:
                self._ticked.wait(0.01)

    # -- the sequencer loop --------------------------------------------------

    def run_once(self, limit: int | None = None) -> TickResult | None:
        """Decide up to ``limit`` queued filings (one tick); None when the
        queue was empty. The pure stages run before the tick's transaction
        opens, so the store's write lock (SQLite's, for intake too) is held
        only while the tick plans, decides and writes."""
        with self._serial:
            peeked = self.store.peek(limit or self.tick_size)
            if not peeked:
                return None
            started = time.perf_counter()
            records = [
                RawRecord(f"queue:{f.source}", f.queue_id, f.document.encode()) for f in peeked
            ]
            staged = run_stages(prepare_batch(records), self.stages)
            ids = [f.queue_id for f in peeked]
            with self.store.tick() as tick:
                if tick.claim(ids) != set(ids):
                    # Another sequencer took some of them meanwhile: nothing
                    # is decided twice; what is left is staged again.
                    return TickResult()
                result = self.sequencer.process(
                    staged, min(f.received_at for f in peeked), claimed=ids, tick=tick
                )
            record_tick(peeked, result, started)
        with self._ticked:
            self._ticked.notify_all()
        return result

    def drain(self) -> int:
        """Decide everything queued; the number of ticks."""
        ticks = 0
        while self.run_once() is not None:
            ticks += 1
        return ticks

    def start(self) -> None:
        """Run the sequencer loop in a thread of this process, if this
        process can lead it (one per store)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="clearway-sequencer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.store.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.store.resign()

    def _maybe_refresh(self) -> None:
        """Re-read what the stages take from the store (operator tiers) now
        and then: another process of the server may have changed it."""
        if self.refresh is None or time.monotonic() - self._refreshed < self.refresh_seconds:
            return
        self._refreshed = time.monotonic()
        try:
            self.reconfigure(self.refresh())
        except Exception:
            _log.exception("refreshing the stages failed; keeping the current ones")

    def _loop(self) -> None:
        warm = False
        while not self._stop.is_set():
            if not self.store.try_lead():
                self._stop.wait(1.0)
                continue
            if not warm:
                # Only the leading process loads the stages' files: in the
                # others that CPU (seconds, for the classifier) and memory
                # would be spent on stages they never run.
                warm = True
                try:
                    warm_up(self.stages)
                except Exception:
                    _log.exception("loading the stages failed; ticks will report it")
            self._maybe_refresh()
            try:
                done = self.run_once()
            except Exception:
                # The loop outlives one bad tick: the filings stay queued and
                # are retried; the error is logged for the operator.
                _log.exception("sequencer tick failed; retrying")
                self._stop.wait(0.5)
                continue
            if done is None:
                self.store.wait_for_filings(self.tick_seconds)

    # -- files and streams read in this process ------------------------------

    def ingest_records(
        self,
        records: Iterable[RawRecord],
        *,
        batch_size: int = 2000,
        workers: int = 0,
        rejections_path: Path | None = None,
        on_batch: Callable[[int], None] | None = None,
        keep_decided: bool = False,
    ) -> IngestReport:
        """Validate, stage and decide ``records`` in input order; rejections
        go to ``rejections_path``. ``workers`` processes run validation and
        the pure stages (0: this process); this one sequences."""
        report = IngestReport()
        log = _RejectionLog(rejections_path)

        def settle(staged: Staged, count: int) -> None:
            result = self.sequencer.process(staged, datetime.now(UTC))
            report.add(result)
            if keep_decided:
                report.decided.extend(result.decided)
            # Rejections are logged once the batch's accepted part is
            # committed: the report never claims more than the store holds.
            report.rejected += len(staged.batch.rejections)
            log.write(staged.batch.rejections)
            if on_batch:
                on_batch(count)

        try:
            with self._serial:
                if workers <= 0:
                    for raw in _batches(records, batch_size):
                        settle(
                            run_stages(prepare_batch(raw, self.stages.window), self.stages),
                            len(raw),
                        )
                else:
                    self._in_workers(records, batch_size, workers, settle)
        finally:
            log.close()
        report.first_rejections = log.first
        report.rejections_path = rejections_path if log.stream is not None else None
        return report

    def _in_workers(
        self,
        records: Iterable[RawRecord],
        batch_size: int,
        workers: int,
        settle: Callable[[Staged, int], None],
    ) -> None:
        context = multiprocessing.get_context("spawn")
        in_flight: deque[tuple[Future[Staged], int]] = deque()
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(pickle.dumps(self.stages, pickle.HIGHEST_PROTOCOL),),
        ) as pool:
            try:
                for raw in _batches(records, batch_size):
                    in_flight.append((pool.submit(_prepare_and_stage, raw), len(raw)))
                    if len(in_flight) >= 2 * workers:
                        future, count = in_flight.popleft()
                        settle(future.result(), count)
                while in_flight:
                    future, count = in_flight.popleft()
                    settle(future.result(), count)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def ingest_files(
        self,
        paths: list[Path],
        *,
        format_name: str | None = None,
        limits: IntakeLimits | None = None,
        **options: Any,
    ) -> IngestReport:
        """Ingest files of any registered format (see :mod:`clearway.declarations.intake`)."""
        records = read_records(paths, limits or IntakeLimits(), format_name)
        return self.ingest_records(records, **options)
