"""Intake's admission: validated filings recognised as duplicates or
durably queued, for one request or for every request waiting at once.

A transaction per request cannot scale (each commit waits for its own
fsync, PERFORMANCE.md); the API's requests therefore hand their validated
filings to :class:`GroupCommit`, whose one thread admits everything waiting
in one duplicate check, one look at the queue's depth and one transaction,
and then acknowledges each request. Admitting a group gives every request
the answer it would have had alone, in arrival order: a filing queued by an
earlier request of the group is a duplicate for a later one, and the
queue's limit is counted request by request.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from clearway.clearance.ports import Intake, IntakeQueue, QueuedFiling
from clearway.declarations.batch import PreparedBatch, Rejection
from clearway.errors import ClearwayError, InputError, Overloaded

__all__ = ["Admission", "GroupCommit", "Receipt", "Submission", "admit"]

_log = logging.getLogger("clearway.clearance")


@dataclass(frozen=True, slots=True)
class Receipt:
    """One accepted filing: queued (``queue_id``) or a duplicate."""

    kind: str
    filer_id: str
    ref: str
    status: str
    queue_id: int | None = None


@dataclass(slots=True)
class Submission:
    receipts: list[Receipt] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def queued(self) -> list[int]:
        return [r.queue_id for r in self.receipts if r.queue_id is not None]


@dataclass(frozen=True, slots=True)
class Admission:
    """One request's validated filings, waiting to be admitted."""

    batch: PreparedBatch
    source: str = "api"
    request_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.batch.houses) + len(self.batch.masters)


def admit(
    store: IntakeQueue, queue_limit: int, requests: Sequence[Admission]
) -> list[Submission | ClearwayError]:
    """Admit ``requests`` in order, as if one after the other: each one's
    submission, or the error that refuses it whole (a list larger than the
    queue can hold, or a full queue). The look at the queue and the append
    are one transaction."""
    with store.intake() as intake:
        return _admit(intake, queue_limit, requests)


def _admit(
    store: Intake, queue_limit: int, requests: Sequence[Admission]
) -> list[Submission | ClearwayError]:
    filings = [
        [("house", h) for h in r.batch.houses] + [("master", m) for m in r.batch.masters]
        for r in requests
    ]
    known = store.known([(f.filer_id, f.ref, f.content_hash) for each in filings for _, f in each])
    now = datetime.now(UTC)
    seen: set[tuple[str, str, str]] = set()
    depth: int | None = None
    fresh: list[QueuedFiling] = []
    answers: list[Submission | ClearwayError] = []
    # Per admitted request: the kind and key of each filing it queues, in order.
    order: list[tuple[Submission, list[tuple[str, str, str, str]]]] = []
    for request, each in zip(requests, filings, strict=True):
        out = Submission(rejections=request.batch.rejections)
        mine: list[QueuedFiling] = []
        keys: list[tuple[str, str, str, str]] = []
        taken: set[tuple[str, str, str]] = set()
        for kind, filing in each:
            key = (filing.filer_id, filing.ref, filing.content_hash)
            if key in known or key in seen or key in taken:
                out.receipts.append(Receipt(kind, filing.filer_id, filing.ref, "duplicate"))
                continue
            taken.add(key)
            keys.append((kind, *key))
            document, source = filing.document, request.source
            mine.append(
                QueuedFiling(0, kind, *key, document, now, source, request_id=request.request_id)
            )
        if len(mine) > queue_limit:
            answers.append(
                InputError(
                    f"a list of {len(mine):,} new filings is more than the intake queue holds "
                    f"({queue_limit:,}): send smaller lists"
                )
            )
            continue
        if mine:
            if depth is None:
                depth = store.pending()
            if depth + len(mine) > queue_limit:
                answers.append(
                    Overloaded(
                        f"the intake queue holds {queue_limit:,} filings or more: retry shortly",
                        retry_after=2,
                    )
                )
                continue
            depth += len(mine)
        seen |= taken
        fresh.extend(mine)
        order.append((out, keys))
        answers.append(out)
    ids = iter(store.enqueue(fresh) if fresh else [])
    for out, keys in order:
        for kind, filer_id, ref, _ in keys:
            out.receipts.append(Receipt(kind, filer_id, ref, "queued", next(ids)))
    return answers


@dataclass(eq=False, slots=True)
class _Waiting:
    admission: Admission
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Submission]


def _settle(future: asyncio.Future[Submission], answer: Submission | BaseException) -> None:
    if future.done():
        return
    if isinstance(answer, BaseException):
        future.set_exception(answer)
    else:
        future.set_result(answer)


class GroupCommit:
    """One thread per process admits every waiting request's filings
    together (``admit`` of the group, then ``woken``); each request waits
    on its event loop, holding no thread, until its group is committed.
    A group takes at most ``group_filings`` filings (one request's list
    however long), so that one transaction stays bounded."""

    def __init__(
        self,
        admit_group: Callable[[list[Admission]], list[Submission | ClearwayError]],
        woken: Callable[[], None],
        group_filings: int = 4096,
    ) -> None:
        self.admit_group = admit_group
        self.woken = woken
        self.group_filings = group_filings
        # SimpleQueue.put never blocks: the event loop only hands over.
        self._waiting: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None

    async def submit(self, admission: Admission) -> Submission:
        """``admission``'s submission once durably queued (the acknowledgement)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Submission] = loop.create_future()
        self._waiting.put(_Waiting(admission, loop, future))
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="clearway-intake", daemon=True
                    )
                    self._thread.start()
        return await future

    def _run(self) -> None:
        carried: _Waiting | None = None
        while True:
            first = carried or self._waiting.get()
            carried = None
            group = [first]
            size = first.admission.size
            while True:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if size + more.admission.size > self.group_filings:
                    carried = more
                    break
                group.append(more)
                size += more.admission.size
            self._commit(group)

    def _commit(self, group: list[_Waiting]) -> None:
        answers: Sequence[Submission | BaseException]
        try:
            answers = self.admit_group([w.admission for w in group])
        except Exception as exc:
            # The store failed: every request of the group is answered with
            # the error (none of them was queued), the thread goes on.
            _log.exception("admitting %d requests' filings failed", len(group))
            answers = [exc] * len(group)
        if any(isinstance(a, Submission) and a.queued for a in answers):
            self.woken()
        for waiting, answer in zip(group, answers, strict=True):
            try:
                waiting.loop.call_soon_threadsafe(_settle, waiting.future, answer)
            except RuntimeError:
                # Its event loop has closed: nobody waits for this answer.
                continue
