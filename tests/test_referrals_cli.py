"""Referrals from the command line: the scheduled escalation and the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from clearway.store import open_engine
from clearway.store.reading import get_declaration
from clearway.store.referrals import open_referral
from tests import factories as f
from tests.test_cli import clearway


def test_overdue_referrals_escalate_and_are_listed(tmp_path: Path, sqlite_url: str) -> None:
    doc = f.declaration()
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    assert clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url).returncode == 0
    engine = open_engine(sqlite_url)
    row = get_declaration(engine, doc["declaration_id"]).row_id
    past = datetime.now(UTC) - timedelta(hours=2)
    late = open_referral(
        engine, row, "rfi", "Send the invoice", "officer", timedelta(hours=1), past
    )
    fresh = open_referral(
        engine, row, "hold", "Hold", "officer", timedelta(hours=1), datetime.now(UTC)
    )
    done = clearway("referrals", "escalate", cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout.strip().splitlines()[-1]) == {"escalated": [late["id"]]}
    listed = clearway("referrals", "list", "--json", cwd=tmp_path, url=sqlite_url)
    states = {r["id"]: r["state"] for r in orjson.loads(listed.stdout)}
    assert states == {late["id"]: "escalated", fresh["id"]: "open"}
    shown = clearway("show", doc["declaration_id"], "--json", cwd=tmp_path, url=sqlite_url)
    assert "unanswered by its deadline" in orjson.loads(shown.stdout)["risk"]["reasons"][-1]
