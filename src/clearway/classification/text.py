"""Descriptions reduced to the terms the classifier compares.

One function, :func:`terms`, serves training and prediction alike, so a word
is normalised the same way wherever it comes from. The word lists are data
(``data/words.yaml``).
"""

from __future__ import annotations

import itertools
import re
from functools import cache, lru_cache
from importlib import resources

import yaml

__all__ = ["clean_nomenclature", "terms", "words"]

_WORD = re.compile(r"[a-z0-9]+")
# Nomenclature text names what a code is *not* ("not knitted or crocheted",
# "other than of heading no. 6212"); those words must not count as evidence
# for it.
_NEGATED = re.compile(
    r"\((?:not|excluding|other than|except)[^)]*\)"
    r"|\b(?:other than|excluding|except|whether or not)\b[^;,()]*"
)
_REFERENCE = re.compile(r"\b(?:sub)?heading no\.? ?[\d.]+|\bitem no\.? ?[\d.]+|\bchapter \d+")


@cache
def _lists() -> tuple[frozenset[str], dict[str, str]]:
    text = resources.files("clearway.classification").joinpath("data/words.yaml").read_text()
    data = yaml.safe_load(text)
    ignore = frozenset(str(word) for word in data["ignore"])
    variants = {str(k): str(v) for k, v in data["variants"].items()}
    return ignore, variants


def _stem(word: str) -> str:
    # A light plural rule: enough to meet "shoes" and "shoe", "dresses" and
    # "dress", without a stemmer's surprises ("glass" stays "glass").
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 16)
def _word(raw: str) -> tuple[str, ...]:
    """What one raw word becomes: nothing (filler), its variant's words or
    its stem. Remembered: the classifier's fit and every item's suggestion
    meet the same few thousand words over and over."""
    ignore, variants = _lists()
    if raw in ignore:
        return ()
    mapped = variants.get(raw)
    if mapped is None:
        stem = _stem(raw)
        if stem in ignore:
            return ()
        mapped = variants.get(stem, stem)
    return tuple(mapped.split(" "))


def words(text: str) -> list[str]:
    """The normalised words of ``text``, filler removed, in order."""
    out: list[str] = []
    for raw in _WORD.findall(text.lower().replace("'s ", " ").replace("'", "")):
        out.extend(_word(raw))
    return out


def terms(text: str) -> list[str]:
    """Words and adjacent word pairs of ``text``: what the classifier counts."""
    found = words(text)
    return found + [f"{a} {b}" for a, b in itertools.pairwise(found)]


def clean_nomenclature(description: str) -> str:
    """A nomenclature description without the goods it excludes or the
    cross-references, which would otherwise read as matches."""
    text = _REFERENCE.sub(" ", description.lower())
    return _NEGATED.sub(" ", text)
