"""Intake's group commit (issue 16): the requests admitted together get
exactly the answers they would have had one after the other (duplicates
across requests, the queue's limit counted request by request), and
concurrent requests of the API share transactions."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from clearway.clearance import Admission, Submission
from clearway.clearance.admission import GroupCommit, admit
from clearway.declarations.batch import prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.errors import ClearwayError
from clearway.simulate import SimulationConfig, simulate
from clearway.store import open_engine
from clearway.store.clearance import SqlClearanceStore
from clearway.store.schema import intake_queue

_DOCUMENTS: list[dict[str, Any]] = [
    filing
    for filing, truth in simulate(SimulationConfig(days=1, per_day=12, seed=11))
    if truth is not None
][:8]


def _admission(picks: list[tuple[int, bool]], request_id: str) -> Admission:
    """A request of the documents picked (by index; True: with another
    seller name, a new version with other content under the same reference)."""
    records = []
    for position, (index, changed) in enumerate(picks, start=1):
        document = dict(_DOCUMENTS[index])
        if changed:
            document["seller"] = {**document["seller"], "name": "Another Seller Ltd"}
        records.append(RawRecord("api", position, orjson.dumps(document)))
    return Admission(prepare_batch(records), "api", request_id)


def _answer(answer: Submission | ClearwayError) -> Any:
    if isinstance(answer, ClearwayError):
        return (type(answer).__name__, str(answer))
    return [(r.kind, r.filer_id, r.ref, r.status) for r in answer.receipts]


def _queued(engine: Engine) -> list[tuple[str, str, str, str | None]]:
    q = intake_queue.c
    with engine.connect() as conn:
        rows = conn.execute(select(q.filer_id, q.ref, q.content_hash, q.request_id).order_by(q.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


_REQUESTS = st.lists(
    st.lists(st.tuples(st.integers(0, 7), st.booleans()), min_size=0, max_size=5),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requests=_REQUESTS, limit=st.integers(1, 12), earlier=st.integers(0, 3))
def test_a_group_is_answered_as_its_requests_one_by_one(
    tmp_path_factory: pytest.TempPathFactory,
    requests: list[list[tuple[int, bool]]],
    limit: int,
    earlier: int,
) -> None:
    folder = tmp_path_factory.mktemp("group")
    stores = []
    for name in ("alone", "group"):
        engine = open_engine(f"sqlite:///{folder / name}.db")
        store = SqlClearanceStore(engine)
        # Some filings are queued already: duplicates of them, and the
        # queue's depth, count from the start.
        admit(store, 100, [_admission([(i, False) for i in range(earlier)], "before")])
        stores.append((engine, store))
    admissions = [_admission(picks, f"r{n}") for n, picks in enumerate(requests)]
    (alone_engine, alone), (group_engine, group) = stores
    one_by_one = [admit(alone, limit + earlier, [a])[0] for a in admissions]
    together = admit(group, limit + earlier, admissions)
    assert [_answer(a) for a in together] == [_answer(a) for a in one_by_one]
    assert _queued(group_engine) == _queued(alone_engine)
    # Queue ids are the store's, in arrival order.
    ids = [i for a in together if isinstance(a, Submission) for i in a.queued]
    assert ids == sorted(ids)
    for engine, _ in stores:
        engine.dispose()


def test_concurrent_requests_share_a_transaction(tmp_path: Path) -> None:
    """While one group's transaction runs, the requests arriving meanwhile
    wait and are then admitted together, each answered as alone."""
    engine = open_engine(f"sqlite:///{tmp_path / 'clearway.db'}")
    store = SqlClearanceStore(engine)
    groups: list[list[str | None]] = []
    first_running = threading.Event()
    all_waiting = threading.Event()
    woken: list[int] = []

    def admit_group(group: list[Admission]) -> list[Submission | ClearwayError]:
        groups.append([a.request_id for a in group])
        if len(groups) == 1:
            first_running.set()
            assert all_waiting.wait(10)
        return admit(store, 100, group)

    commit = GroupCommit(admit_group, lambda: woken.append(1))

    async def run() -> list[Submission | BaseException]:
        first = asyncio.create_task(commit.submit(_admission([(0, False)], "a")))
        while not first_running.is_set():
            await asyncio.sleep(0.001)
        others = [
            asyncio.create_task(commit.submit(_admission([(i, False), (0, False)], f"b{i}")))
            for i in range(1, 6)
        ]
        await asyncio.sleep(0.05)
        all_waiting.set()
        return await asyncio.gather(first, *others, return_exceptions=True)

    answers = asyncio.run(run())
    assert groups == [["a"], ["b1", "b2", "b3", "b4", "b5"]]
    assert woken == [1, 1]
    key = [(d["filer"]["id"], d["declaration_id"]) for d in _DOCUMENTS]
    assert [_answer(a) for a in answers if isinstance(a, Submission)] == [
        [("house", *key[0], "queued")],
        *([("house", *key[0], "duplicate"), ("house", *key[i], "queued")] for i in range(1, 6)),
    ]
    assert [row[3] for row in _queued(engine)] == ["a", "b1", "b2", "b3", "b4", "b5"]
    engine.dispose()


def test_a_failed_group_answers_each_request_with_the_error(tmp_path: Path) -> None:
    def admit_group(group: list[Admission]) -> list[Submission | ClearwayError]:
        raise OSError("the store is gone")

    commit = GroupCommit(admit_group, lambda: None)

    async def run() -> list[Submission | BaseException]:
        return await asyncio.gather(
            commit.submit(_admission([(0, False)], "a")),
            commit.submit(_admission([(1, False)], "b")),
            return_exceptions=True,
        )

    answers = asyncio.run(run())
    assert [repr(a) for a in answers] == [repr(OSError("the store is gone"))] * 2
