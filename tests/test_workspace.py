"""The officer workspace without a browser: sessions, CSRF, roles, the
queue's filters, rules activated only after a backtest, the trends on
SQLite and PostgreSQL, and the standalone report."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from clearway.analytics import add_outcomes, anomalies, pivot_days
from clearway.api import create_app
from clearway.clearance import Stages
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.queue import QueueFilter, read_queue
from clearway.store.rollup import rebuild_trends
from clearway.store.schema import officer_decisions, trend_days
from clearway.store.trends import read_trends
from clearway.web.accounts import add_user
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway
from tests.workspace_server import simulated_settings


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return simulated_settings(tmp_path_factory.mktemp("simulated"))


@pytest.fixture
def client(simulated: Settings) -> TestClient:
    engine = open_engine(simulated.database_url)
    return TestClient(create_app(simulated, engine=engine))


def _signin_form(client: TestClient) -> str:
    """The sign-in form's token (its cookie now in ``client``)."""
    page = client.get("/signin")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def _sign_in(client: TestClient, username: str, role: str = "customs_officer") -> str:
    engine = open_engine(client.app.state.context.settings.database_url)  # type: ignore[attr-defined]
    password = add_user(engine, username, username.title(), role, datetime.now(UTC))
    answer = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf": _signin_form(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    page = client.get("/queue")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def _first_declaration(client: TestClient) -> str:
    page = client.get("/queue")
    link = re.search(r'href="(/declarations/[^"]+)"', page.text)
    assert link, "the red queue has declarations"
    return html.unescape(link.group(1))


