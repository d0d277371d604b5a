"""``clearway demo``'s week: filings sent as their filers send them, every
one decided by the sequencer before the figures are read."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import func, select

from clearway.cli.demo_week import MOST_PER_SUBMISSION, run_demo, submissions
from clearway.simulate import SimulationConfig, simulate
from clearway.store import open_engine
from clearway.store.schema import intake_queue
from tests.workspace_server import folder_settings


def test_each_filer_sends_its_filings_in_order_in_small_lists() -> None:
    lines = [orjson.dumps(doc) for doc, _ in simulate(SimulationConfig(days=2, per_day=150))]
    sent = list(submissions(lines, random.Random(3)))
    assert sorted(r.position for batch in sent for r in batch) == list(range(1, len(lines) + 1))
    sizes = Counter(len(batch) for batch in sent)
    assert min(sizes) >= 1
    assert max(sizes) <= MOST_PER_SUBMISSION
    assert len(sizes) > 10, "lists of many sizes"
    filed: dict[str, list[datetime]] = {}
    last_day = None
    for batch in sent:
        docs = [orjson.loads(r.payload) for r in batch]
        assert len({doc["filer"]["id"] for doc in docs}) == 1, "one filer per list"
        times = [datetime.fromisoformat(doc["filed_at"]) for doc in docs]
        filed.setdefault(docs[0]["filer"]["id"], []).extend(times)
        assert last_day is None or times[0].date() >= last_day, "a day after another"
        last_day = times[-1].date()
    for times in filed.values():
        assert times == sorted(times), "each filer's filings in filing-time order"


def test_the_week_is_decided_through_the_queue(tmp_path: Path) -> None:
    settings = folder_settings(tmp_path, risk_rules_file=None, sequencer_tick_size=64)
    seen: list[tuple[str, int, int]] = []
    week = run_demo(
        settings, days=1, per_day=120, seed=5, on_progress=lambda *args: seen.append(args)
    )
    filings = week.houses + week.masters
    assert week.intake.accepted == filings
    assert week.submissions > filings / MOST_PER_SUBMISSION
    assert week.store["declarations"] == week.houses
    assert sum(week.store["lanes"].values()) == week.houses
    with open_engine(settings.database_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(intake_queue)).scalar_one() == 0
    decided = [done for what, done, _ in seen if what == "decided"]
    assert decided == sorted(decided)
    assert decided[-1] == filings
    assert 0 < decided[len(decided) // 2] < filings, "decided while filers still send"
