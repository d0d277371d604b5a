"""The phrase tables the classifier learns from (``data/*_terms.yaml``): every
code is real, no table repeats a code or a phrase, no phrase is in two
tables, and the built-in knowledge reads every table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from clearway.classification.knowledge import Example, product_term_examples
from clearway.classification.loading import builtin_classifier
from clearway.reference.nomenclature import hs_entry

DATA = Path(__file__).resolve().parent.parent / "src/clearway/classification/data"
TABLES = sorted(DATA.glob("*_terms.yaml"))


class _KeysLoader(yaml.SafeLoader):
    """Records every mapping's keys as written: plain ``safe_load`` keeps
    only the last of two equal keys, and a table that lists a code twice
    would silently lose the first line's phrases."""

    keys: list[Any]


def _record_keys(loader: _KeysLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.keys.extend(loader.construct_object(key) for key, _ in node.value)
    return yaml.SafeLoader.construct_mapping(loader, node)


_KeysLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _record_keys)


def _read(path: Path) -> tuple[list[Any], dict[Any, Any]]:
    loader = _KeysLoader(path.read_text())
    loader.keys = []
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return loader.keys, data


def test_every_table_is_present() -> None:
    assert [path.name for path in TABLES] == [
        "listing_terms.yaml",
        "marketplace_terms.yaml",
        "product_terms.yaml",
    ]


@pytest.mark.parametrize("path", TABLES, ids=lambda path: path.name)
def test_every_code_is_an_hs_2022_heading_or_subheading(path: Path) -> None:
    keys, data = _read(path)
    bad = [
        code
        for code in keys
        if not isinstance(code, str) or len(code) not in (4, 6) or hs_entry(code) is None
    ]
    assert bad == []
    assert all(isinstance(phrases, list) and phrases for phrases in data.values())


@pytest.mark.parametrize("path", TABLES, ids=lambda path: path.name)
def test_no_table_lists_a_code_twice(path: Path) -> None:
    keys, _ = _read(path)
    assert [code for code, count in Counter(keys).items() if count > 1] == []


def test_every_phrase_is_text_and_appears_once_across_all_tables() -> None:
    phrases = [phrase for path in TABLES for values in _read(path)[1].values() for phrase in values]
    assert [phrase for phrase in phrases if not isinstance(phrase, str)] == []
    counts = Counter(phrase.strip().lower() for phrase in phrases)
    assert [phrase for phrase, count in counts.items() if count > 1] == []


def test_the_built_in_knowledge_reads_every_table_in_name_order() -> None:
    expected = [
        Example(phrase, code)
        for path in TABLES
        for code, values in _read(path)[1].items()
        for phrase in values
    ]
    assert list(product_term_examples()) == expected
    assert Example("oversized t shirt", "6109") in expected


# Listing words that only the marketplace table knows: with product_terms.yaml
# alone each of these went to another heading (rhinestones to cosmetics,
# "mtb saddle" to saddlery, "tpms sensor" to checking instruments...).
MARKETPLACE_WORDS = [
    ("nail art rhinestones flatback", "7018"),
    ("polygel nail kit", "3304"),
    ("mtb saddle", "8714"),
    ("lash clusters diy", "6704"),
    ("hydrocolloid pimple patch", "3304"),
    ("tpms sensor", "9026"),
    ("foam cannon", "8424"),
    ("stanley cup tumbler", "9617"),
    ("sublimation paper", "4810"),
    ("grillz", "7117"),
]


def test_marketplace_words_reach_their_heading() -> None:
    texts = [text for text, _ in MARKETPLACE_WORDS]
    found = builtin_classifier().suggest(texts, k=1)
    assert [str(code)[:4] for code in found.codes[:, 0]] == [h for _, h in MARKETPLACE_WORDS]
