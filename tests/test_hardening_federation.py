"""Issue 17, the federation share: referral transitions and operator
registration under concurrent callers (real threads, separate connections,
SQLite and PostgreSQL), declarations addressed without naming filers
outside the caller's scope, inbox replays, the analysts' referral list,
master references and the queue's rule filter."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from clearway.api import create_app
from clearway.clearance import RiskOptions, Stages
from clearway.errors import ClearwayError, Conflict
from clearway.federation.webhooks import sign, verify
from clearway.ledger.keys import LedgerKeys, load_or_create_keys
from clearway.settings import Settings
from clearway.store.inbox import add_sender, list_inbound
from clearway.store.operators import list_operators, register_operator
from clearway.store.participants import add_participant
from clearway.store.queue import QueueFilter, read_queue
from clearway.store.reading import get_declaration, get_master, master_filers
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
    ingest_files(engine, [path], stages=Stages(ledger=keys, risk=RiskOptions()))


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
    assert sorted(before) == sorted(rows), "every declaration has a lane to raise"
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


# --- An API over a real store, for items 9 and 12 ----------------------------

TOY = {"description": "plastic building blocks toy", "hs_code": "950300"}
EARBUDS = {"description": "wireless earbuds bluetooth 5.3", "hs_code": "851830"}


def _doc(filer: str, ref: str, item: dict[str, str]) -> dict[str, Any]:
    return f.declaration(
        items=[f.item(**item)],
        declaration_id=ref,
        filer={"id": filer, "role": "marketplace", "name": filer},
        destination_country="US",
        consignee__address__country="US",
        totals={"value": "12.50", "currency": "EUR"},
    )


class Api:
    def __init__(self, client: TestClient, keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys

    def get(self, who: str, path: str) -> tuple[int, Any]:
        answer = self.client.get(path, headers={"Authorization": f"Bearer {self.keys[who]}"})
        return answer.status_code, answer.json()

    def post(self, who: str, path: str, body: Any = None) -> tuple[int, Any]:
        answer = self.client.post(
            path,
            content=orjson.dumps(body) if body is not None else b"",
            headers={
                "Authorization": f"Bearer {self.keys[who]}",
                "Content-Type": "application/json",
            },
        )
        return answer.status_code, answer.json()


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[Api]:
    """Two filers that both used the declaration id S-1: mkt-a's toy is
    routed to CPSC, mkt-b's earbuds are not."""
    settings = Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        ledger_key_file=str(tmp_path / "ledger.key"),
        classifier_model_file=str(tmp_path / "none.npz"),
        risk_model_file=str(tmp_path / "none.json"),
        decision_wait_ms=60_000,
        inbox_replay_window_s=60,
    )
    keys = {
        name: add_participant(engine, name, role, filer_id=filer, agency=agency).key
        for name, role, filer, agency in [
            ("officer", "customs_officer", None, None),
            ("analyst", "customs_analyst", None, None),
            ("auditor", "auditor", None, None),
            ("shop_a", "marketplace", "mkt-a", None),
            ("shop_b", "marketplace", "mkt-b", None),
            ("cpsc", "partner_agency", None, "CPSC"),
            ("fda", "partner_agency", None, "FDA"),
            ("car_1", "carrier", "car-1", None),
            ("car_2", "carrier", "car-2", None),
        ]
    }
    client = TestClient(create_app(settings, engine=engine))
    api = Api(client, keys)
    for who, filer, item in [("shop_a", "mkt-a", TOY), ("shop_b", "mkt-b", EARBUDS)]:
        status, body = api.post(who, "/api/declarations", _doc(filer, "S-1", item))
        assert status == 200, body
    yield api
    client.app.state.context.service.stop()  # type: ignore[attr-defined]


def _not_found(ref: str) -> dict[str, Any]:
    message = f"declaration {ref!r} not found."
    return {
        "ok": False,
        "errors": [{"code": "not_found", "field": "", "message": message}],
        "status": 404,
    }


def _ambiguous(message: str) -> dict[str, Any]:
    error = {"code": "ambiguous_declaration", "field": "filer", "message": message}
    return {"ok": False, "errors": [error], "status": 400}


# --- Item 9: scope leaks ------------------------------------------------------