def test_pages_need_a_session_and_bad_passwords_are_refused(client: TestClient) -> None:
    for path in ("/queue", "/dashboard", "/operators", "/rules", "/dashboard/lanes.csv"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin?next=")
    wrong = client.post(
        "/signin",
        data={"username": "nobody", "password": "whatever1", "csrf": _signin_form(client)},
        follow_redirects=False,
    )
    assert wrong.headers["location"].startswith("/signin?")
    assert "failed=true" in wrong.headers["location"]
    # Only local targets after sign-in.
    add_user(
        open_engine(client.app.state.context.settings.database_url),  # type: ignore[attr-defined]
        "redirected",
        "R",
        "customs_officer",
        datetime.now(UTC),
        password="long enough password",
    )
    away = client.post(
        "/signin",
        data={
            "username": "redirected",
            "password": "long enough password",
            "next": "//evil.example",
            "csrf": _signin_form(client),
        },
        follow_redirects=False,
    )
    assert away.headers["location"] == "/queue"


def test_decisions_need_the_csrf_token_and_an_officer(
    client: TestClient, simulated: Settings
) -> None:
    engine = open_engine(simulated.database_url)
    csrf = _sign_in(client, "analyst-ann", "customs_analyst")
    page = _first_declaration(client)
    ref, query = page.split("?")
    action = f"{ref}/actions?{query}"
    before = len(engine.connect().execute(select(officer_decisions)).all())
    refused = client.post(action, data={"csrf": csrf, "action": "release", "note": "looks fine"})
    assert refused.status_code == 403
    assert "may read but not decide" in refused.text
    client.cookies.clear()
    csrf = _sign_in(client, "officer-olga")
    forged = client.post(action, data={"csrf": "0" * 32, "action": "release", "note": "x"})
    assert forged.status_code == 403
    with engine.connect() as conn:
        assert len(conn.execute(select(officer_decisions)).all()) == before
    # A NUL in a form field is refused before the store (PostgreSQL could
    # not keep it): 400 naming the field, nothing recorded.
    nul = client.post(action, data={"csrf": csrf, "action": "release", "note": "ok\x00"})
    assert nul.status_code == 400
    assert "note: must not contain the NUL character" in nul.text
    with engine.connect() as conn:
        assert len(conn.execute(select(officer_decisions)).all()) == before
    done = client.post(
        action, data={"csrf": csrf, "action": "release", "note": "documents checked"}
    )
    assert done.status_code == 200
    assert "release recorded" in done.text
    with engine.connect() as conn:
        last = conn.execute(
            select(officer_decisions).order_by(officer_decisions.c.id.desc())
        ).first()
    assert last is not None
    assert (last.officer, last.action, last.lane) == ("officer-olga", "release", "green")
    assert "documents checked" in done.text


def test_queue_filters_sort_and_pages(simulated: Settings) -> None:
    engine = open_engine(simulated.database_url)
    everything, total = read_queue(engine, QueueFilter(lane=None), limit=10_000, count=True)
    assert total == len(everything) > 100
    rule = next(r for row in everything for r in row["rules"])
    hits, _ = read_queue(engine, QueueFilter(lane=None, rule=rule), limit=10_000)
    assert hits
    assert all(rule in row["rules"] for row in hits)
    assert len(hits) == sum(rule in row["rules"] for row in everything)
    carrier = next(row["carrier"] for row in everything if row["carrier"])
    carried, _ = read_queue(engine, QueueFilter(lane=None, carrier=carrier), limit=10_000)
    assert carried
    assert {row["carrier"] for row in carried} == {carrier}
    first, _ = read_queue(engine, QueueFilter(lane=None), limit=20)
    second, _ = read_queue(engine, QueueFilter(lane=None), offset=20, limit=20)
    assert not {r["declaration_id"] for r in first} & {r["declaration_id"] for r in second}
    scores = [r["score"] for r in first + second]
    assert scores == sorted(scores, reverse=True)
    by_value, _ = read_queue(engine, QueueFilter(lane=None), sort="-value", limit=50)
    values = [r["total_value"] for r in by_value]
    assert values == sorted(values)


def test_rules_are_backtested_before_activation(client: TestClient, simulated: Settings) -> None:
    csrf = _sign_in(client, "officer-rita")
    page = client.get("/rules")
    text = html.unescape(
        re.search(r'name="rules"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)  # type: ignore[union-attr]
    )
    edited = text.replace("version: 1", "version: 2", 1)
    untested = client.post("/rules", data={"csrf": csrf, "rules": edited, "action": "activate"})
    assert "backtest these rules before activating them" in untested.text
    broken = client.post(
        "/rules",
        data={
            "csrf": csrf,
            "rules": edited.replace("weight: 0.9", "weight: 9"),
            "action": "backtest",
        },
    )
    assert 'class="error"' in broken.text
    assert "weight" in broken.text
    tested = client.post("/rules", data={"csrf": csrf, "rules": edited, "action": "backtest"})
    assert 'id="backtest"' in tested.text
    digest = re.search(r'name="tested" value="([^"]+)"', tested.text).group(1)  # type: ignore[union-attr]
    active = client.post(
        "/rules", data={"csrf": csrf, "rules": edited, "action": "activate", "tested": digest}
    )
    assert "rules version 2 active" in active.text
    assert Path(simulated.risk_rules_file or "").read_text() == edited
    assert client.app.state.context.stages.risk.rules_file == simulated.risk_rules_file  # type: ignore[attr-defined]


def test_dashboard_csv_and_standalone_report(
    client: TestClient, simulated: Settings, tmp_path: Path
) -> None:
    _sign_in(client, "analyst-andy", "customs_analyst")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') >= 6
    exported = client.get("/dashboard/lanes.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0].startswith("day,")
    assert sum(int(x) for line in lines[1:] for x in line.split(",")[1:]) > 0
    assert client.get("/dashboard/nothing.csv").status_code == 404
    bad = client.get("/dashboard?from=2026-11-05&to=2026-11-01")
    assert bad.status_code == 400
    out = tmp_path / "report.html"
    done = clearway(
        "report",
        "--out",
        str(out),
        cwd=tmp_path,
        url=simulated.database_url,
        settings={"CLEARWAY_LEDGER_KEY_FILE": simulated.ledger_key_file},
    )
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.count("<svg") >= 6
    assert "<script" not in report
    # Nothing fetched: no external stylesheet, script, image or link target.
    assert not re.search(r'(src|href)="(https?:)?//', report)
    assert "Download CSV" not in report


def test_trends_on_both_stores(engine: Engine, tmp_path: Path) -> None:
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    docs = []
    for k in range(30):
        docs.append(
            f.declaration(
                filed_at=(start + timedelta(hours=3 * k)).isoformat(),
                seller__name="Jump Seller" if k >= 10 else f"Seller {k % 3}",
                transport__departure_country="CN" if k < 25 else "VN",
            )
        )
    path = tmp_path / "t.jsonl"
    path.write_bytes(f.jsonl(*docs))
    ingest_files(engine, [path], stages=Stages())
    trends = read_trends(engine, date(2026, 11, 2), date(2026, 11, 6))
    assert trends.days == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    by_day: dict[str, int] = {}
    for row in trends.volumes["origin"]:
        by_day[row["day"]] = by_day.get(row["day"], 0) + row["count"]
    assert by_day == {"2026-11-02": 6, "2026-11-03": 8, "2026-11-04": 8, "2026-11-05": 8}
    routes = {a["subject"] for a in trends.anomalies if a["kind"] == "new route"}
    assert routes == {"VN > DE"}
    # An amendment is not a new filing; a rebuild from the declarations agrees.
    amended = {**docs[0], "consignee": {**docs[0]["consignee"], "name": "Another Name"}}
    again = tmp_path / "a.jsonl"
    again.write_bytes(f.jsonl(amended))
    assert ingest_files(engine, [again], stages=Stages()).amended == 1

    def counts() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(select(trend_days)))

    kept = counts()
    assert (
        sum(
            r["count"]
            for r in read_trends(engine, date(2026, 11, 2), date(2026, 11, 6)).volumes["origin"]
        )
        == 30
    )
    assert rebuild_trends(engine) == 30
    assert counts() == kept


def test_hit_rates_and_anomalies() -> None:
    cells = add_outcomes(
        [
            ("2026-11-01", ["r1"], "rule", None, "seized"),
            ("2026-11-01", ["r1", "r2"], "rule", None, "cleared"),
            ("2026-11-02", [], "score", None, "duty_corrected"),
            ("2026-11-02", [], "exploration", None, "cleared"),
            # A cleared parcel later found faulty: the hit moves, the inspection stays one.
            ("2026-11-01", ["r2"], "rule", "cleared", "seized"),
        ]
    )
    assert {k: (v["declarations"], v["red"]) for k, v in cells.items()} == {
        ("2026-11-01", "hits", "rule r1"): (2, 1),
        ("2026-11-01", "hits", "rule r2"): (1, 1),
        ("2026-11-02", "hits", "model score"): (1, 1),
        ("2026-11-02", "hits", "random selection"): (1, 0),
    }
    days = [
        {"seller": "S", "day": "2026-11-01", "count": 6, "value": 60.0},
        {"seller": "S", "day": "2026-11-02", "count": 5, "value": 50.0},
        {"seller": "S", "day": "2026-11-03", "count": 30, "value": 3000.0},
        {"seller": "T", "day": "2026-11-03", "count": 12, "value": 120.0},
    ]
    found = anomalies(
        days, [{"route": "CN > US", "first_day": "2026-11-01", "count": 9}], "2026-11-03"
    )
    assert [(a["kind"], a["subject"]) for a in found] == [
        ("new seller", "T"),
        ("value jump", "S"),
        ("volume jump", "S"),
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["d1", "d2", "d3"]), st.sampled_from("abcdefghij"), st.integers(0, 50)
        ),
        max_size=60,
    ),
    st.integers(1, 8),
)
def test_pivot_days_keeps_every_count(cells: list[tuple[str, str, int]], top: int) -> None:
    rows = [{"day": d, "k": k, "count": n} for d, k, n in cells]
    names, series = pivot_days(rows, "k", ["d1", "d2", "d3"], top=top)
    assert len(names) <= top + 1
    for position, day in enumerate(["d1", "d2", "d3"]):
        assert sum(series[n][position] for n in names) == sum(n for d, _, n in cells if d == day)


