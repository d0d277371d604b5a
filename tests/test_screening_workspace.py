"""Screening in the workspace and the API: hits explained (entry, list,
score, name matched, country evidence), a hit marked as a false positive
by an officer, the lists with their warning, rescreen alerts."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from clearway.api import create_app
from clearway.parties.lists import read_list
from clearway.settings import Settings
from clearway.store import open_engine
from clearway.store.participants import add_participant
from clearway.wiring import import_screening_list
from tests import factories as f
from tests.test_screening_lists import ZENIT, doc, ingest, sdn_v1, write_ofac
from tests.test_workspace import _sign_in

VOLGA = ("103", "VOLGOTRANS KAMA HOLDING", "-0-", "RUSSIA-EO14024")


def _setup(tmp_path: Path) -> tuple[TestClient, Settings, dict, dict]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        key_dir=str(tmp_path / "keys"),
        risk_model_file=str(tmp_path / "none.json"),
    )
    engine = open_engine(settings.database_url)
    import_screening_list(engine, settings, read_list(sdn_v1(tmp_path / "v1"), "ofac-sdn"))
    hit, later = doc("Zenit Dual"), doc("Volgotrans Kama Holding")
    ingest(engine, settings, tmp_path, hit, later)
    return TestClient(create_app(settings, engine=engine)), settings, hit, later


def test_officer_sees_the_hit_explained_and_marks_it_false_positive(tmp_path: Path) -> None:
    client, _settings, hit, _ = _setup(tmp_path)
    csrf = _sign_in(client, "olga")
    page = client.get(f"/declarations/{hit['declaration_id']}").text
    row = html.unescape(re.search(r'<tr class="flag">(.*?)</tr>', page, re.S).group(1))  # type: ignore[union-attr]
    assert "ZENIT DUAL TRADE LLC (OFAC SDN entry 101)" in row
    assert "<td>ZENIT DUAL</td>" in row, "the alias matched"
    assert "same country RU" in row
    done = client.post(
        f"/declarations/{hit['declaration_id']}/screening/false-positive?filer=mkt-1",
        data={
            "csrf": csrf,
            "role": "seller",
            "list_name": "OFAC SDN",
            "entry_id": "101",
            "note": "registry checked",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "false+positive+recorded" in done.headers["location"]
    refused = client.post(
        f"/declarations/{hit['declaration_id']}/screening/false-positive?filer=mkt-1",
        data={"csrf": "forged", "role": "seller", "list_name": "OFAC SDN", "entry_id": "101"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    screening = client.get("/screening").text
    assert "Zenit Dual is not OFAC SDN 101: registry checked" in html.unescape(screening)
    # The running service screens the same party without that entry now.
    again = doc("ZENIT DUAL TRADE")
    path = tmp_path / "again.jsonl"
    path.write_bytes(f.jsonl(again))
    client.app.state.context.service.ingest_files([path])  # type: ignore[attr-defined]
    shown = client.get(f"/declarations/{again['declaration_id']}").text
    assert "No hits." in shown


def test_api_lists_alerts_hits_and_false_positives(tmp_path: Path) -> None:
    client, settings, hit, later = _setup(tmp_path)
    engine = open_engine(settings.database_url)
    key = add_participant(engine, "customs", "customs_officer", filer_id="cus").key
    seller = add_participant(engine, "shop", "marketplace", filer_id="mkt-1").key
    auth = {"Authorization": f"Bearer {key}"}
    lists = client.get("/api/screening/lists", headers=auth).json()
    assert [(s["name"], s["entries"]) for s in lists["lists"]] == [("OFAC SDN", 2)]
    report = client.get(f"/api/declarations/{hit['declaration_id']}", headers=auth).json()
    (found,) = report["screening"]
    assert (found["list_name"], found["entry_id"], found["matched_name"], found["score"]) == (
        "OFAC SDN",
        "101",
        "ZENIT DUAL",
        100.0,
    )
    v2 = write_ofac(
        tmp_path / "v2",
        [ZENIT, VOLGA],
        aliases=(("101", "ZENIT DUAL"),),
        countries=(("101", "Russia"),),
    )
    import_screening_list(engine, settings, read_list(v2, "ofac-sdn"))
    (alert,) = client.get("/api/screening/alerts", headers=auth).json()["alerts"]
    assert (alert["ref"], alert["entry_id"], alert["lane_after"]) == (
        later["declaration_id"],
        "103",
        "red",
    )
    url = f"/api/declarations/{hit['declaration_id']}/screening/false-positives"
    body = {"role": "seller", "list": "OFAC SDN", "entry": "101", "note": "registry checked"}
    assert (
        client.post(url, json=body, headers={"Authorization": f"Bearer {seller}"}).status_code
        == 403
    )
    marked = client.post(url, json=body, headers=auth)
    assert marked.status_code == 201
    assert (marked.json()["party_key"], marked.json()["marked_by"]) == ("DUAL ZENIT|RU", "customs")
    unknown = client.post(url, json={**body, "entry": "999"}, headers=auth)
    assert unknown.status_code == 404
    assert unknown.json()["ok"] is False


def test_the_workspace_warns_while_the_newest_list_is_old(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        key_dir=str(tmp_path / "keys"),
        risk_model_file=str(tmp_path / "none.json"),
    )
    client = TestClient(create_app(settings, engine=open_engine(settings.database_url)))
    _sign_in(client, "olga")
    # Nothing imported: the bundled snapshot of 2024-05-03 is in force.
    for path in ("/queue", "/screening"):
        page = " ".join(html.unescape(client.get(path).text).split())
        assert "the newest restricted-party list (OFAC SDN, published 2024-05-03) is" in page
    fresh = write_ofac(tmp_path / "fresh", [ZENIT])
    import_screening_list(
        open_engine(settings.database_url), settings, read_list(fresh, "ofac-sdn")
    )
    assert "restricted-party list" not in client.get("/queue").text


def test_show_explains_a_hit(tmp_path: Path) -> None:
    from tests.test_cli import clearway

    url = f"sqlite:///{tmp_path / 'c.db'}"
    sdn = sdn_v1(tmp_path / "sdn")
    assert clearway("screening", "import", str(sdn), cwd=tmp_path, url=url).returncode == 0
    hit = doc("Zenit Dual")
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(hit))
    assert clearway("ingest", str(path), cwd=tmp_path, url=url).returncode == 0
    shown = clearway("show", hit["declaration_id"], cwd=tmp_path, url=url)
    assert (
        "screening hit seller: ZENIT DUAL TRADE LLC (OFAC SDN entry 101), score 100, matched "
        "'ZENIT DUAL': name 100% like 'ZENIT DUAL' (an alias), same country RU"
    ) in " ".join(shown.stdout.split())