def test_a_shared_declaration_id_names_no_filer_outside_the_scope(api: Api) -> None:
    # The agency sees the one S-1 routed to it, with no ambiguity.
    status, read = api.get("cpsc", "/api/declarations/S-1")
    assert status == 200
    assert [r["agency"] for r in read["routing"]] == ["CPSC"]
    assert read["declaration"]["items"][0]["description"] == TOY["description"]
    status, state = api.get("cpsc", "/api/declarations/S-1/status")
    assert (status, state["declaration_id"]) == (200, "S-1")
    assert "mkt-b" not in orjson.dumps(state).decode()
    # An agency it is not routed to learns nothing, not even that it exists.
    assert api.get("fda", "/api/declarations/S-1") == (404, _not_found("S-1"))
    assert api.get("fda", "/api/declarations/S-1/status") == (404, _not_found("S-1"))
    # Auditors see both but read no filer ids: told to name one, not which.
    assert api.get("auditor", "/api/declarations/S-1") == (
        400,
        _ambiguous("declaration 'S-1' was filed by 2 filers; name one with ?filer=<filer id>"),
    )
    assert api.get("auditor", "/api/declarations/S-1/status") == (
        400,
        _ambiguous("declaration 'S-1' was filed by 2 filers; name one with ?filer=<filer id>"),
    )
    status, audited = api.get("auditor", "/api/declarations/S-1?filer=mkt-b")
    assert (status, sorted(audited)) == (200, ["risk", "version", "versions"])
    # Officers read filer ids: they are told which.
    assert api.get("officer", "/api/declarations/S-1") == (
        400,
        _ambiguous(
            "declaration 'S-1' was filed by 2 filers (mkt-a, mkt-b); "
            "name one with ?filer=<filer id>"
        ),
    )
    # A filer always means its own, whatever it passes.
    status, own = api.get("shop_b", "/api/declarations/S-1")
    assert (status, own["declaration"]["filer"]["id"]) == (200, "mkt-b")
    assert api.get("shop_b", "/api/declarations/S-1?filer=mkt-a") == (404, _not_found("S-1"))


def test_a_reused_id_does_not_block_the_agencys_findings(api: Api) -> None:
    status, finding = api.post(
        "cpsc", "/api/declarations/S-1/findings", {"finding": "refused", "note": "lead paint"}
    )
    assert status == 201, finding
    assert (finding["agency"], finding["finding"]) == ("CPSC", "refused")
    # On mkt-a's declaration (the one routed to CPSC), not on mkt-b's.
    _, a = api.get("officer", "/api/declarations/S-1?filer=mkt-a")
    _, b = api.get("officer", "/api/declarations/S-1?filer=mkt-b")
    assert [(x["agency"], x["finding"], x["note"]) for x in a["findings"]] == [
        ("CPSC", "refused", "lead paint")
    ]
    assert b["findings"] == []
    assert api.post(
        "fda", "/api/declarations/S-1/findings", {"finding": "refused", "note": "x"}
    ) == (404, _not_found("S-1"))


# --- Item 12: the lower findings ----------------------------------------------


def test_analysts_read_every_referral_and_move_none(api: Api) -> None:
    status, opened = api.post(
        "officer",
        "/api/declarations/S-1/referrals?filer=mkt-a",
        {"kind": "rfi", "message": "Invoice please", "due_hours": 24},
    )
    assert status == 201, opened
    status, other = api.post(
        "officer",
        "/api/declarations/S-1/referrals?filer=mkt-b",
        {"kind": "hold", "message": "Hold", "due_hours": 24},
    )
    assert status == 201, other
    status, listed = api.get("analyst", "/api/referrals")
    assert status == 200
    assert [(r["id"], r["addressed_to"], r["kind"], r["state"]) for r in listed["referrals"]] == [
        (opened["id"], "mkt-a", "rfi", "open"),
        (other["id"], "mkt-b", "hold", "open"),
    ]
    assert listed == api.get("officer", "/api/referrals")[1]
    assert [r["id"] for r in api.get("shop_b", "/api/referrals")[1]["referrals"]] == [other["id"]]
    # Read-only: the analyst neither answers nor closes.
    for action in ("answer", "close"):
        status, refused = api.post(
            "analyst", f"/api/referrals/{opened['id']}/{action}", {"text": "x"}
        )
        assert (status, refused["errors"][0]["code"]) == (403, "forbidden")


SECRET = "s" * 40
UNSIGNED = {
    "ok": False,
    "errors": [
        {
            "code": "unauthenticated",
            "field": "",
            "message": "the notification is not signed by a known sender",
        }
    ],
    "status": 401,
}


def _notify(api: Api, body: bytes, key: str, signature: str) -> tuple[int, Any]:
    answer = api.client.post(
        "/api/inbox/customs-a",
        content=body,
        headers={"Clearway-Signature": signature, "Idempotency-Key": key},
    )
    return answer.status_code, answer.json()


def test_signed_notifications_cannot_be_replayed(api: Api, engine: Engine) -> None:
    add_sender(engine, "customs-a", SECRET, datetime.now(UTC), api.client.app.state.context.sealer)
    body = b'{"type": "declaration.filed", "declaration_id": "S-1"}'
    now = int(time.time())
    signature = sign(SECRET, body, "evt-1", now)
    assert _notify(api, body, "evt-1", signature) == (200, {"ok": True, "new": True})
    # The same request again is the retry already kept.
    assert _notify(api, body, "evt-1", signature) == (200, {"ok": True, "new": False})
    # Replayed under a new key: the key is signed, so it no longer verifies.
    assert _notify(api, body, "evt-2", signature) == (401, UNSIGNED)
    # Signed properly but older than the replay window (60 s here).
    stale = sign(SECRET, body, "evt-3", now - 120)
    assert _notify(api, body, "evt-3", stale) == (401, UNSIGNED)
    # The signature of the earlier scheme (without the key) is refused.
    mac = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert _notify(api, body, "evt-4", f"t={now},v1={mac}") == (401, UNSIGNED)
    assert [(r["idempotency_key"], r["event_type"]) for r in list_inbound(engine)] == [
        ("evt-1", "declaration.filed")
    ]


