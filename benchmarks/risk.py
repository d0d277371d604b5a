"""Risk targeting benchmark on simulated traffic: violations caught at 5%
inspection, and scoring speed.

    .venv/bin/python benchmarks/risk.py --days 7 --per-day 20000

Simulated traffic with labelled violations (restricted parties drawn from
../shared/data/sanctions/ when present) is shaped, classified and screened
(not timed: the enrichment stages, see benchmarks/enrichment.py). The value
reference is learned on the first day; each later day is one batch scored
with the built-in rules and lanes at a red-lane capacity of 5% of the day's
declarations, 10% of it random. A violation counts as caught when its
declaration is not released (yellow: documents or information; red:
inspection). Then times features + rules + lanes per batch of 20,000, in
one process and in one per core.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from clearway.classification.loading import builtin_classifier  # noqa: E402
from clearway.classification.misclassification import check_houses  # noqa: E402
from clearway.declarations.batch import PreparedHouse, prepare_batch  # noqa: E402
from clearway.declarations.intake import IntakeLimits, read_records  # noqa: E402
from clearway.parties.checks import PartyChecks, check_parties, screening_index  # noqa: E402
from clearway.risk.features import ValueReference  # noqa: E402
from clearway.risk.frame import DECLARATION_SPEC, risk_frame  # noqa: E402
from clearway.risk.lanes import LanePolicy, decide  # noqa: E402
from clearway.risk.model import RiskModel  # noqa: E402
from clearway.risk.rules import builtin_rules  # noqa: E402
from clearway.simulate import SimulationConfig, write_simulation  # noqa: E402

SDN = HERE.parents[1] / "shared" / "data" / "sanctions" / "sdn.csv"
OUT = HERE / "out"


def _simulate(days: int, per_day: int) -> tuple[Path, Path]:
    OUT.mkdir(exist_ok=True)
    out, truth = OUT / f"risk-{days}x{per_day}.jsonl", OUT / f"risk-{days}x{per_day}.csv"
    if not out.exists():
        config = SimulationConfig(
            days=days, per_day=per_day, seed=17, restricted_list=SDN if SDN.is_file() else None
        )
        write_simulation(config, out, truth)
    return out, truth


def _days(path: Path) -> dict[str, list[PreparedHouse]]:
    records = list(read_records([path], IntakeLimits()))
    houses = [
        h for s in range(0, len(records), 5000) for h in prepare_batch(records[s : s + 5000]).houses
    ]
    by_day: dict[str, list[PreparedHouse]] = {}
    for house in houses:
        by_day.setdefault(house.columns["filed_at"].date().isoformat(), []).append(house)
    return by_day


def score_batch(houses, rules, policy, day, *, classified, parties, reference, model, explain):
    """Features, rules, the model and lanes for one batch (the batch
    scoring this benchmark measures; intake decides a filing at a time)."""
    frame = risk_frame(houses, classified=classified, parties=parties, reference=reference)
    scores = model.predict_proba(frame) if model is not None else None
    return frame, decide(frame, rules, day, policy, model_scores=scores)


def _time_scoring(
    args: tuple[list[PreparedHouse], list, PartyChecks, ValueReference, RiskModel],
) -> tuple[int, float]:
    houses, classified, parties, reference, model = args
    model.serve_with_threads(1)
    rules, policy = builtin_rules(), LanePolicy()
    started = time.perf_counter()
    for s in range(0, len(houses), 20_000):
        score_batch(
            houses[s : s + 20_000],
            rules,
            policy,
            date(2026, 11, 3),
            classified=classified[s : s + 20_000],
            parties=PartyChecks(parties.hits[s : s + 20_000], parties.routes[s : s + 20_000]),
            reference=reference,
            model=model,
            explain=False,
        )
    return len(houses), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-day", type=int, default=20_000)
    args = parser.parse_args()
    out, truth_file = _simulate(args.days, args.per_day)
    with truth_file.open() as stream:
        truth = {
            r["declaration_id"]: [v for v in r["violations"].split(";") if v]
            for r in csv.DictReader(stream)
        }
    by_day = _days(out)
    days = sorted(by_day)
    index = screening_index(str(SDN)) if SDN.is_file() else None
    classifier = builtin_classifier()
    first = by_day[days[0]]
    reference = ValueReference().fit_houses(first)

    # Day one's outcomes (every declaration's labels, as if all inspected)
    # train the learned model used on the following days.
    first_frame = risk_frame(
        first,
        classified=check_houses(classifier, first),
        parties=check_parties(first, index),
        reference=reference,
    )
    labels = [int(bool(truth.get(h.ref))) for h in first]
    model = RiskModel(DECLARATION_SPEC, n_estimators=200, max_depth=6).fit(first_frame, labels)

    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    lanes: Counter[str] = Counter()
    all_houses, all_classified, all_hits, all_routes = [], [], [], []
    for day in days[1:]:
        houses = by_day[day]
        classified = check_houses(classifier, houses)
        parties = check_parties(houses, index)
        all_houses += houses
        all_classified += classified
        all_hits += parties.hits
        all_routes += parties.routes
        _, decisions = score_batch(
            houses,
            builtin_rules(),
            LanePolicy(),
            date.fromisoformat(day),
            classified=classified,
            parties=parties,
            reference=reference,
            model=model,
            explain=False,
        )
        lanes.update(decisions.lane.tolist())
        for house, lane in zip(houses, decisions.lane.tolist(), strict=True):
            for violation in truth.get(house.ref, []):
                total[violation] += 1
                caught[violation] += lane != "green"
    n = sum(lanes.values())
    print(
        f"{n:,} declarations over {len(days) - 1} days, lanes: "
        + ", ".join(f"{lane} {count / n:.1%}" for lane, count in sorted(lanes.items()))
    )
    print(
        f"violations caught overall: {sum(caught.values()) / max(1, sum(total.values())):.1%} "
        f"({sum(caught.values()):,} of {sum(total.values()):,})"
    )
    for violation in sorted(total):
        print(f"  {violation}: {caught[violation] / total[violation]:.1%} of {total[violation]:,}")

    parties = PartyChecks(all_hits, all_routes)
    count, seconds = _time_scoring((all_houses, all_classified, parties, reference, model))
    print(
        "scoring (features + rules + model + lanes), 1 process: "
        f"{count / seconds:,.0f} declarations/s"
    )
    cores = os.cpu_count() or 1
    shares = [
        (
            all_houses[i::cores],
            all_classified[i::cores],
            PartyChecks(all_hits[i::cores], all_routes[i::cores]),
            reference,
            model,
        )
        for i in range(cores)
    ]
    # spawn: forking after XGBoost's OpenMP threads started can deadlock.
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_time_scoring, shares))
    print(
        f"scoring, {cores} processes: "
        f"{sum(c for c, _ in results) / max(s for _, s in results):,.0f} declarations/s"
    )


if __name__ == "__main__":
    main()
