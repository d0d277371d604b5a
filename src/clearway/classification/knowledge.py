"""What the classifier knows before any history: the nomenclature's own
descriptions and the everyday product words of the ``data/*_terms.yaml``
tables (``product_terms.yaml``: customs-style words; ``marketplace_terms.yaml``:
the words of cross-border marketplace listings)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from clearway.classification.text import clean_nomenclature
from clearway.reference.nomenclature import hs_entry, hs_subheadings

__all__ = ["Example", "nomenclature_examples", "product_term_examples"]


@dataclass(frozen=True, slots=True)
class Example:
    """A text known to describe goods of ``code`` (2, 4 or 6 digits)."""

    text: str
    code: str


@cache
def nomenclature_examples() -> tuple[Example, ...]:
    """Every chapter, heading and subheading with its description; a
    subheading's text carries its heading's, which it only refines ("Other"
    alone says nothing)."""
    examples: list[Example] = []
    headings: set[str] = set()
    for code in sorted(hs_subheadings()):
        entry = hs_entry(code)
        heading = hs_entry(code[:4])
        if entry is None or heading is None:
            continue
        headings.add(code[:4])
        text = f"{clean_nomenclature(heading.description)} {clean_nomenclature(entry.description)}"
        examples.append(Example(text, code))
    for code in sorted(headings):
        entry = hs_entry(code)
        if entry is not None:
            examples.append(Example(clean_nomenclature(entry.description), code))
    for chapter in sorted({code[:2] for code in headings}):
        entry = hs_entry(chapter)
        if entry is not None:
            examples.append(Example(clean_nomenclature(entry.description), chapter))
    return tuple(examples)


@cache
def product_term_examples() -> tuple[Example, ...]:
    """The phrases of every ``data/*_terms.yaml`` table, one example each, the
    tables read in name order so that the examples (and so a fitted model)
    do not depend on the file system's listing order."""
    data_dir = resources.files("clearway.classification").joinpath("data")
    tables = sorted(
        (entry for entry in data_dir.iterdir() if entry.name.endswith("_terms.yaml")),
        key=lambda entry: entry.name,
    )
    examples: list[Example] = []
    for table in tables:
        data = yaml.safe_load(table.read_text())
        examples.extend(
            Example(str(phrase), str(code)) for code, phrases in data.items() for phrase in phrases
        )
    return tuple(examples)
