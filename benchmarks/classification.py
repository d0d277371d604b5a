"""HS classification benchmark: accuracy on two labelled sets, and speed.

    .venv/bin/python benchmarks/classification.py

(a) benchmarks/data/product_descriptions.csv: 167 customs-style product
    descriptions with HS 2022 codes, written for this benchmark and never
    used in training (the classifier learns only from the nomenclature and
    the phrase tables src/clearway/classification/data/*_terms.yaml).
(b) HSCodeComp (../shared/data/hs-labelled/): 632 real marketplace listings
    with expert 10-digit US HTS codes, a test set: measured, never tuned on.
    Measured twice: on the listing title alone, and on the title followed by
    the platform's category path (what a marketplace knows of the listing).

Speed: top-5 suggestions per second for the HSCodeComp titles repeated to
``--speed-n`` descriptions, in one process, then in one process per core
side by side (each on its share), which is how the intake workers run it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from clearway.classification.evaluation import evaluate, read_labelled_csv  # noqa: E402
from clearway.classification.loading import builtin_classifier  # noqa: E402

HSCODECOMP = HERE.parents[1] / "shared" / "data" / "hs-labelled" / "hscodecomp_test_data.jsonl"


def _listing_texts() -> tuple[list[str], list[str], list[str]]:
    titles: list[str] = []
    with_category: list[str] = []
    codes: list[str] = []
    for line in HSCODECOMP.read_text().splitlines():
        row = json.loads(line)
        path: list[str] = []
        for level in range(1, 6):
            name = row.get(f"cate_lv{level}_desc") or ""
            if name and name not in path:
                path.append(name)
        titles.append(row["product_name"])
        with_category.append(f"{row['product_name']} ; {' > '.join(path)}")
        codes.append(str(row["hs_code"]).zfill(10))
    return titles, with_category, codes


def _speed(texts: list[str]) -> tuple[int, float]:
    model = builtin_classifier()
    model.suggest(texts[:100])
    started = time.perf_counter()
    model.suggest(texts, k=5)
    return len(texts), time.perf_counter() - started


def _show(name: str, scores: dict[str, object]) -> None:
    print(f"{name}: {json.dumps(scores)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed-n", type=int, default=200_000)
    args = parser.parse_args()
    model = builtin_classifier()

    products = read_labelled_csv(HERE / "data" / "product_descriptions.csv")
    _show("(a) product descriptions", evaluate(model, products.descriptions, products.codes))

    if not HSCODECOMP.is_file():
        print(f"HSCodeComp not found at {HSCODECOMP}: (b) and the speed run skipped")
        return
    titles, with_category, codes = _listing_texts()
    _show("(b) HSCodeComp, title", evaluate(model, titles, codes))
    _show("(b) HSCodeComp, title + category path", evaluate(model, with_category, codes))

    texts = (titles * (args.speed_n // len(titles) + 1))[: args.speed_n]
    count, seconds = _speed(texts)
    print(f"speed, 1 process: {count:,} listing titles, top-5 at {count / seconds:,.0f}/s")
    cores = os.cpu_count() or 1
    shares = [texts[i::cores] for i in range(cores)]
    started = time.perf_counter()
    with ProcessPoolExecutor(cores) as pool:
        results = list(pool.map(_speed, shares))
    wall = time.perf_counter() - started
    slowest = max(seconds for _, seconds in results)
    print(
        f"speed, {cores} processes: {sum(c for c, _ in results):,} titles, top-5 at "
        f"{sum(c for c, _ in results) / slowest:,.0f}/s (slowest share; "
        f"{wall:.1f} s wall including start-up and model fit)"
    )


if __name__ == "__main__":
    main()
