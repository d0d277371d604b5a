"""Bad shapes are refused per record, in words, and never lose the rest of
a batch: times outside a window around receipt, NUL characters (which
PostgreSQL cannot store), booleans for counts, numbers for times, '/' in
identifiers; odd JSON bodies and ``%00`` in URLs are 4xx in the one error
shape. Both decoders (pydantic, msgspec) agree on every rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from clearway.api import create_app
from clearway.declarations import Declaration, validate_record
from clearway.declarations.batch import prepare_batch
from clearway.declarations.bounds import TimeWindow
from clearway.declarations.fastpath import decode_house
from clearway.declarations.intake import RawRecord
from clearway.settings import Settings
from clearway.store.participants import add_participant
from clearway.store.schema import declarations
from tests import factories as f
from tests.test_cli import clearway

WINDOW = TimeWindow()
ERROR_KEYS = {"code", "field", "message"}

TEXT_PATHS = [
    ("declaration_id",),
    ("filer", "id"),
    ("filer", "name"),
    ("seller", "name"),
    ("seller", "address", "street"),
    ("consignee", "name"),
    ("consignee", "address", "city"),
    ("marketplace", "name"),
    ("transport", "tracking_number"),
    ("items", 0, "description"),
    ("items", 0, "sku"),
    ("items", 0, "category_path"),
    ("items", 0, "material"),
]
IDENTIFIER_PATHS = [
    ("declaration_id",),
    ("filer", "id"),
    ("transport", "tracking_number"),
    ("transport", "master_ref"),
    ("seller", "marketplace_seller_id"),
    ("marketplace", "id"),
]


def _name(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    target: Any = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


def _codes(result: object) -> set[tuple[str, str]]:
    assert isinstance(result, list), f"accepted: {result}"
    return {(e.field, e.code) for e in result}


def _both(doc: dict[str, Any]) -> tuple[object, object]:
    """What intake decides for ``doc`` as JSON text and as a parsed mapping
    (JSON documents and CSV rows arrive as mappings)."""
    raw = orjson.dumps(doc)
    batch = prepare_batch([RawRecord("t", 1, raw), RawRecord("t", 2, doc)], WINDOW)
    assert len(batch.houses) + len(batch.rejections) == 2
    by_position = {r.position: list(r.errors) for r in batch.rejections}
    return by_position.get(1, "accepted"), by_position.get(2, "accepted")


# -- NUL characters ------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(TEXT_PATHS),
    before=st.text(st.characters(codec="utf-8"), max_size=8),
    after=st.text(st.characters(codec="utf-8"), max_size=8),
)
def test_any_text_with_nul_is_refused_naming_its_field(
    path: tuple[Any, ...], before: str, after: str
) -> None:
    doc = _set(f.declaration(), path, f"{before}x\x00{after}")
    raw = orjson.dumps(doc)
    assert decode_house(raw) is None
    for result in (*_both(doc), validate_record(raw), validate_record(doc)):
        assert (_name(path), "nul_character") in _codes(result)
        assert all("\x00" not in e.message for e in result)  # type: ignore[union-attr]


def test_nul_in_a_field_name_is_named_escaped() -> None:
    doc = f.declaration()
    doc["seller"]["na\x00me"] = "x"
    result = validate_record(orjson.dumps(doc))
    assert ("seller.na\\x00me", "nul_character") in _codes(result)


# -- times ---------------------------------------------------------------------

zones = st.sampled_from([UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))])


@settings(max_examples=150, deadline=None)
@given(
    offset=st.integers(
        min_value=-int(WINDOW.max_past.total_seconds()) + 3600,
        max_value=int(WINDOW.max_future.total_seconds()) - 3600,
    ),
    zone=zones,
)
def test_any_time_in_the_window_is_accepted_on_both_paths(offset: int, zone: timezone) -> None:
    moment = (datetime.now(UTC) + timedelta(seconds=offset)).astimezone(zone)
    doc = f.declaration(filed_at=moment.isoformat())
    raw = orjson.dumps(doc)
    fast = decode_house(raw)
    assert fast is not None
    assert isinstance(validate_record(raw, WINDOW), Declaration)
    assert _both(doc) == ("accepted", "accepted")


@settings(max_examples=150, deadline=None)
@given(
    moment=st.one_of(
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime.now() - timedelta(days=1826)),
        st.datetimes(
            min_value=datetime.now() + timedelta(days=2), max_value=datetime(9999, 12, 30)
        ),
    ),
    zone=zones,
    field=st.sampled_from(["filed_at", "transport.expected_arrival"]),
)
def test_any_time_far_from_receipt_is_refused_with_its_field(
    moment: datetime, zone: timezone, field: str
) -> None:
    aware = moment.replace(tzinfo=zone)
    if field != "filed_at" and aware < datetime.now(UTC) + timedelta(days=181):
        aware = aware + timedelta(days=400)  # arrivals may lie further ahead
    doc = f.declaration(**{field.replace(".", "__"): aware.isoformat()})
    for result in _both(doc):
        assert _codes(result) == {(field, "time_out_of_window")}
        message = next(e.message for e in result)  # type: ignore[union-attr]
        assert aware.isoformat() in message
        assert "filed_at_max_past_days" in message


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",  # beyond the calendar in UTC
        "0001-01-01T00:00:00+01:00",  # before it in UTC
        "1970-01-01T00:00:00Z",
        "2100-01-01T00:00:00Z",
    ],
)
def test_reviewed_far_dates_are_refused(value: str) -> None:
    for field in ("filed_at", "transport__expected_arrival"):
        result = _both(f.declaration(**{field: value}))
        assert {c for _, c in _codes(result[0])} == {"time_out_of_window"}
        assert result[0] == result[1]
    master = f.master(["TRK1"], filed_at=value)
    batch = prepare_batch([RawRecord("t", 1, orjson.dumps(master))], WINDOW)
    assert [(e.field, e.code) for e in batch.rejections[0].errors] == [
        ("filed_at", "time_out_of_window")
    ]


def test_the_window_is_the_settings() -> None:
    from clearway.clearance.stages import window_for

    window = window_for(
        Settings(
            filed_at_max_past_days=30,
            filed_at_max_future_minutes=5,
            expected_arrival_max_future_days=10,
        )
    )
    assert window == TimeWindow(timedelta(days=30), timedelta(minutes=5), timedelta(days=10))
    now = datetime.now(UTC)
    late = f.declaration(filed_at=(now + timedelta(minutes=20)).isoformat())
    old = f.declaration(filed_at=(now - timedelta(days=40)).isoformat())
    batch = prepare_batch([RawRecord("t", 1, orjson.dumps(late)), RawRecord("t", 2, old)], window)
    assert [r.errors[0].code for r in batch.rejections] == ["time_out_of_window"] * 2
    # No window (a replay of stored history): the same filings pass.
    assert len(prepare_batch([RawRecord("t", 1, orjson.dumps(old))]).houses) == 1


def test_epoch_numbers_are_not_times() -> None:
    for value in (1764600000, 0, 1.5):
        doc = f.declaration(filed_at=value)
        assert decode_house(orjson.dumps(doc)) is None
        for result in _both(doc):
            assert _codes(result) == {("filed_at", "datetime_type")}


# -- booleans for numbers, identifiers -------------------------------------------


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (("items", 0, "quantity"), "number_type"),
        (("totals", "packages"), "number_type"),
        (("items", 0, "unit_value"), "decimal_type"),
    ],
)
@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(path: tuple[Any, ...], code: str, value: bool) -> None:
    doc = _set(f.declaration(), path, value)
    assert decode_house(orjson.dumps(doc)) is None
    for result in _both(doc):
        assert (_name(path), code) in _codes(result)


@settings(max_examples=80, deadline=None)
@given(
    path=st.sampled_from(IDENTIFIER_PATHS),
    left=st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=5),
)
def test_identifiers_with_a_slash_are_refused_on_both_paths(
    path: tuple[Any, ...], left: str
) -> None:
    doc = _set(f.declaration(), path, f"{left}/x")
    raw = orjson.dumps(doc)
    for result in _both(doc):
        assert (_name(path), "identifier_slash") in _codes(result)
    assert (_name(path), "identifier_slash") in _codes(validate_record(raw))


def test_house_refs_of_a_master_with_a_slash_are_refused() -> None:
    result = validate_record(orjson.dumps(f.master(["TRK1", "TRK/2"], master_ref="M/1")))
    assert _codes(result) == {
        ("master_ref", "identifier_slash"),
        ("house_refs[1]", "identifier_slash"),
    }


# -- over HTTP and the CLI, on both stores -----------------------------------------


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app_settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        ledger_key_file=str(tmp_path / "ledger.key"),
        classifier_model_file=str(tmp_path / "none.npz"),
        risk_model_file=str(tmp_path / "none.json"),
        decision_wait_ms=60_000,
    )
    keys = {
        "shop": add_participant(engine, "shop", "marketplace", filer_id="mkt-1").key,
        "officer": add_participant(engine, "officer", "customs_officer").key,
    }
    client = TestClient(create_app(app_settings, engine=engine), raise_server_exceptions=False)
    yield client, {name: f"Bearer {key}" for name, key in keys.items()}
    client.app.state.context.service.stop()  # type: ignore[attr-defined]


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(declarations)).scalar_one())


def _one_shape(body: dict[str, Any], status: int) -> None:
    assert body["ok"] is False
    assert body["status"] == status
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) >= ERROR_KEYS


def test_nul_is_refused_per_record_over_http_and_the_rest_stored(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, keys = api
    docs = [f.declaration() for _ in range(4)]
    docs[1]["seller"]["name"] = "Bad\x00Seller"
    docs[3]["items"][0]["description"] = "\x00"
    answer = client.post(
        "/api/declarations", content=orjson.dumps(docs), headers={"Authorization": keys["shop"]}
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    _one_shape(body, 422)
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("[2].seller.name", "nul_character"),
        ("[4].items[0].description", "nul_character"),
    }
    assert _stored(engine) == 2


def test_odd_bodies_are_refused_per_record_in_the_one_shape(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, keys = api
    shop = {"Authorization": keys["shop"]}
    good = f.declaration()
    # 300 levels: orjson reads up to 1024 but writes only 255.
    deep = b'{"a":' * 300 + b"1" + b"}" * 300
    odd = b'[{"filer": "x"}, 3, "text", {"filer": {"id": 7}}, ' + deep + b", [[[]]], "
    body = odd + orjson.dumps(good) + b"]"
    answer = client.post("/api/declarations", content=body, headers=shop)
    assert answer.status_code == 422, answer.text
    found = answer.json()
    _one_shape(found, 422)
    assert (found["accepted"], found["rejected"]) == (1, 6)
    codes = {(e["field"], e["code"]) for e in found["errors"]}
    assert ("[1].filer", "model_type") in codes
    assert ("[2].", "not_an_object") in codes
    assert ("[5].", "too_deep") in codes
    assert _stored(engine) == 1
    single = client.post("/api/declarations", content=b'{"filer": "x"}', headers=shop)
    assert single.status_code == 422
    _one_shape(single.json(), 422)
    nested = client.post("/api/declarations", content=b"[" * 2000 + b"]" * 2000, headers=shop)
    assert nested.status_code == 400
    _one_shape(nested.json(), 400)


def test_quantity_true_is_refused_over_http(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, keys = api
    doc = f.declaration(items=[f.item(quantity=True)])
    answer = client.post(
        "/api/declarations", content=orjson.dumps(doc), headers={"Authorization": keys["shop"]}
    )
    assert answer.status_code == 422
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [
        ("[1].items[0].quantity", "number_type")
    ]
    assert _stored(engine) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/declarations/a%00b",
        "/api/declarations/a%00b/status",
        "/api/declarations/a/status?filer=%00",
        "/api/operators/%00",
        "/api/ledger/entries/%00",
        "/api/health%00",
        "/declarations/%00",
    ],
)
def test_nul_in_a_url_is_400_in_the_one_shape(
    api: tuple[TestClient, dict[str, str]], path: str
) -> None:
    client, keys = api
    for headers in ({}, {"Authorization": keys["officer"]}):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 400, answer.text
        _one_shape(answer.json(), 400)
        assert answer.json()["errors"][0]["code"] == "nul_character"


def test_nul_in_an_outcome_reason_is_422(
    api: tuple[TestClient, dict[str, str]], engine: Engine
) -> None:
    client, keys = api
    doc = f.declaration()
    shop, officer = {"Authorization": keys["shop"]}, {"Authorization": keys["officer"]}
    assert client.post("/api/declarations", content=orjson.dumps(doc), headers=shop).is_success
    answer = client.post(
        f"/api/declarations/{doc['declaration_id']}/outcome",
        json={"outcome": "seized", "reason": "found\x00"},
        headers=officer,
    )
    assert answer.status_code == 422, answer.text
    _one_shape(answer.json(), 422)
    assert answer.json()["errors"][0]["field"] == "body.reason"


def test_cli_ingest_stores_the_valid_records_of_a_batch_with_nul(
    engine: Engine, tmp_path: Path
) -> None:
    docs = [f.declaration() for _ in range(6)]
    docs[2]["consignee"]["name"] = "Anna\x00"
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    done = clearway(
        "ingest",
        str(path),
        "--json",
        cwd=tmp_path,
        url=engine.url.render_as_string(hide_password=False),
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    report = orjson.loads(done.stdout)
    assert (report["accepted"], report["rejected"]) == (5, 1)
    assert _stored(engine) == 5
    # The same as one JSON document (records arrive as parsed mappings).
    docs = [f.declaration() for _ in range(3)]
    docs[0]["filer"]["name"] = "\x00"
    whole = tmp_path / "in.json"
    whole.write_bytes(orjson.dumps(docs))
    done = clearway(
        "ingest", str(whole), cwd=tmp_path, url=engine.url.render_as_string(hide_password=False)
    )
    assert done.returncode == 2, done.stderr
    assert "filer.name" in done.stdout + done.stderr
    assert _stored(engine) == 7


def test_csv_rows_with_nul_are_refused_alone(tmp_path: Path) -> None:
    from clearway.declarations.intake import IntakeLimits, read_records

    header = (
        "declaration_id,filer.id,filer.role,destination_country,transport.mode,"
        "transport.departure_country,seller.name,consignee.country,totals.value,"
        "totals.currency,item.description,item.quantity,item.unit_value,item.currency,"
        # EU filings need merchant and maker product ids from 2026-11-01.
        "item.sku,item.mpn"
    )
    rows = [
        "C-1,mkt-1,marketplace,DE,air,CN,Good Seller,DE,5.00,EUR,cotton t-shirt,1,5.00,EUR,S,M",
        "C-2,mkt-1,marketplace,DE,air,CN,Bad\x00Seller,DE,5.00,EUR,cotton t-shirt,1,5.00,EUR,S,M",
    ]
    path = tmp_path / "in.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    batch = prepare_batch(list(read_records([path], IntakeLimits())), WINDOW)
    assert [h.ref for h in batch.houses] == ["C-1"]
    assert [(e.field, e.code) for e in batch.rejections[0].errors] == [
        ("seller.name", "nul_character")
    ]
