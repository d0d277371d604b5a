"""Screening benchmark: distinct names per second against the full OFAC SDN
list with aliases, and what screening catches on simulated traffic.

    .venv/bin/python benchmarks/screening.py --names 100000

Names: the distinct sellers and consignees of a simulated world (company
names made of common words, people's names), then companies and people
named from the words of the world's place names (pycountry's ISO 3166-2
subdivisions: thousands of words in many languages), plus restricted names
as filers write them (1 in 100; see clearway.simulate.restricted), shuffled. The list: the
bundled snapshot (OFAC's sdn.csv with alt.csv aliases and add.csv
countries, built by scripts/build-screening-snapshot). Timed: screening
only, from a fresh index (so the per-word look-ups are part of it), in one
process, then in one process per core side by side, each on its share. Also
printed: the share of restricted names caught, by variation, and the share
of the other names with a hit.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from clearway.parties.lists import ScreeningList, bundled_list, index_of  # noqa: E402
from clearway.simulate.restricted import restricted_names  # noqa: E402
from clearway.simulate.world import build_world  # noqa: E402

BATCH = 2000


def the_list() -> ScreeningList:
    return bundled_list()


def _place_words() -> list[str]:
    """Words of the world's place names (ISO 3166-2 subdivisions, from
    pycountry): thousands of words in many languages, for names that are
    not all the simulator's few."""
    import pycountry

    words = {
        w
        for sub in pycountry.subdivisions
        for w in sub.name.replace("-", " ").split()
        if w.isalpha() and len(w) > 2
    }
    return sorted(words)


def the_names(count: int, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """``count`` distinct plain names (a simulated world's sellers and
    consignees, then companies and people named from place-name words),
    and restricted names as filed (1 in 100)."""
    rng = random.Random(seed)
    world = build_world(rng, n_sellers=2000, n_consignees=10_000)
    plain = {(s.name, s.country) for s in world.sellers}
    for pool in world.consignees.values():
        plain |= {(c.name, c.country) for c in pool}
    words = _place_words()
    trades = ("Trading", "Electronics", "Textile", "Logistics", "Import Export", "Technology")
    forms = ("Co., Ltd", "LLC", "GmbH", "Limited", "Store", "S.A.")
    countries = ("CN", "HK", "TR", "DE", "US", "GB", "FR", "IN", "VN", "PL")
    while len(plain) < count:
        country = rng.choice(countries)
        if rng.random() < 0.5:
            name = f"{rng.choice(words)} {rng.choice(trades)} {rng.choice(forms)}"
        else:
            name = f"{rng.choice(words)} {rng.choice(words)}"
        plain.add((name, country))
    restricted = restricted_names(rng, the_list().entries, max(100, count // 100))
    names = sorted(plain)
    rng.shuffle(names)
    return names[:count], restricted


def _screen(names: list[tuple[str | None, str | None]]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, names with a hit)."""
    index = index_of([the_list()])
    started, cpu = time.perf_counter(), time.process_time()
    found = 0
    for start in range(0, len(names), BATCH):
        found += sum(1 for hits in index.screen_many(names[start : start + BATCH]) if hits)
    return time.perf_counter() - started, time.process_time() - cpu, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    listed = the_list()
    plain, restricted = the_names(args.names, args.seed)
    names: list[tuple[str | None, str | None]] = [*plain, *((n, c) for n, c, _ in restricted)]
    random.Random(args.seed).shuffle(names)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    aliases = sum(len(e.names) for e in listed.entries)
    print(
        f"list: {listed.name} published {listed.published}, {len(listed.entries):,} entries, "
        f"{aliases:,} names with aliases; {len(names):,} distinct names; {cores} cores"
    )
    load = os.getloadavg()[0]
    seconds, cpu, found = _screen(names)
    print(
        f"1 process: {len(names) / seconds:,.0f} names/s wall, {len(names) / cpu:,.0f} per "
        f"CPU-second ({seconds:.2f} s wall, {cpu:.2f} s CPU, {found:,} with a hit; load "
        f"average {load:.1f} before)"
    )
    workers = cores or 1
    with ProcessPoolExecutor(workers) as pool:
        shares = [names[k::workers] for k in range(workers)]
        started = time.perf_counter()
        results = list(pool.map(_screen, shares))
        wall = max(s for s, _, _ in results)
        cpu = max(c for _, c, _ in results)
    print(
        f"{workers} processes: {len(names) / wall:,.0f} names/s wall, "
        f"{len(names) / cpu:,.0f} if each had its core (slowest share {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU; {time.perf_counter() - started:.2f} s with index builds)"
    )
    index = index_of([listed])
    by_variation: dict[str, list[int]] = {}
    for name, country, variation in restricted:
        by_variation.setdefault(variation, []).append(bool(index.screen(name, country)))
    caught = sum(sum(v) for v in by_variation.values())
    print(
        f"restricted names caught: {caught / len(restricted):.1%} of {len(restricted):,} ("
        + ", ".join(f"{k} {sum(v) / len(v):.0%}" for k, v in by_variation.items())
        + ")"
    )
    sellers = [
        p
        for p in plain
        if " " in p[0]
        and p[0].split()[-1].rstrip(".")
        in ("Ltd", "Co", "LLC", "Store", "Shop", "Limited", "GmbH", "Inc")
    ]
    flagged = sum(1 for hits in index.screen_many(sellers) if hits)
    companies = set(sellers)
    people = [p for p in plain if p not in companies]
    flagged_people = sum(1 for hits in index.screen_many(people) if hits)
    print(
        f"common-word company names with a hit: {flagged} of {len(sellers):,}; "
        f"people's names with a hit: {flagged_people} of {len(people):,}"
    )


if __name__ == "__main__":
    main()
