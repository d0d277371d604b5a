"""Filings dated year 1, 1970, 2100 or 9999 stored by an older version
(before intake bounded times) do not break a reader: the dashboard and its
CSV exports answer, `clearway report` writes its file, history runs either
run or refuse in words, and the rules backtest answers. And every CSV
export writes formula-like text as text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from clearway.api import create_app
from clearway.clearance import RiskOptions, Stages
from clearway.settings import Settings
from clearway.store.rollup import rebuild_trends
from clearway.store.schema import declarations
from clearway.store.trends import default_window, read_trends
from clearway.web.accounts import add_user
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway
from tests.test_workspace import _signin_form

FAR = {
    "FAR-9999": datetime(9999, 12, 31, 12, tzinfo=UTC),
    "FAR-9998": datetime(9999, 12, 30, 12, tzinfo=UTC),
    "FAR-0001": datetime(1, 1, 1, tzinfo=UTC),
    "FAR-1970": datetime(1970, 1, 1, tzinfo=UTC),
    "FAR-2100": datetime(2100, 1, 1, tzinfo=UTC),
}
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).replace(
    hour=6, minute=0, second=0, microsecond=0
)
EVIL_SELLER = '=HYPERLINK("http://x","y")'
EVIL_CONSIGNEE = "@SUM(1+1)"
EVIL_MARKETPLACE = "+cmd|' /C calc'!A0"


def _settings(engine: Engine, folder: Path) -> Settings:
    from importlib import resources

    rules = folder / "rules.yaml"
    rules.write_text(resources.files("clearway.risk").joinpath("data/rules.yaml").read_text())
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        ledger_key_file=str(folder / "ledger.key"),
        classifier_model_file=str(folder / "none.npz"),
        risk_model_file=str(folder / "none.json"),
        risk_rules_file=str(rules),
        workers=0,
    )


def _store(engine: Engine, folder: Path) -> None:
    """Twelve filings of yesterday from one seller whose name is a formula,
    then four of them re-dated far away, as an older version stored them."""
    docs = [
        f.declaration(
            declaration_id=f"D-{k}" if k >= len(FAR) else list(FAR)[k],
            filed_at=(YESTERDAY + timedelta(minutes=10 * k)).isoformat(),
            seller__name=EVIL_SELLER,
            consignee__name=EVIL_CONSIGNEE,
            marketplace__name=EVIL_MARKETPLACE,
            transport__departure_country="VN",
        )
        for k in range(17)
    ]
    path = folder / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    assert ingest_files(engine, [path], stages=Stages(risk=RiskOptions())).accepted == 17
    with engine.begin() as conn:
        for ref, moment in FAR.items():
            conn.execute(
                update(declarations)
                .where(declarations.c.ref == ref)
                .values(filed_at=moment, expected_arrival=moment)
            )
    rebuild_trends(engine)


@pytest.fixture
def far(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, Settings, TestClient]]:
    settings = _settings(engine, tmp_path)
    _store(engine, tmp_path)
    client = TestClient(create_app(settings, engine=engine), raise_server_exceptions=False)
    yield engine, settings, client
    client.app.state.context.service.stop()  # type: ignore[attr-defined]


def _sign_in(client: TestClient, engine: Engine, username: str, role: str) -> str:
    password = add_user(engine, username, username, role, datetime.now(UTC))
    answer = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf": _signin_form(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get("/rules" if role == "customs_officer" else "/dashboard")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def test_the_default_window_skips_future_outliers(far: tuple[Engine, Settings, TestClient]) -> None:
    engine, _, _ = far
    start, end = default_window(engine)
    assert end == YESTERDAY.date() + timedelta(days=1)
    assert start == end - timedelta(days=7)
    counts = read_trends(engine, start, end).volumes["origin"]
    assert sum(r["count"] for r in counts) == 12
    outlier = read_trends(engine, date(9999, 12, 30), date(9999, 12, 31))
    assert outlier.days == ["9999-12-30"]
    assert [r["count"] for r in outlier.volumes["origin"]] == [1]
    last = read_trends(engine, date(9999, 12, 25), date(9999, 12, 31))
    assert len(last.days) == 6


def test_dashboard_and_every_csv_answer(far: tuple[Engine, Settings, TestClient]) -> None:
    engine, _, client = far
    _sign_in(client, engine, "andy", "customs_analyst")
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    for window in ("", "?from=9999-12-01&to=9999-12-31", "?from=0001-01-01&to=0001-02-01"):
        assert client.get(f"/dashboard{window}").status_code == 200
    too_long = client.get("/dashboard?from=0001-01-01&to=9999-12-31")
    assert too_long.status_code == 400
    names = set(re.findall(r'href="/dashboard/([a-z-]+)\.csv', page.text))
    assert {"risky-sellers", "anomalies", "consignee-clusters", "lanes"} <= names
    for name in names:
        exported = client.get(f"/dashboard/{name}.csv")
        assert exported.status_code == 200, (name, exported.text)


def test_csv_exports_write_formulas_as_text(far: tuple[Engine, Settings, TestClient]) -> None:
    engine, _, client = far
    _sign_in(client, engine, "andy", "customs_analyst")

    # An explicit window: the formulas are the point here, not the outliers.
    window = f"?from={YESTERDAY.date()}&to={YESTERDAY.date() + timedelta(days=1)}"

    def cells(name: str) -> list[list[str]]:
        exported = client.get(f"/dashboard/{name}.csv{window}")
        assert exported.status_code == 200
        return list(csv.reader(io.StringIO(exported.text)))

    sellers = cells("risky-sellers")
    assert sellers[0] == ["seller", "declarations", "mean_score", "red", "value"]
    assert sellers[1][:2] == ["'" + EVIL_SELLER, "12"]
    anomalies = {tuple(row[:2]) for row in cells("anomalies")[1:]}
    assert ("new seller", "'" + EVIL_SELLER) in anomalies
    clusters = cells("consignee-clusters")
    assert [row[0] for row in clusters[1:]] == ["'" + EVIL_CONSIGNEE]
    # A category becomes a column name: headers are cells too.
    assert cells("volumes-marketplace")[0] == ["day", "'" + EVIL_MARKETPLACE]
    every = "".join(
        client.get(f"/dashboard/{n}.csv{window}").text
        for n in ("risky-sellers", "anomalies", "consignee-clusters", "volumes-marketplace")
    )
    assert not re.search(r'(^|,|")[=+@]', every, re.M)


def test_the_decisions_export_writes_formulas_as_text(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration(declaration_id="=1+2"), f.declaration()))
    ingest_files(engine, [path], stages=Stages(risk=RiskOptions()))
    out = tmp_path / "decisions.csv"
    url = engine.url.render_as_string(hide_password=False)
    done = clearway("decisions", "export", "--out", str(out), cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as stream:
        ids = [row[0] for row in csv.reader(stream)][1:]
    assert "'=1+2" in ids
    assert all(not i.startswith("=") for i in ids)


def test_report_writes_its_file_with_and_without_a_window(
    far: tuple[Engine, Settings, TestClient], tmp_path: Path
) -> None:
    engine, settings, _ = far
    url = engine.url.render_as_string(hide_password=False)
    env = {"CLEARWAY_LEDGER_KEY_FILE": settings.ledger_key_file}
    out = tmp_path / "report.html"
    for window in ([], ["--from", str(YESTERDAY.date()), "--to", str(date.today())]):
        done = clearway("report", "--out", str(out), *window, cwd=tmp_path, url=url, settings=env)
        assert done.returncode == 0, done.stderr
        assert "12 filings" in done.stdout
    far_window = ["--from", "9999-12-01", "--to", "9999-12-31"]
    done = clearway("report", "--out", str(out), *far_window, cwd=tmp_path, url=url, settings=env)
    assert done.returncode == 0, done.stderr
    assert "1 filings" in done.stdout
    whole = ["--from", "0001-01-01", "--to", "9999-12-31"]
    done = clearway("report", "--out", str(out), *whole, cwd=tmp_path, url=url, settings=env)
    assert done.returncode == 1
    assert "at most 92 days" in done.stderr
    assert "Traceback" not in done.stderr


def test_history_refuses_in_words_or_runs_within_bounds(
    far: tuple[Engine, Settings, TestClient], tmp_path: Path
) -> None:
    engine, settings, _ = far
    url = engine.url.render_as_string(hide_password=False)
    env = {
        "CLEARWAY_LEDGER_KEY_FILE": settings.ledger_key_file,
        "CLEARWAY_RISK_RULES_FILE": settings.risk_rules_file or "",
    }
    whole = clearway("history", "export", str(tmp_path / "all"), cwd=tmp_path, url=url)
    assert whole.returncode == 1
    assert "at most 3,660" in whole.stderr
    assert "--since" in whole.stderr
    assert "Traceback" not in whole.stderr
    recent = ["--since", str(YESTERDAY.date() - timedelta(days=1)), "--until", str(date.today())]
    done = clearway("history", "export", str(tmp_path / "recent"), *recent, cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    assert '"declarations":12' in done.stdout
    rules = settings.risk_rules_file or ""
    backtest = clearway("rules", "backtest", rules, cwd=tmp_path, url=url, settings=env)
    assert backtest.returncode == 1
    assert "at most 3,660" in backtest.stderr
    for edge in (["--since", "9999-12-31"], ["--until", "0001-01-02"]):
        done = clearway("history", "rescore", *edge, cwd=tmp_path, url=url, settings=env)
        assert done.returncode == 0, done.stderr
        assert '"declarations":1' in done.stdout.splitlines()[-1]


def test_the_workspace_backtest_answers(far: tuple[Engine, Settings, TestClient]) -> None:
    engine, _, client = far
    csrf = _sign_in(client, engine, "rita", "customs_officer")
    page = client.get("/rules")
    text = re.search(r'name="rules"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert text is not None
    import html

    answer = client.post(
        "/rules",
        data={"csrf": csrf, "rules": html.unescape(text.group(1)), "action": "backtest"},
    )
    assert answer.status_code == 200
    assert "at most 3,660" in html.unescape(answer.text)
