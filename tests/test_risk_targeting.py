"""Risk features, targeting rules and lanes on hand-made cases."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from clearway.declarations.batch import prepare_batch
from clearway.declarations.intake import RawRecord
from clearway.errors import ValidationFailed
from clearway.risk.features import ValueReference, risk_features
from clearway.risk.frame import risk_frame
from clearway.risk.lanes import LanePolicy, decide
from clearway.risk.rules import builtin_rules, evaluate_rules, load_rules
from tests import factories as f

DAY = date(2026, 11, 20)


def _houses(*docs: dict) -> list:
    import orjson

    records = [RawRecord("t", i + 1, orjson.dumps(d)) for i, d in enumerate(docs)]
    batch = prepare_batch(records)
    assert not batch.rejections, batch.rejections
    return batch.houses


def _parcel(value: str, at: str, consignee: str = "Jane Roe", seller: str = "Shenzhen Gadget Co"):
    return f.declaration(
        items=[f.item(unit_value=value, quantity=1)],
        filed_at=at,
        consignee__name=consignee,
        seller__name=seller,
        totals={"value": value, "currency": "EUR"},
    )


def test_split_shipment_across_three_parcels_is_found() -> None:
    split = [_parcel("90.00", f"2026-11-20T{h:02d}:00:00Z") for h in (8, 9, 10)]
    other = _parcel("90.00", "2026-11-20T09:30:00Z", consignee="John Smith")
    later = _parcel("90.00", "2026-11-23T09:00:00Z")
    houses = _houses(*split, other, later)
    frame = risk_frame(houses)
    # Every part counts all three: the later parts are filed before arrival.
    assert frame["consignee_seller_parcels_24h"].tolist() == [3, 3, 3, 1, 1]
    assert frame["consignee_seller_value_24h"][0] == pytest.approx(270.0)
    rules = builtin_rules()
    active, hits = evaluate_rules(rules, frame, DAY)
    fired = hits[:, [r.id for r in active].index("split-shipment")]
    assert fired.tolist() == [True, True, True, False, False]


def test_value_z_scores_against_the_reference() -> None:
    per_kg = np.log(np.array([100.0, 110, 90, 105, 95]))
    reference = ValueReference(min_count=3).fit(
        ["851830"] * 5, ["EUR"] * 5, np.column_stack([per_kg, per_kg - np.log(10)])
    )
    cheap = f.declaration(items=[f.item(unit_value="1.00", net_weight_kg="0.1")])
    normal = f.declaration(items=[f.item(unit_value="10.00", net_weight_kg="0.1")])
    unknown = f.declaration(items=[f.item(hs_code="950300", unit_value="1.00")])
    frame = risk_features(_houses(cheap, normal, unknown), reference=reference)
    assert frame["value_z"][0] < -5
    assert abs(frame["value_z"][1]) < 1
    assert frame["value_z"][2] == 0.0  # no reference for the group: no signal
    assert frame["unit_value_z"][0] < -5
    assert abs(frame["unit_value_z"][1]) < 1


def test_description_signals() -> None:
    fake = f.declaration(items=[f.item(description="Rolex submariner watch", unit_value="25.00")])
    real = f.declaration(items=[f.item(description="Rolex submariner watch", unit_value="9000")])
    banned = f.declaration(items=[f.item(description="Solvent trap kit 1/2x28")])
    # Without a merchant id: accepted only when filed before 2026-11-01.
    bare = f.declaration(
        items=[f.item(gtin=None, sku=None), f.item(sku="S2")], filed_at="2026-10-31T10:00:00Z"
    )
    frame = risk_features(_houses(fake, real, banned, bare))
    assert frame["luxury_brand_below_floor"].tolist() == [1, 0, 0, 0]
    assert frame["prohibited_terms"].tolist() == [0, 0, 1, 0]
    assert frame["unidentified_item_share"].tolist() == [0, 0, 0, 0.5]
    assert frame["missing_identifier_share"][3] == 0.5


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"feature": "nonsense", "op": ">", "value": 1}, "rule r1.when", "unknown feature"),
        ({"feature": "dq_score", "op": "~", "value": 1}, "rule r1.when", "op must be one of"),
        ({"feature": "dq_score", "op": ">", "value": "high"}, "rule r1.when", "is numeric"),
        ({"feature": "mode", "op": ">", "value": "air"}, "rule r1.when", "is text"),
    ],
)
def test_invalid_rules_are_refused_naming_the_rule(rule: dict, field: str, words: str) -> None:
    import yaml

    text = yaml.safe_dump(
        {
            "version": 1,
            "rules": [
                {
                    "id": "r1",
                    "owner": "me",
                    "valid_from": "2026-01-01",
                    "when": rule,
                    "weight": 0.5,
                    "reason": "x",
                }
            ],
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        load_rules(text=text)
    assert any(d.field.startswith(field) and words in d.message for d in caught.value.details)


def test_rule_period_lane_and_ids_are_checked() -> None:
    text = _rules(
        {"id": "a", "valid_from": "2026-02-01", "valid_to": "2026-01-01"},
        {"id": "b", "min_lane": "purple"},
        {"id": "b", "weight": 2},
    )
    with pytest.raises(ValidationFailed) as caught:
        load_rules(text=text)
    messages = " | ".join(f"{d.field}: {d.message}" for d in caught.value.details)
    assert "rule a: valid_to must not be before valid_from" in messages
    assert "rule b.min_lane" in messages
    assert "rule b.weight" in messages


def test_rules_outside_their_validity_do_not_fire() -> None:
    rules = load_rules(
        text=_rules(
            {"id": "old", "valid_from": "2025-01-01", "valid_to": "2025-12-31"},
            {"id": "now"},
            version=2,
        )
    )
    active, hits = evaluate_rules(rules, {"dq_score": np.array([0.5, 0.9])}, DAY)
    assert [r.id for r in active] == ["now"]
    assert hits.all()


def _rules(*rules: dict, version: int = 1) -> str:
    import yaml

    base = {"owner": "me", "valid_from": "2026-01-01", "weight": 0.5, "reason": "x"}
    when = {"feature": "dq_score", "op": "<=", "value": 1}
    return yaml.safe_dump(
        {"version": version, "rules": [{**base, "when": when, **rule} for rule in rules]}
    )


def _frame(n: int, forced: int = 0) -> dict[str, np.ndarray]:
    from clearway.risk.features import FEATURES
    from clearway.risk.rules import FIELDS

    frame: dict[str, np.ndarray] = {name: np.zeros(n) for name in FEATURES}
    frame.update({name: np.full(n, "") for name in FIELDS})
    frame["dq_score"] += 1.0
    frame["screening_score"][:forced] = 1.0
    return frame


def test_red_lane_capacity_is_never_exceeded() -> None:
    scores = np.linspace(0, 1, 1000)
    policy = LanePolicy(capacity=30, exploration_share=0.1)
    # More rules asking for red than there is capacity.
    done = decide(_frame(1000, forced=50), builtin_rules(), DAY, policy, model_scores=scores)
    assert (done.lane == "red").sum() == 30
    assert (done.selected_by == "rule").sum() == 30
    assert (done.selected_by == "over_capacity").sum() == 20
    assert all(done.lane[done.selected_by == "over_capacity"] == "yellow")


def test_capacity_goes_to_the_riskiest_then_to_random_selection() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(1000)
    done = decide(
        _frame(1000),
        builtin_rules(),
        DAY,
        LanePolicy(capacity=50, exploration_share=0.2),
        model_scores=scores,
    )
    red = done.lane == "red"
    assert red.sum() == 50
    by_score = done.selected_by == "score"
    assert by_score.sum() == 40
    assert scores[by_score].min() >= np.sort(scores)[-40]
    explored = done.selected_by == "exploration"
    assert explored.sum() == 10
    assert all("selected at random" in " ".join(done.reasons[i]) for i in np.flatnonzero(explored))


def test_black_lane_only_for_pre_loading_filings() -> None:
    rules = load_rules(
        text=_rules(
            {
                "id": "dnl",
                "when": {"feature": "screening_score", "op": ">=", "value": 1},
                "weight": 1,
                "min_lane": "black",
            }
        )
    )
    frame = _frame(4, forced=2)
    done = decide(
        frame,
        rules,
        DAY,
        LanePolicy(capacity=5),
        pre_loading=np.array([True, False, True, False]),
    )
    assert done.lane.tolist()[:2] == ["black", "red"]


def test_reasons_name_the_rule_and_the_model_features() -> None:
    doc = f.declaration(items=[f.item(description="Solvent trap kit", hs_code="732690")])
    done = decide(risk_frame(_houses(doc)), builtin_rules(), DAY, LanePolicy(capacity=1))
    assert done.lane.tolist() == ["red"]
    assert done.fired == [("prohibited-terms",)]
    assert "(rule prohibited-terms)" in done.reasons[0][0]
    assert done.score[0] == pytest.approx(0.9)


def test_pipeline_stores_lanes_and_show_prints_them(tmp_path, sqlite_url: str) -> None:
    from tests.test_cli import clearway

    banned = f.declaration(items=[f.item(description="Solvent trap kit", hs_code="732690")])
    fine = [f.declaration() for _ in range(30)]
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(banned, *fine))
    done = clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url)
    assert done.returncode == 0, done.stderr
    shown = clearway("show", banned["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert "lane red" in shown.stdout
    assert "(rule prohibited-terms)" in shown.stdout
    import orjson

    data = orjson.loads(
        clearway("show", fine[0]["declaration_id"], "--json", cwd=tmp_path, url=sqlite_url).stdout
    )
    assert data["risk"]["lane"] in {"green", "yellow", "red"}
    assert data["risk"]["rules_version"] == 1
    # 31 declarations at 5%: one red slot, taken by the rule.
    from sqlalchemy import create_engine, text

    with create_engine(sqlite_url).connect() as conn:
        lanes = dict(
            conn.execute(text("select lane, count(*) from risk_decisions group by lane")).all()
        )
    assert lanes.get("red") == 1


def test_daily_capacity_per_office_is_never_exceeded(engine, tmp_path) -> None:
    from sqlalchemy import text

    from clearway.clearance import RiskOptions, Stages
    from clearway.wiring import ingest_files

    # Three batches of 40 at a 10% share would take 12 red lanes; the
    # office's day allows 5. The other office has its own 5.
    docs = [
        f.declaration(transport__arrival_office="DEFRA" if i % 2 else "DEMUC") for i in range(120)
    ]
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    stages = Stages(risk=RiskOptions(inspection_share=0.2, daily_capacity=5))
    ingest_files(engine, [path], batch_size=40, stages=stages)
    with engine.connect() as conn:
        red = dict(
            conn.execute(
                text(
                    "select d.arrival_office, count(*) from risk_decisions r "
                    "join declarations d on d.id = r.declaration_id "
                    "where r.lane = 'red' group by d.arrival_office"
                )
            ).all()
        )
    assert red == {"DEFRA": 5, "DEMUC": 5}


@pytest.mark.parametrize(
    "text", ["version: 1\nrules:\n  - valid_from: 2026-02-30\n", "[" * 5000, "a: &x [*x"]
)
def test_unreadable_rules_are_refused_with_the_source(text: str) -> None:
    # Found by fuzzing: an impossible date made PyYAML raise ValueError.
    from clearway.errors import InputError
    from clearway.risk.rules import load_rules

    with pytest.raises(InputError) as refused:
        load_rules(text=text)
    assert refused.value.message.startswith("rules: cannot be read as YAML")


def test_a_key_spelt_like_a_rule_position_is_an_unknown_field() -> None:
    # Found by fuzzing: "rules[" as a key made the error wording crash.
    from clearway.errors import ValidationFailed
    from clearway.risk.rules import load_rules

    with pytest.raises(ValidationFailed) as refused:
        load_rules(text="version: 1\nrules: []\n'rules[': 1\n")
    assert [d.field for d in refused.value.details] == ["rules["]
