"""The trusted e-commerce operator programme: tiers from measures, the
register's history, and benefits that never lift screening or prohibited-goods rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from clearway.clearance import RiskOptions, Stages
from clearway.parties.operators import Measures, decide_tier, load_tiers
from clearway.store.operators import list_operators, register_operator, review_operators
from clearway.store.outcomes import OutcomeRow, record_outcomes
from clearway.store.report import declaration_report
from clearway.wiring import ingest_files
from tests import factories as f

GOOD = Measures(filings=500, data_quality=0.97, advance_hours=40, fault_rate=0.0, response_hours=3)


def test_tiers_from_measures() -> None:
    tiers = load_tiers()
    assert decide_tier(tiers, "standard", GOOD).tier == "trusted"
    few = Measures(10, 0.97, 40, 0.0, None)
    assert decide_tier(tiers, "standard", few).tier == "standard"
    faulty = Measures(500, 0.97, 40, 0.10, None)
    suspended = decide_tier(tiers, "trusted", faulty)
    assert suspended.tier == "suspended"
    assert "fault rate 0.100 > 0.02" in suspended.reason
    # A suspension lasts until the criteria are met again.
    assert decide_tier(tiers, "suspended", faulty).tier == "suspended"
    assert decide_tier(tiers, "suspended", GOOD).tier == "trusted"
    # No referral answered is not a slow answer; no data quality is no trust.
    assert decide_tier(tiers, "standard", Measures(500, None, 40, None, None)).tier == "standard"


def test_review_benefits_and_suspension(engine: Engine, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    register_operator(engine, "mkt-1", "Shopzilla", "marketplace", now)
    docs = [f.declaration() for _ in range(110)]
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*docs))
    ingest_files(engine, [path])
    record_outcomes(
        engine, [OutcomeRow(d["declaration_id"], "cleared", "ok") for d in docs[:50]], now
    )
    changes = review_operators(engine, now)
    assert [(c["filer_id"], c["previous"], c["tier"]) for c in changes] == [
        ("mkt-1", "standard", "trusted")
    ]
    assert changes[0]["measures"]["filings"] == 110
    assert changes[0]["measures"]["fault_rate"] == 0.0
    # Intake with the programme's benefits: lower scores, same rule lanes.
    from clearway.store.operators import operator_benefits

    benefits = operator_benefits(engine)
    assert benefits == (("mkt-1", 0.5, 0.25),)
    banned = f.declaration(items=[f.item(description="Solvent trap kit", hs_code="732690")])
    late = tmp_path / "late.jsonl"
    late.write_bytes(f.jsonl(banned))
    # A batch of one: the whole red lane is one slot.
    stages = Stages(risk=RiskOptions(inspection_share=1.0, operator_benefits=benefits))
    ingest_files(engine, [late], stages=stages)
    _, report = declaration_report(engine, banned["declaration_id"])
    assert report["risk"]["lane"] == "red", "prohibited-goods rules keep their force"
    assert report["risk"]["score"] == 0.45  # the rule's 0.9, halved
    assert "trusted operator: score lowered by 50%" in report["risk"]["reasons"]
    # Faults found: the operator is suspended, with the measure that failed.
    record_outcomes(
        engine, [OutcomeRow(d["declaration_id"], "seized", "fake") for d in docs[50:60]], now
    )
    (change,) = review_operators(engine, now)
    assert change["tier"] == "suspended"
    assert "fault rate" in change["reason"]
    (operator,) = list_operators(engine, history=True)
    assert [h["tier"] for h in operator["history"]] == ["standard", "trusted", "suspended"]
    assert operator_benefits(engine) == ()


def test_fewer_random_checks_for_trusted_operators() -> None:
    from clearway.risk.lanes import LanePolicy, Scored, assign_lanes

    n = 2000
    scored = Scored(
        np.zeros(n), np.zeros(n, dtype=np.intp), np.zeros(n, dtype=bool), [()] * n, [()] * n
    )
    weights = np.where(np.arange(n) < n // 2, 0.25, 1.0)  # first half trusted
    done = assign_lanes(
        scored, LanePolicy(capacity=200, exploration_share=1.0), random_weights=weights
    )
    explored = np.flatnonzero(done.selected_by == "exploration")
    assert len(explored) == 200
    trusted = (explored < n // 2).sum()
    assert 10 < trusted < 70  # about a fifth of picks, not none, not half
