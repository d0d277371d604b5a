"""HS classification benchmark: accuracy on labelled sets, and speed.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/classification.py

Development sets (tuned on):
  benchmarks/data/product_descriptions.csv (167 customs-style descriptions),
  benchmarks/data/marketplace_titles_dev.csv (80 listing titles),
  benchmarks/data/listings_dev2.csv (104 listing titles with category paths).
Held-out sets (written before any measurement, never tuned on):
  benchmarks/data/heldout_listings.csv (110 listing titles with category paths),
  benchmarks/data/heldout_products.csv (90 short product texts).
Test set (only with --hscodecomp; the lead measures it once per change):
  HSCodeComp (../shared/data/hs-labelled/), 632 real marketplace listings
  with expert 10-digit US HTS codes; measured, never tuned on, its
  individual errors not read. Measured on the title alone, with the
  platform's category path, and with category path, material and brand.

Every set reports top-1/top-5 at 2, 4 and 6 digits and heading precision
on the half the classifier is most confident about.

Speed: top-5 suggestions per second over all-distinct listing titles (the
development titles, words shuffled, each with a token of its own), in one
process, then in one process per core side by side (how intake workers run
it); CPU seconds of the process as well as wall time, since a shared
machine's wall clock is noisy. Run with OPENBLAS_NUM_THREADS=1: one BLAS
thread per worker process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from clearway.classification.evaluation import evaluate  # noqa: E402
from clearway.classification.listing import listing_text  # noqa: E402
from clearway.classification.loading import builtin_classifier  # noqa: E402
from clearway.classification.model import HSClassifier  # noqa: E402

HSCODECOMP = HERE.parents[1] / "shared" / "data" / "hs-labelled" / "hscodecomp_test_data.jsonl"
DATA = HERE / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _hscodecomp() -> tuple[list[str], list[str], list[str], list[str]]:
    titles: list[str] = []
    with_category: list[str] = []
    with_all: list[str] = []
    codes: list[str] = []
    for line in HSCODECOMP.read_text().splitlines():
        row = json.loads(line)
        path: list[str] = []
        for level in range(1, 6):
            name = row.get(f"cate_lv{level}_desc") or ""
            if name and name not in path:
                path.append(name)
        attributes = json.loads(row.get("product_attributes") or "{}")
        material = attributes.get("Material") if isinstance(attributes, dict) else None
        brand = attributes.get("Brand Name") if isinstance(attributes, dict) else None
        if brand and str(brand).startswith("NoEnName"):
            brand = None
        category = " > ".join(path)
        titles.append(row["product_name"])
        with_category.append(listing_text(row["product_name"], category))
        with_all.append(
            listing_text(
                row["product_name"],
                category,
                str(material) if material else None,
                str(brand) if brand else None,
            )
        )
        codes.append(str(row["hs_code"]).zfill(10))
    return titles, with_category, with_all, codes


def _summary(scores: dict[str, Any]) -> dict[str, Any]:
    half = next(p for p in scores["coverage"] if p["coverage"] >= 0.5)
    out: dict[str, Any] = {"n": scores["n"]}
    for level, digits in (("chapter", 2), ("heading", 4), ("subheading", 6)):
        if level in scores:
            out[f"{digits}-digit"] = [scores[level]["top1"], scores[level]["top5"]]
    out["heading precision at 50% coverage"] = half["precision"]
    return out


def _show(name: str, model: HSClassifier, texts: list[str], codes: list[str]) -> None:
    print(f"{name}: {json.dumps(_summary(evaluate(model, texts, codes)))}", flush=True)


def _distinct_titles(count: int) -> list[str]:
    titles = [
        r["description"]
        for name in ("listings_dev2.csv", "marketplace_titles_dev.csv")
        for r in _rows(name)
    ]
    rng = random.Random(0)
    out = []
    for i in range(count):
        words = titles[i % len(titles)].split()
        rng.shuffle(words)
        out.append(" ".join([*words, f"v{i}x"]))
    return out


def _speed(texts: list[str]) -> tuple[int, float, float]:
    """Suggest top-5 for ``texts``: (count, wall seconds, CPU seconds)."""
    model = builtin_classifier()
    model.suggest(_distinct_titles(100), k=5)
    started, cpu = time.perf_counter(), time.process_time()
    model.suggest(texts, k=5)
    return len(texts), time.perf_counter() - started, time.process_time() - cpu


def _speeds(n: int) -> None:
    texts = _distinct_titles(n)
    cores = os.cpu_count() or 1
    count, seconds, cpu = _speed(texts)
    print(
        f"speed, 1 process: {count:,} distinct titles, {count / seconds:,.0f}/s wall, "
        f"{count / cpu:,.0f}/s per CPU second (load {os.getloadavg()[0]:.1f})"
    )
    with ProcessPoolExecutor(cores) as pool:
        results = list(pool.map(_speed, [texts[i::cores] for i in range(cores)]))
    slowest = max(s for _, s, _ in results)
    total = sum(c for c, _, _ in results)
    print(f"speed, {cores} processes: {total / slowest:,.0f}/s (slowest share)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed-n", type=int, default=100_000)
    parser.add_argument(
        "--hscodecomp", action="store_true", help="also measure the HSCodeComp test set"
    )
    args = parser.parse_args()
    model = builtin_classifier()

    for name in ("product_descriptions.csv", "marketplace_titles_dev.csv"):
        rows = _rows(name)
        _show(f"dev {name}", model, [r["description"] for r in rows], [r["hs"] for r in rows])
    for name in ("listings_dev2.csv", "heldout_listings.csv"):
        rows = _rows(name)
        codes = [r["hs"] for r in rows]
        kind = "dev" if "dev" in name else "held-out"
        _show(f"{kind} {name}, title", model, [r["description"] for r in rows], codes)
        texts = [listing_text(r["description"], r["category_path"]) for r in rows]
        _show(f"{kind} {name}, title + category path", model, texts, codes)
    rows = _rows("heldout_products.csv")
    _show(
        "held-out heldout_products.csv",
        model,
        [r["description"] for r in rows],
        [r["hs"] for r in rows],
    )

    if args.hscodecomp and HSCODECOMP.is_file():
        titles, with_category, with_all, codes = _hscodecomp()
        _show("HSCodeComp, title", model, titles, codes)
        _show("HSCodeComp, title + category path", model, with_category, codes)
        _show("HSCodeComp, title + category path + material + brand", model, with_all, codes)
    _speeds(args.speed_n)


if __name__ == "__main__":
    main()
