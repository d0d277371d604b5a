"""Restricted-party screening against OFAC's SDN list (shared data), and
against a list written here so the rules are tested without it too."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearway.errors import ConfigurationError
from clearway.parties import ListedParty, ScreeningIndex, load_sdn, normalise_name
from tests.conftest import SHARED_DATA
from tests.test_cli import clearway

SDN = SHARED_DATA / "sanctions" / "sdn.csv"


def small_index() -> ScreeningIndex:
    index = ScreeningIndex()
    for n, (name, aliases, countries) in enumerate(
        [
            ("ZENIT DUAL TRADE LLC", ("ZENIT DUAL",), {"RU"}),
            ("GOLDEN STAR CO", (), {"KP"}),
            ("SEA STAR III", ("SUNSHINE",), set()),
            ("Müller Maschinenbau GmbH", (), {"DE"}),
        ]
    ):
        index.add(
            ListedParty(
                "test", str(n), name, "entity", "TEST", (name, *aliases), frozenset(countries)
            )
        )
    return index


def names(hits: list) -> list[str]:
    return [h.party.name for h in hits]


def test_normalisation() -> None:
    assert normalise_name("Müller-Maschinenbau, GmbH.") == ["MULLER", "MASCHINENBAU", "GMBH"]


@pytest.mark.parametrize(
    "query",
    [
        "Zenit Dual Trade LLC",
        "ZENIT DUAL TRADE",
        "Zenith Dual Trade",
        "Zenit Duel Trade LLC",
        "Muller Maschinenbau",
    ],
)
def test_exact_and_lightly_misspelt_names_match(query: str) -> None:
    assert names(small_index().screen(query))


@pytest.mark.parametrize(
    "query",
    [
        "Sunshine Electronics Ltd",
        "Golden Trading Co",
        "Star Trading Limited",
        "Global Trade Co",
        "Dual Trade LLC",
        "Shenzhen Golden Star Electronics Co Ltd",
    ],
)
def test_common_words_do_not_match(query: str) -> None:
    assert small_index().screen(query) == []


def test_country_raises_and_lowers_the_score() -> None:
    index = small_index()
    same = index.screen("Golden Starr Co", "KP")[0]
    elsewhere = index.screen("Golden Starr Co", "CN")[0]
    unknown = index.screen("Golden Starr Co")[0]
    assert same.score > unknown.score > elsewhere.score
    assert "same country KP" in same.reason


def test_batch_screening_screens_each_pair_once() -> None:
    hits = small_index().screen_many(
        [("Golden Star Co", "KP"), (None, None), ("Golden Star Co", "KP"), ("Anna Schmidt", "DE")]
    )
    assert [len(h) for h in hits] == [1, 0, 1, 0]
    assert hits[0] is hits[2]


def test_bad_list_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such SDN list"):
        load_sdn(tmp_path / "missing.csv")
    broken = tmp_path / "sdn.csv"
    broken.write_text('1,"NAME"\n')
    with pytest.raises(ConfigurationError, match="12 columns"):
        load_sdn(broken)


needs_sdn = pytest.mark.skipif(not SDN.is_file(), reason=f"shared SDN data absent: {SDN}")


@pytest.fixture(scope="module")
def sdn() -> ScreeningIndex:
    return load_sdn(SDN)


@needs_sdn
@pytest.mark.parametrize(
    ("query", "country", "expected"),
    [
        ("BANCO NACIONAL DE CUBA", None, "BANCO NACIONAL DE CUBA"),
        ("Banco Nacional de Cubaa", "CU", "BANCO NACIONAL DE CUBA"),  # typo
        ("National Bank of Cuba", None, "BANCO NACIONAL DE CUBA"),  # alias
        ("Aerocaribean Airlines", None, "AEROCARIBBEAN AIRLINES"),  # typo
        ("Bank Melli Iran", "IR", "BANK MELLI IRAN"),
        ("Mahan Air", "IR", "MAHAN AIR"),
    ],
)
def test_sdn_names_with_typos_and_aliases_are_caught(
    sdn: ScreeningIndex, query: str, country: str | None, expected: str
) -> None:
    assert names(sdn.screen(query, country))[0] == expected


@needs_sdn
@pytest.mark.parametrize(
    "query",
    [
        "Global Trading Co",
        "Shenzhen Golden Star Trading Co Ltd",
        "Sunshine Electronics Ltd",
        "Royal Trading Ltd",
        "Anna Schmidt",
        "Star Electronics Co",
        "Yiwu Happy Commerce",
    ],
)
def test_sdn_common_word_companies_are_not_flagged(sdn: ScreeningIndex, query: str) -> None:
    assert sdn.screen(query, "CN") == []


@needs_sdn
def test_cli_screen(tmp_path: Path, sqlite_url: str) -> None:
    hit = clearway(
        "screen", "Banco Nacional de Cuba", "--sdn", str(SDN), cwd=tmp_path, url=sqlite_url
    )
    assert hit.returncode == 2
    assert "BANCO NACIONAL DE CUBA" in hit.stdout
    clean = clearway(
        "screen", "Anna Schmidt", "--country", "DE", "--sdn", str(SDN), cwd=tmp_path, url=sqlite_url
    )
    assert clean.returncode == 0
    assert "no match" in clean.stdout
