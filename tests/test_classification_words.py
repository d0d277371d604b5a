"""The remembered word mapping gives what the word-by-word rules give."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from clearway.classification.text import _lists, _stem, terms, words


def _reference_words(text: str) -> list[str]:
    """The rules applied word by word, nothing remembered (the code before
    the cache)."""
    ignore, variants = _lists()
    out: list[str] = []
    for raw in re.findall(r"[a-z0-9]+", text.lower().replace("'s ", " ").replace("'", "")):
        if raw in ignore:
            continue
        mapped = variants.get(raw)
        if mapped is None:
            stem = _stem(raw)
            mapped = variants.get(stem, stem)
            if stem in ignore:
                continue
        out.extend(mapped.split(" "))
    return out


_IGNORE, _VARIANTS = _lists()
_KNOWN = sorted(_IGNORE) + sorted(_VARIANTS) + sorted(set(_VARIANTS.values()))
_WORDS = st.sampled_from(_KNOWN) | st.text("abcdehiorsuxyz'", min_size=1, max_size=9)


def test_known_words_map_as_the_rules_say() -> None:
    text = "Women's dresses, 2 boxes of glasses AND the shoes"
    assert words(text) == _reference_words(text)
    assert words(text) == words(text.upper())


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, max_size=12), st.sampled_from([" ", ", ", "-", " 's ", "'"]))
def test_words_equal_the_rules_on_any_text(parts: list[str], glue: str) -> None:
    text = glue.join(parts)
    assert words(text) == _reference_words(text)
    expected = _reference_words(text)
    assert terms(text) == expected + [f"{a} {b}" for a, b in itertools.pairwise(expected)]
