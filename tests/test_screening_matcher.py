"""The indexed matcher agrees with the straightforward scan (hypothesis),
and, on simulated traffic with default settings, catches the restricted
parties (named as filers write them) while leaving common-word company
names alone."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from clearway.parties import ListedParty, ScreeningIndex, bundled_list, index_of, scan
from clearway.parties.screening import ScreeningHit
from clearway.settings import Settings
from clearway.simulate import SimulationConfig, write_simulation
from clearway.simulate.restricted import VARIATIONS, restricted_names
from clearway.simulate.world import build_world
from clearway.store.reading import get_declaration
from clearway.store.schema import risk_decisions
from clearway.wiring import ingest_files, stages_from_settings

# Words that are one letter apart, words that are generic, initials: what
# makes candidates collide.
WORDS = [
    "ZENIT",
    "ZENITH",
    "DUAL",
    "DUEL",
    "STAR",
    "STARR",
    "KAMA",
    "KAMAL",
    "ALI",
    "ALIM",
    "MURAT",
    "MURAD",
    "TRADE",
    "LLC",
    "CO",
    "A",
    "BANK",
    "BANKO",
]
COUNTRIES = [None, "RU", "IR", "CN"]

names = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
entries = st.lists(
    st.tuples(
        names,
        st.lists(names, max_size=2),
        st.sampled_from(["entity", "individual"]),
        st.frozensets(st.sampled_from(["RU", "IR"]), max_size=2),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


def _listed(rows: list) -> list[ListedParty]:
    out = []
    for n, (name, aliases, kind, countries, comma) in enumerate(rows):
        words = name.split()
        # Individuals are listed as "LAST, First Middle".
        shown = f"{words[-1]}, {' '.join(words[:-1])}" if comma and len(words) > 1 else name
        out.append(
            ListedParty("L", str(n), shown, kind, "P", (shown, *aliases), frozenset(countries))
        )
    return out


def _key(hits: list[ScreeningHit]) -> list[tuple[str, str, float, str]]:
    return [(h.party.entry_id, h.matched_name, round(h.score, 9), h.reason) for h in hits]


@settings(max_examples=300, deadline=None)
@given(
    entries,
    st.lists(st.tuples(names, st.sampled_from(COUNTRIES)), min_size=1, max_size=6),
    st.sampled_from([80.0, 88.0, 95.0]),
)
def test_index_finds_what_a_scan_finds(
    rows: list, queries: list[tuple[str, str | None]], threshold: float
) -> None:
    parties = _listed(rows)
    index = ScreeningIndex(threshold=threshold)
    for party in parties:
        index.add(party)
    batch = index.screen_many(queries)
    for (query, country), found in zip(queries, batch, strict=True):
        expected = scan(parties, query, country, threshold)
        assert _key(index.screen(query, country)) == _key(expected)
        assert _key(found) == _key(expected)


def test_restricted_names_as_filed_are_caught_by_the_default_list() -> None:
    listed = bundled_list()
    index = index_of([listed])
    drawn = restricted_names(random.Random(5), listed.entries, 1000)
    caught = dict.fromkeys(VARIATIONS, 0)
    for name, country, variation in drawn:
        caught[variation] += bool(index.screen(name, country))
    assert sum(caught.values()) / len(drawn) >= 0.95, caught
    assert all(n / 200 >= 0.95 for n in caught.values()), caught


def test_common_word_company_names_of_simulated_sellers_are_not_caught() -> None:
    world = build_world(random.Random(3), n_sellers=5000, n_consignees=2000)
    sellers = sorted({(s.name, s.country) for s in world.sellers})
    people = sorted({(c.name, c.country) for pool in world.consignees.values() for c in pool})
    assert len(sellers) > 3000
    assert len(people) > 1000
    index = index_of([bundled_list()])
    hit = [
        pair
        for pair, found in zip(sellers + people, index.screen_many(sellers + people), strict=True)
        if found
    ]
    assert hit == []


def test_a_name_with_every_word_a_little_off_is_another_name() -> None:
    index = index_of([bundled_list()])
    # Both words like the alias "RICCIO, Mariano", neither spelt so.
    assert index.screen("Maria Ricci", "IT") == []
    assert [h.matched_name for h in index.screen("Mariano Riccio", "IT")] == ["RICCIO, Mariano"]


def test_simulated_restricted_parties_get_no_green_lane(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        return  # the store does not change what screening finds
    out, truth = tmp_path / "s.jsonl", tmp_path / "s.csv"
    write_simulation(SimulationConfig(days=1, per_day=4000, seed=11), out, truth)
    with truth.open() as stream:
        rows = list(csv.DictReader(stream))
    restricted = [r["declaration_id"] for r in rows if "restricted_party" in r["violations"]]
    others = [r["declaration_id"] for r in rows if not r["violations"]]
    assert len(restricted) >= 8
    options = Settings(key_dir=str(tmp_path), risk_model_file=str(tmp_path / "none.json"))
    ingest_files(engine, [out], stages=stages_from_settings(options, engine))

    def lanes(refs: list[str]) -> list[str]:
        rows = [get_declaration(engine, ref).row_id for ref in refs]
        with engine.connect() as conn:
            found = dict(
                conn.execute(
                    select(risk_decisions.c.declaration_id, risk_decisions.c.reasons).where(
                        risk_decisions.c.declaration_id.in_(rows)
                    )
                ).all()
            )
        return [found[row] for row in rows]

    caught = sum("restricted-party" in reasons for reasons in lanes(restricted))
    assert caught / len(restricted) >= 0.95, (caught, len(restricted))
    flagged = sum("restricted-party" in reasons for reasons in lanes(others[:1500]))
    assert flagged == 0


def test_the_demo_week_shows_restricted_party_hits_in_the_red_queue(tmp_path: Path) -> None:
    from clearway.cli.demo_week import run_demo
    from clearway.store import open_engine
    from clearway.store.queue import QueueFilter, read_queue
    from tests.workspace_server import folder_settings

    settings = folder_settings(tmp_path, risk_rules_file=None)
    run_demo(settings, days=1, per_day=1500, seed=7)
    rows, total = read_queue(
        open_engine(settings.database_url),
        QueueFilter(lane="red", rule="restricted-party"),
        limit=50,
        count=True,
    )
    assert total is not None
    assert total >= 3, "0.3% of the filings name a listed party"
    assert all("restricted-party" in row["rules"] for row in rows)
