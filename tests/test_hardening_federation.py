"""Issue 17, the federation share: referral transitions and operator
registration under concurrent callers (real threads, separate connections,
SQLite and PostgreSQL), declarations addressed without naming filers
outside the caller's scope, inbox replays, the analysts' referral list,
master references and the queue's rule filter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, func, select

from clearway.clearance import Stages
from clearway.errors import ClearwayError, Conflict
from clearway.ledger.keys import LedgerKeys, load_or_create_keys
from clearway.store.operators import list_operators, register_operator
from clearway.store.reading import get_declaration
from clearway.store.referrals import escalate_overdue, move_referral, open_referral
from clearway.store.schema import ledger_entries, operator_tier_history, referrals, risk_decisions
from clearway.wiring import ingest_files
from tests import factories as f

T = TypeVar("T")
CALLERS = 8


def _at_once(call: Callable[[], T], n: int = CALLERS) -> tuple[list[T], list[BaseException]]:
    """Run ``call`` in ``n`` threads released together by a barrier; each
    thread's store calls take their own pooled connection."""
    barrier = threading.Barrier(n)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            value = call()
        except BaseException as exc:  # collected and asserted on
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def _events(engine: Engine, event_type: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(ledger_entries.c.event_type == event_type)
            ).scalar_one()
        )


def _lanes(engine: Engine, rows: list[int]) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(risk_decisions.c.declaration_id, risk_decisions.c.lane).where(
                    risk_decisions.c.declaration_id.in_(rows)
                )
            ).all()
        )


@pytest.fixture
def keys(tmp_path: Path) -> LedgerKeys:
    return load_or_create_keys(tmp_path / "ledger.key", "customs.example/log")


def _ingest(engine: Engine, tmp_path: Path, keys: LedgerKeys, docs: list[dict[str, Any]]) -> None:
    path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_bytes(f.jsonl(*docs))
    ingest_files(engine, [path], stages=Stages(ledger=keys))


def _referrals(
    engine: Engine, tmp_path: Path, keys: LedgerKeys, count: int, *, overdue: bool
) -> list[dict[str, Any]]:
    docs = [f.declaration() for _ in range(count)]
    _ingest(engine, tmp_path, keys, docs)
    start = datetime.now(UTC) - (timedelta(hours=2) if overdue else timedelta(0))
    return [
        open_referral(
            engine,
            get_declaration(engine, d["declaration_id"], "mkt-1").row_id,
            "rfi",
            "Send the invoice",
            "officer",
            timedelta(hours=1),
            start,
            keys=keys,
        )
        for d in docs
    ]


# --- Item 4: referral races -------------------------------------------------


def test_concurrent_escalations_escalate_each_referral_once(
    engine: Engine, tmp_path: Path, keys: LedgerKeys
) -> None:
    opened = _referrals(engine, tmp_path, keys, 9, overdue=True)
    rows = [r["declaration_id"] for r in opened]
    before = _lanes(engine, rows)
    up = {"green": "yellow", "yellow": "red", "red": "red", "black": "black"}
    results, errors = _at_once(lambda: escalate_overdue(engine, datetime.now(UTC), keys=keys))
    assert errors == []
    escalated = sorted(r["id"] for batch in results for r in batch)
    assert escalated == sorted(r["id"] for r in opened), "each referral by exactly one caller"
    assert _events(engine, "referral.escalated") == 9
    assert _lanes(engine, rows) == {row: up[lane] for row, lane in before.items()}
    with engine.connect() as conn:
        states = set(conn.execute(select(referrals.c.state)).scalars())
    assert states == {"escalated"}
    # A second round finds nothing left to escalate.
    assert escalate_overdue(engine, datetime.now(UTC), keys=keys) == []


def test_concurrent_answers_answer_once(engine: Engine, tmp_path: Path, keys: LedgerKeys) -> None:
    (referral,) = _referrals(engine, tmp_path, keys, 1, overdue=False)
    counter = iter(range(CALLERS))

    def answer() -> dict[str, Any]:
        text = f"answer {next(counter)}"
        return move_referral(
            engine,
            referral["id"],
            "answer",
            text,
            datetime.now(UTC),
            addressed_to="mkt-1",
            keys=keys,
        )

    results, errors = _at_once(answer)
    assert len(results) == 1
    assert len(errors) == CALLERS - 1
    assert {type(e) for e in errors} == {Conflict}
    assert {str(e) for e in errors} == {"a referral that is answered cannot be answered"}
    assert {e.as_json()["status"] for e in errors if isinstance(e, ClearwayError)} == {409}
    assert _events(engine, "referral.answered") == 1
    with engine.connect() as conn:
        stored = conn.execute(select(referrals.c.state, referrals.c.response)).one()
    assert tuple(stored) == ("answered", results[0]["response"])


def test_answer_racing_close_never_reopens_a_closed_referral(
    engine: Engine, tmp_path: Path, keys: LedgerKeys
) -> None:
    opened = _referrals(engine, tmp_path, keys, 6, overdue=False)
    ids = iter(range(2 * len(opened)))

    def one() -> str:
        n = next(ids)
        referral = opened[n // 2]["id"]
        if n % 2:
            move_referral(engine, referral, "close", "done", datetime.now(UTC), keys=keys)
            return "close"
        move_referral(
            engine, referral, "answer", "here", datetime.now(UTC), addressed_to="mkt-1", keys=keys
        )
        return "answer"

    results, errors = _at_once(one, 2 * len(opened))
    with engine.connect() as conn:
        states = dict(conn.execute(select(referrals.c.id, referrals.c.state)).all())
    # Whichever came first, a referral ends closed: a close after an answer
    # closes it, an answer after a close is refused.
    assert set(states.values()) == {"closed"}
    assert _events(engine, "referral.closed") == len(opened)
    # Every close went through; each answer either came first or was refused.
    assert results.count("close") == len(opened)
    assert results.count("answer") == _events(engine, "referral.answered")
    assert {str(e) for e in errors} <= {"a referral that is closed cannot be answered"}
    assert len(errors) + results.count("answer") == len(opened)
    with pytest.raises(Conflict, match="a referral that is closed cannot be answered"):
        move_referral(
            engine, opened[0]["id"], "answer", "late", datetime.now(UTC), addressed_to="mkt-1"
        )


def test_concurrent_registrations_of_one_operator(engine: Engine) -> None:
    now = datetime.now(UTC)
    results, errors = _at_once(
        lambda: register_operator(engine, "mkt-9", "Shopzilla", "marketplace", now)
    )
    assert len(results) == 1
    assert [type(e) for e in errors] == [Conflict] * (CALLERS - 1)
    assert {str(e) for e in errors} == {"operator 'mkt-9' is already registered"}
    assert [r["filer_id"] for r in list_operators(engine)] == ["mkt-9"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(operator_tier_history)).scalar() == 1
