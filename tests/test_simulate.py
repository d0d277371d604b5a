from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import orjson

from clearway.declarations import Declaration, MasterFiling, validate_record
from clearway.simulate import VIOLATIONS, SimulationConfig, write_simulation


def run(tmp_path: Path, seed: int, name: str, **kw: int) -> tuple[Path, Path]:
    out, truth = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.csv"
    write_simulation(SimulationConfig(seed=seed, **kw), out, truth)
    return out, truth


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_output_other_seed_other_output(tmp_path: Path) -> None:
    a, ta = run(tmp_path, 11, "a", days=1, per_day=300)
    b, tb = run(tmp_path, 11, "b", days=1, per_day=300)
    c, _ = run(tmp_path, 12, "c", days=1, per_day=300)
    assert digest(a) == digest(b)
    assert digest(ta) == digest(tb)
    assert digest(a) != digest(c)


def test_traffic_is_valid_varied_and_labelled(tmp_path: Path) -> None:
    out, truth = run(tmp_path, 3, "t", days=3, per_day=3000)
    filings = [validate_record(line) for line in out.read_bytes().splitlines()]
    assert not [r for r in filings if isinstance(r, list)], "simulated filings must validate"
    houses = [d for d in filings if isinstance(d, Declaration)]
    masters = [m for m in filings if isinstance(m, MasterFiling)]
    assert len(houses) == 9000
    assert masters

    origins = Counter(i.origin_country for d in houses for i in d.items)
    top_two = sum(n for _, n in origins.most_common(2)) / sum(origins.values())
    assert top_two > 0.55, "a few countries should dominate"
    chapters = Counter(i.hs_code[:2] for d in houses for i in d.items if i.hs_code)
    assert {"61", "64", "85", "95", "33"} <= set(chapters)
    sellers = Counter(d.seller.name for d in houses)
    assert sellers.most_common(1)[0][1] > 20, "big sellers file repeatedly"
    assert len({d.filer.role for d in houses}) >= 3
    assert {d.destination_country for d in houses} >= {"US", "DE", "GB"}

    with truth.open() as stream:
        rows = list(csv.DictReader(stream))
    assert {r["declaration_id"] for r in rows} == {d.declaration_id for d in houses}
    labels = Counter(v for r in rows for v in r["violations"].split(";") if v)
    assert set(labels) == set(VIOLATIONS)
    assert 0.03 < sum(1 for r in rows if r["violations"]) / len(rows) < 0.25


def test_split_shipments_go_to_one_consignee_below_threshold(tmp_path: Path) -> None:
    out, truth = run(tmp_path, 4, "s", days=2, per_day=3000)
    with truth.open() as stream:
        split = {
            r["declaration_id"]
            for r in csv.DictReader(stream)
            if "split_shipment" in r["violations"]
        }
    docs = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    groups = Counter(
        (d["consignee"]["name"], d["consignee"]["address"]["street"], d["seller"]["name"])
        for d in docs
        if d.get("declaration_id") in split
    )
    assert groups
    assert min(groups.values()) >= 3
    for d in docs:
        if d.get("declaration_id") in split and d["totals"]["currency"] == "EUR":
            assert float(d["totals"]["value"]) < 150


def test_restricted_names_can_come_from_the_sdn_list(tmp_path: Path) -> None:
    from tests.conftest import SHARED_DATA

    sdn = SHARED_DATA / "sanctions" / "sdn.csv"
    if not sdn.is_file():
        import pytest

        pytest.skip(f"shared SDN data absent: {sdn}")
    out, truth = tmp_path / "s.jsonl", tmp_path / "s.csv"
    write_simulation(
        SimulationConfig(days=1, per_day=3000, seed=2, restricted_list=sdn), out, truth
    )
    with truth.open() as stream:
        restricted = [r for r in csv.DictReader(stream) if "restricted_party" in r["violations"]]
    assert restricted
    from clearway.parties import load_sdn

    index = load_sdn(sdn)
    sellers = [
        part.removeprefix("seller ")
        for r in restricted
        for part in r["detail"].split("; ")
        if part.startswith("seller ")
    ]
    assert len(sellers) == len(restricted)
    caught = sum(1 for name in sellers if index.screen(name))
    assert caught == len(restricted)
