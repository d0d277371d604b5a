"""The API's access matrix: every role against every endpoint and every
other party's data, with the expected allow or deny in each cell, and no
field outside the policy in any answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from clearway.api import create_app
from clearway.settings import Settings
from clearway.store.participants import add_participant
from clearway.store.schema import api_keys
from tests import factories as f

TOY = {"description": "plastic building blocks toy", "hs_code": "950300"}
EARBUDS = {"description": "wireless earbuds bluetooth 5.3", "hs_code": "851830"}


def _doc(filer: str, ref: str, item: dict) -> dict:
    return f.declaration(
        items=[f.item(**item)],
        declaration_id=ref,
        filer={"id": filer, "role": "marketplace", "name": filer},
        destination_country="US",
        consignee__address__country="US",
        totals={"value": "12.50", "currency": "EUR"},
    )


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        ledger_key_file=str(tmp_path / "ledger.key"),
        classifier_model_file=str(tmp_path / "none.npz"),
        risk_model_file=str(tmp_path / "none.json"),
        # The first tick loads the classifier and the screening list: on a
        # loaded machine that takes longer than the default wait.
        decision_wait_ms=60_000,
    )
    keys: dict[str, str] = {}
    for name, role, filer, agency in [
        ("officer", "customs_officer", None, None),
        ("analyst", "customs_analyst", None, None),
        ("auditor", "auditor", None, None),
        ("shop_a", "marketplace", "mkt-a", None),
        ("shop_b", "marketplace", "mkt-b", None),
        ("carrier", "carrier", "car-1", None),
        ("cpsc", "partner_agency", None, "CPSC"),
        ("fda", "partner_agency", None, "FDA"),
        ("revoked", "customs_officer", None, None),
        ("expired", "customs_officer", None, None),
    ]:
        issued = add_participant(engine, name, role, filer_id=filer, agency=agency)
        keys[name] = issued.key
        if name in {"revoked", "expired"}:
            column = "revoked_at" if name == "revoked" else "expires_at"
            moment = datetime.now(UTC) - timedelta(minutes=1)
            with engine.begin() as conn:
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == issued.key_id)
                    .values(**{column: moment})
                )
    keys["nobody"] = ""
    keys["forged"] = keys["officer"][:-4] + "AAAA"
    client = TestClient(create_app(settings, engine=engine))
    for name, filer, ref, item in [
        ("shop_a", "mkt-a", "A-1", TOY),
        ("shop_b", "mkt-b", "B-1", EARBUDS),
    ]:
        done = client.post(
            "/api/declarations",
            content=orjson.dumps(_doc(filer, ref, item)),
            headers={"Authorization": f"Bearer {keys[name]}"},
        )
        assert done.status_code == 200, done.text
    yield client, keys
    # The next test's app leads the sequencer on this store, not this one's.
    client.app.state.context.service.stop()  # type: ignore[attr-defined]


def _get(client: TestClient, key: str, path: str) -> tuple[int, dict | str]:
    answer = client.get(path, headers={"Authorization": f"Bearer {key}"} if key else {})
    body = (
        answer.json()
        if answer.headers["content-type"].startswith("application/json")
        else answer.text
    )
    return answer.status_code, body


# role: (A-1 by mkt-a, routed to CPSC), (B-1 by mkt-b, routed to FCC), queue, submit
MATRIX = {
    "officer": (200, 200, 200, 403),
    "analyst": (200, 200, 200, 403),
    "auditor": (200, 200, 403, 403),
    "shop_a": (200, 404, 403, 200),
    "shop_b": (404, 200, 403, 200),
    "carrier": (404, 404, 403, 200),
    "cpsc": (200, 404, 403, 403),
    "fda": (404, 404, 403, 403),
    "revoked": (401, 401, 401, 401),
    "expired": (401, 401, 401, 401),
    "nobody": (401, 401, 401, 401),
    "forged": (401, 401, 401, 401),
}

# What each role may read of a declaration (top-level keys).
ALLOWED = {
    "officer": None,
    "analyst": None,
    "auditor": {"version", "versions", "risk"},
    "shop_a": {"declaration", "version", "versions", "data_quality", "filing", "status"},
    "shop_b": {"declaration", "version", "versions", "data_quality", "filing", "status"},
    "cpsc": {"declaration", "routing", "classification", "findings"},
}


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_access_matrix(api: tuple[TestClient, dict[str, str]], role: str) -> None:
    client, keys = api
    key = keys[role]
    expected = MATRIX[role]
    status_a, body_a = _get(client, key, "/api/declarations/A-1")
    status_b, body_b = _get(client, key, "/api/declarations/B-1")
    status_q, _ = _get(client, key, "/api/queue?lane=green")
    filer = {"shop_a": "mkt-a", "shop_b": "mkt-b", "carrier": "car-1"}.get(role, "mkt-a")
    submitted = client.post(
        "/api/declarations",
        content=orjson.dumps(_doc(filer, f"{role}-new", TOY)),
        headers={"Authorization": f"Bearer {key}"} if key else {},
    )
    assert (status_a, status_b, status_q, submitted.status_code) == expected
    for status, body in ((status_a, body_a), (status_b, body_b)):
        assert isinstance(body, dict)
        if status != 200:
            # The one error shape, and nothing of the declaration in it.
            assert body["ok"] is False
            assert body["status"] == status
            assert {"code", "field", "message"} <= set(body["errors"][0])
            assert "wireless" not in orjson.dumps(body).decode()
            continue
        allowed = ALLOWED[role]
        if allowed is not None:
            assert set(body) <= allowed, set(body) - allowed


def test_filers_see_a_status_never_a_lane(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    _, mine = _get(client, keys["shop_a"], "/api/declarations/A-1")
    assert isinstance(mine, dict)
    assert mine["status"] == "assessed"
    assert "risk" not in mine
    assert "screening" not in mine
    assert "parties" not in mine
    _, status = _get(client, keys["shop_a"], "/api/declarations/A-1/status")
    assert status == {"declaration_id": "A-1", "status": "assessed"}
    _, officer = _get(client, keys["officer"], "/api/declarations/A-1")
    assert isinstance(officer, dict)
    assert {"reasons", "score", "lane"} <= set(officer["risk"])
    _, officer_status = _get(client, keys["officer"], "/api/declarations/A-1/status")
    assert isinstance(officer_status, dict)
    assert officer_status["lane"] == officer["risk"]["lane"]
    assert officer_status["score"] == officer["risk"]["score"]


def test_partner_agency_reads_only_the_goods(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    _, seen = _get(client, keys["cpsc"], "/api/declarations/A-1")
    assert isinstance(seen, dict)
    assert set(seen["declaration"]) == {
        "declaration_id",
        "items",
        "destination_country",
        "transport",
    }
    assert [r["agency"] for r in seen["routing"]] == ["CPSC"]
    text = orjson.dumps(seen).decode()
    assert "consignee" not in text
    assert "seller" not in text


def test_a_filer_cannot_submit_for_another(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    answer = client.post(
        "/api/declarations",
        content=orjson.dumps([_doc("mkt-b", "X-1", TOY), _doc("mkt-a", "X-2", TOY)]),
        headers={"Authorization": f"Bearer {keys['shop_a']}"},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["accepted"] == 1
    assert body["rejected"] == 1
    assert body["errors"][0]["field"] == "[1].filer.id"
    assert body["errors"][0]["code"] == "forbidden_filer"
    assert body["declarations"] == [
        {
            "declaration_id": "X-2",
            "status": "assessed",
            "status_url": "/api/declarations/X-2/status",
        }
    ]
    assert "lanes" not in body
    status, _ = _get(client, keys["officer"], "/api/declarations/X-1")
    assert status == 404


def test_a_role_that_reads_the_queue_is_answered_the_lanes(engine: Engine, tmp_path: Path) -> None:
    from importlib import resources

    policy = resources.files("clearway.federation").joinpath("data/policy.yaml").read_text()
    granted = policy.replace(
        "customs_officer:\n    actions: [read_declarations,",
        "customs_officer:\n    actions: [submit, read_declarations,",
    )
    assert granted != policy
    (tmp_path / "policy.yaml").write_text(granted)
    settings = Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        ledger_key_file=str(tmp_path / "ledger.key"),
        classifier_model_file=str(tmp_path / "none.npz"),
        risk_model_file=str(tmp_path / "none.json"),
        sharing_policy_file=str(tmp_path / "policy.yaml"),
        decision_wait_ms=60_000,
    )
    key = add_participant(engine, "customs lab", "customs_officer", filer_id="cus-lab").key
    with TestClient(create_app(settings, engine=engine)) as client:
        answer = client.post(
            "/api/declarations",
            content=orjson.dumps([_doc("cus-lab", "L-1", TOY), _doc("cus-lab", "L-2", EARBUDS)]),
            headers={"Authorization": f"Bearer {key}"},
        )
        seen = {
            ref: client.get(f"/api/declarations/{ref}", headers={"Authorization": f"Bearer {key}"})
            for ref in ("L-1", "L-2")
        }
    assert not client.app.state.context.service.running  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    body = answer.json()
    lanes: dict[str, str] = body["lanes"]
    assert sorted(lanes) == ["L-1", "L-2"]
    assert set(lanes.values()) <= {"green", "yellow", "red", "black"}
    assert body["declarations"] == [
        {
            "declaration_id": ref,
            "status": "assessed",
            "status_url": f"/api/declarations/{ref}/status",
            "lane": lanes[ref],
        }
        for ref in ("L-1", "L-2")
    ]
    assert {ref: page.json()["risk"]["lane"] for ref, page in seen.items()} == lanes


def test_submit_validates_and_is_idempotent(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api
    headers = {"Authorization": f"Bearer {keys['shop_a']}"}
    doc = _doc("mkt-a", "I-1", TOY)
    first = client.post("/api/declarations", content=orjson.dumps(doc), headers=headers)
    again = client.post("/api/declarations", content=orjson.dumps(doc), headers=headers)
    assert (first.status_code, first.json()["accepted"], first.json()["decided"]) == (200, 1, True)
    assert first.json()["declarations"] == [
        {
            "declaration_id": "I-1",
            "status": "assessed",
            "status_url": "/api/declarations/I-1/status",
        }
    ]
    assert (again.status_code, again.json()["duplicate"], again.json()["accepted"]) == (200, 1, 0)
    assert again.json()["declarations"] == [
        {
            "declaration_id": "I-1",
            "status": "duplicate",
            "status_url": "/api/declarations/I-1/status",
        }
    ]
    assert "lanes" not in first.json()
    # An officer's submission would be refused (403); officers read the lane.
    _, seen = _get(client, keys["officer"], "/api/declarations/I-1/status")
    assert isinstance(seen, dict)
    assert seen["lane"] in {"green", "yellow", "red"}
    bad = _doc("mkt-a", "I-2", TOY)
    bad["destination_country"] = "ZZ"
    refused = client.post("/api/declarations", content=orjson.dumps(bad), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "[1].destination_country"
    junk = client.post("/api/declarations", content=b"{not json", headers=headers)
    assert junk.status_code == 400
    assert junk.json()["errors"][0]["code"] == "input"


def test_checkpoint_is_public_and_unknown_routes_keep_the_error_shape(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = api
    note = client.get("/api/ledger/checkpoint")
    assert note.status_code == 200
    assert note.text.splitlines()[0] == "customs.example/clearway"
    missing = client.get("/api/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {
        "ok": False,
        "errors": [{"code": "not_found", "field": "", "message": "Not Found"}],
        "status": 404,
    }
    assert client.get("/openapi.json").json()["info"]["title"] == "clearway"


def test_referral_flow_end_to_end(api: tuple[TestClient, dict[str, str]], engine: Engine) -> None:
    import time

    from sqlalchemy import select

    from clearway.store.schema import ledger_entries

    client, keys = api

    def post(who: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        answer = client.post(
            path, json=body or {}, headers={"Authorization": f"Bearer {keys[who]}"}
        )
        return answer.status_code, answer.json()

    status, opened = post(
        "officer",
        "/api/declarations/A-1/referrals",
        {"kind": "rfi", "message": "Send the invoice", "due_hours": 24},
    )
    assert status == 201, opened
    assert opened["state"] == "open"
    assert opened["addressed_to"] == "mkt-a"
    rid = opened["id"]
    # Only the addressee sees and answers it; filers may not open referrals.
    assert [r["id"] for r in _get(client, keys["shop_a"], "/api/referrals")[1]["referrals"]] == [
        rid
    ]
    assert _get(client, keys["shop_b"], "/api/referrals")[1]["referrals"] == []
    assert post("shop_b", f"/api/referrals/{rid}/answer", {"text": "x"})[0] == 404
    assert (
        post(
            "shop_a",
            "/api/declarations/A-1/referrals",
            {"kind": "rfi", "message": "x", "due_hours": 1},
        )[0]
        == 403
    )
    status, answered = post("shop_a", f"/api/referrals/{rid}/answer", {"text": "Invoice attached"})
    assert status == 200
    assert answered["state"] == "answered"
    assert answered["response"] == "Invoice attached"
    status, closed = post("officer", f"/api/referrals/{rid}/close", {"text": "Value confirmed"})
    assert closed["state"] == "closed"
    status, conflict = post("shop_a", f"/api/referrals/{rid}/answer", {"text": "again"})
    assert status == 409
    assert conflict["errors"][0]["code"] == "conflict"
    # An unanswered referral past its deadline raises the lane.
    _, before = _get(client, keys["officer"], "/api/declarations/B-1")
    assert isinstance(before, dict)
    status, late = post(
        "officer",
        "/api/declarations/B-1/referrals",
        {"kind": "hold", "message": "Hold for X-ray", "due_hours": 0.0001},
    )
    time.sleep(0.5)
    status, escalated = post("officer", "/api/referrals/escalate")
    assert [r["id"] for r in escalated["escalated"]] == [late["id"]]
    _, after = _get(client, keys["officer"], "/api/declarations/B-1")
    assert isinstance(after, dict)
    order = ["green", "yellow", "red", "black"]
    assert order.index(after["risk"]["lane"]) == min(2, order.index(before["risk"]["lane"]) + 1)
    assert "unanswered by its deadline" in after["risk"]["reasons"][-1]
    with engine.connect() as conn:
        types = [
            t
            for (t,) in conn.execute(
                select(ledger_entries.c.event_type).where(
                    ledger_entries.c.event_type.like("referral.%")
                )
            )
        ]
    assert types == [
        "referral.opened",
        "referral.answered",
        "referral.closed",
        "referral.opened",
        "referral.escalated",
    ]


def test_policy_actions_are_one_list() -> None:
    from typing import get_args

    from clearway.federation.policy import ACTIONS, _RolePolicy

    (literal,) = get_args(_RolePolicy.model_fields["actions"].annotation)
    assert set(get_args(literal)) == set(ACTIONS)


def test_officers_record_outcomes_filers_may_not(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    from sqlalchemy import select

    from clearway.store.schema import inspection_outcomes

    client, keys = api
    body = {"outcome": "seized", "reason": "counterfeit goods found"}
    denied = client.post(
        "/api/declarations/A-1/outcome",
        json=body,
        headers={"Authorization": f"Bearer {keys['shop_a']}"},
    )
    assert denied.status_code == 403
    done = client.post(
        "/api/declarations/A-1/outcome",
        json=body,
        headers={"Authorization": f"Bearer {keys['officer']}"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["recorded"] == 1
    bad = client.post(
        "/api/declarations/A-1/outcome",
        json={"outcome": "burnt", "reason": "x"},
        headers={"Authorization": f"Bearer {keys['officer']}"},
    )
    assert bad.status_code == 422
    with engine.connect() as conn:
        assert [r.outcome for r in conn.execute(select(inspection_outcomes))] == ["seized"]


def test_partner_agency_records_findings_only_where_routed(
    api: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = api
    body = {"finding": "refused", "note": "toy fails the small-parts test"}
    mine = client.post(
        "/api/declarations/A-1/findings",
        json=body,
        headers={"Authorization": f"Bearer {keys['cpsc']}"},
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["agency"] == "CPSC"
    not_routed = client.post(
        "/api/declarations/B-1/findings",
        json=body,
        headers={"Authorization": f"Bearer {keys['cpsc']}"},
    )
    assert not_routed.status_code == 404
    officer_try = client.post(
        "/api/declarations/A-1/findings",
        json=body,
        headers={"Authorization": f"Bearer {keys['officer']}"},
    )
    assert officer_try.status_code == 403
    _, seen = _get(client, keys["officer"], "/api/declarations/A-1")
    assert isinstance(seen, dict)
    assert [(x["agency"], x["finding"]) for x in seen["findings"]] == [("CPSC", "refused")]
    _, filer_view = _get(client, keys["shop_a"], "/api/declarations/A-1")
    assert isinstance(filer_view, dict)
    assert "findings" not in filer_view


def test_operator_programme_over_http(api: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = api

    def call(who: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        answer = client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {keys[who]}"}
        )
        return answer.status_code, answer.json()

    entry = {"filer_id": "mkt-a", "name": "Shop A", "kind": "marketplace"}
    assert call("shop_a", "POST", "/api/operators", entry)[0] == 403
    status, registered = call("officer", "POST", "/api/operators", entry)
    assert status == 201, registered
    assert registered["tier"] == "standard"
    assert call("officer", "POST", "/api/operators", entry)[0] == 409
    assert call("officer", "POST", "/api/operators", {**entry, "filer_id": "mkt-b"})[0] == 201

    # A season of good filings with advance notice, inspected and found clean.
    filed = datetime.now(UTC) - timedelta(days=1)
    docs = []
    for n in range(110):
        doc = _doc("mkt-a", f"T-{n}", TOY)
        doc["filed_at"] = filed.isoformat()
        doc["transport"]["expected_arrival"] = (filed + timedelta(hours=48)).isoformat()
        docs.append(doc)
    submitted = client.post(
        "/api/declarations",
        content=orjson.dumps(docs),
        headers={"Authorization": f"Bearer {keys['shop_a']}"},
    )
    assert submitted.json()["accepted"] == 110, submitted.text
    for doc in docs[:20]:
        status, _ = call(
            "officer",
            "POST",
            f"/api/declarations/{doc['declaration_id']}/outcome",
            {"outcome": "cleared", "reason": "nothing found"},
        )
        assert status == 200

    assert call("analyst", "POST", "/api/operators/review")[0] == 403
    status, review = call("officer", "POST", "/api/operators/review")
    assert status == 200
    assert [(c["filer_id"], c["previous"], c["tier"]) for c in review["changes"]] == [
        ("mkt-a", "standard", "trusted")
    ]

    # The operator reads its own record, not another's; customs reads all.
    status, mine = call("shop_a", "GET", "/api/operators/mkt-a")
    assert status == 200
    assert mine["tier"] == "trusted"
    assert mine["measures"]["filings"] >= 110
    assert mine["measures"]["fault_rate"] == 0.0
    assert [h["tier"] for h in mine["history"]] == ["standard", "trusted"]
    assert call("shop_a", "GET", "/api/operators/mkt-b")[0] == 404
    assert [o["filer_id"] for o in call("shop_a", "GET", "/api/operators")[1]["operators"]] == [
        "mkt-a"
    ]
    for role, seen in (("analyst", 2), ("auditor", 2), ("officer", 2), ("shop_b", 1)):
        status, listing = call(role, "GET", "/api/operators")
        assert (status, len(listing["operators"])) == (200, seen), role
    assert call("cpsc", "GET", "/api/operators")[0] == 403
    assert call("nobody", "GET", "/api/operators")[0] == 401

    # The benefit applies from the next submission; prohibited goods keep their lane.
    banned = _doc("mkt-a", "T-banned", {"description": "Solvent trap kit", "hs_code": "732690"})
    client.post(
        "/api/declarations",
        content=orjson.dumps(banned),
        headers={"Authorization": f"Bearer {keys['shop_a']}"},
    )
    _, seen = _get(client, keys["officer"], "/api/declarations/T-banned")
    assert isinstance(seen, dict)
    assert "trusted operator: score lowered by 50%" in seen["risk"]["reasons"]
    assert seen["risk"]["lane"] in {"yellow", "red"}