@given(
    key=st.text(st.characters(blacklist_characters="\r\n"), min_size=1, max_size=40),
    other=st.text(st.characters(blacklist_characters="\r\n"), min_size=1, max_size=40),
    body=st.binary(max_size=200),
    skew=st.integers(-1000, 1000),
)
def test_a_signature_verifies_for_its_key_and_window_only(
    key: str, other: str, body: bytes, skew: int
) -> None:
    now = 1_800_000_000
    header = sign(SECRET, body, key, now + skew)
    assert verify(SECRET, body, key, header, now, window=300) is (abs(skew) <= 300)
    if other != key:
        assert not verify(SECRET, body, other, header, now, window=1000)
    # Moving bytes between the key and the body never keeps a signature.
    if len(key) > 1:
        shifted = key[-1].encode() + body
        assert not verify(SECRET, shifted, key[:-1], header, now, window=1000)


def test_the_queue_rule_filter_is_literal(engine: Engine, tmp_path: Path) -> None:
    banned = f.declaration(items=[f.item(description="Solvent trap kit", hs_code="732690")])
    plain = f.declaration()
    _ingest(
        engine, tmp_path, load_or_create_keys(tmp_path / "l.key", "x.example/log"), [banned, plain]
    )

    def matching(rule: str) -> list[str]:
        rows, total = read_queue(engine, QueueFilter(lane=None, rule=rule), count=True)
        assert total == len(rows)
        return [r["declaration_id"] for r in rows]

    assert matching("prohibited-terms") == [banned["declaration_id"]]
    assert matching("%") == []
    assert matching("prohibited_terms") == [], "_ is not a wildcard"
    assert matching("prohibited%") == []
    assert matching("/") == []


def _master(carrier: str, houses: list[str]) -> dict[str, Any]:
    return f.master(
        houses,
        master_ref="176-12345675",
        filer={"id": carrier, "role": "carrier", "name": carrier},
        destination_country="US",
    )


def test_a_master_reference_belongs_to_its_carrier(api: Api, engine: Engine) -> None:
    status, filed = api.post("car_1", "/api/declarations", _master("car-1", ["H-1"]))
    assert (status, filed["accepted"], filed["rejected"]) == (200, 1, 0), filed
    status, refused = api.post("car_2", "/api/declarations", _master("car-2", ["H-1", "H-2"]))
    assert status == 422
    assert (refused["accepted"], refused["rejected"]) == (0, 1)
    assert refused["errors"] == [
        {
            "code": "master_ref_taken",
            "field": "[1].master_ref",
            "message": "master reference '176-12345675' is filed by another carrier; "
            "file masters under your own master references",
        }
    ]
    assert "car-1" not in orjson.dumps(refused).decode()
    # The carrier that filed it amends it as before.
    status, amended = api.post("car_1", "/api/declarations", _master("car-1", ["H-1", "H-3"]))
    assert (status, amended["accepted"], amended["rejected"]) == (200, 1, 0), amended
    master = get_master(engine, "176-12345675")
    assert (master.filer_id, master.version) == ("car-1", 2)
    assert master_filers(engine, {"176-12345675"}) == {"176-12345675": {"car-1"}}


def test_nul_in_referral_and_operator_texts_is_422_naming_the_field(api: Api) -> None:
    """PostgreSQL text cannot hold NUL: refused per field, not a 500."""
    status, body = api.post(
        "officer",
        "/api/declarations/S-1/referrals?filer=mkt-a",
        {"kind": "rfi", "message": "Invoice\u0000please", "due_hours": 24},
    )
    assert status == 422
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("body.message", "Value error, must not contain the NUL character (\\u0000)")
    ]
    status, opened = api.post(
        "officer",
        "/api/declarations/S-1/referrals?filer=mkt-a",
        {"kind": "rfi", "message": "Invoice please", "due_hours": 24},
    )
    assert status == 201, opened
    status, body = api.post("shop_a", f"/api/referrals/{opened['id']}/answer", {"text": "a\u0000"})
    assert (status, body["errors"][0]["field"]) == (422, "body.text")
    status, body = api.post(
        "officer", "/api/operators", {"filer_id": "mkt-a", "name": "Shop\u0000A", "tier": "gold"}
    )
    assert (status, body["errors"][0]["field"]) == (422, "body.name")
