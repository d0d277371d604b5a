"""A marketplace listing's attributes turned into the text the classifier
reads.

Titles pile up adjectives ("2024 New Fashion Women ... Gift"); the
platform's category path names the kind of goods in a few words, and the
material often decides the chapter (a cotton shirt, a polyester one). The
most specific category level is appended twice, so that it weighs like the
title's own product words when the title is vague (the whole path appended
once was drowned by its general levels). A brand
is not evidence of what goods are, so its words are taken out of the
title (an unknown brand word would otherwise pull towards whatever example
happens to share it).
"""

from __future__ import annotations

import re

__all__ = ["category_levels", "listing_text"]

_LEVEL_SEPARATOR = re.compile(r"\s*(?:>|›|»|/|\|)\s*")


def category_levels(path: str | None) -> list[str]:
    """The levels of a category path ("Shoes > Women's Shoes > Boots"),
    most general first; the separators are ">", "/", "|" and the two
    angle quotation marks."""
    if not path:
        return []
    return [level for level in _LEVEL_SEPARATOR.split(path.strip()) if level]


def listing_text(
    description: str,
    category_path: str | None = None,
    material: str | None = None,
    brand: str | None = None,
) -> str:
    """The classifier's input for one listing (the description alone when
    no attribute is given)."""
    text = description
    if brand and brand.strip():
        pattern = re.compile(rf"\b{re.escape(brand.strip())}\b", re.IGNORECASE)
        stripped = pattern.sub(" ", text).strip()
        text = stripped or text
    parts = [text]
    if material and material.strip():
        parts.append(material.strip())
    levels = category_levels(category_path)
    if levels:
        parts.extend([levels[-1], levels[-1]])
    return " ; ".join(parts)