DEMO = ("demo", "--days", "1", "--per-day", "60", "--port")


def test_demo_serves_the_workspace_and_prints_the_sign_in(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import urllib.parse
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    env.update(COLUMNS="200", CLEARWAY_WORKERS="0")
    demo = subprocess.Popen(
        [sys.executable, "-c", "from clearway.cli import main; main()", *DEMO, str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = ""
        assert demo.stdout is not None
        while "Ctrl-C" not in seen:
            line = demo.stdout.readline()
            assert line, f"demo ended early:\n{seen}"
            seen += line
        found = re.search(
            r"http://127\.0\.0\.1:(\d+)/\s+sign in as (\S+) with password (\S+)", seen
        )
        assert found, seen
        assert (int(found.group(1)), found.group(2)) == (port, "officer")
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        deadline = 30
        while True:
            try:
                opener.open(f"{base}/signin", timeout=5).close()
                break
            except OSError:
                deadline -= 1
                assert deadline, "the workspace did not answer"
                import time

                time.sleep(1)
        form = opener.open(f"{base}/signin", timeout=10).read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        body = urllib.parse.urlencode(
            {"username": "officer", "password": found.group(3), "csrf": token}
        )
        with opener.open(f"{base}/signin", data=body.encode(), timeout=10) as page:
            assert page.url.endswith("/queue")
            assert "Targeting queue" in page.read().decode()
    finally:
        demo.terminate()
        demo.wait(timeout=20)
        if demo.stdout is not None:
            demo.stdout.close()
