"""Which classifier a process uses: the office's trained model when its file
exists, otherwise one fitted from the built-in knowledge (about a second)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from clearway.classification.model import HSClassifier

__all__ = ["builtin_classifier", "classifier_for"]


@cache
def builtin_classifier() -> HSClassifier:
    """The nomenclature and product words alone, fitted once per process."""
    return HSClassifier().fit([], [])


@cache
def _load(path: str, _modified: float) -> HSClassifier:
    return HSClassifier.load(Path(path))


def classifier_for(path: str | None) -> HSClassifier:
    """The model in ``path`` if that file exists, else the built-in one.
    Reloaded when the file changes (a retrained model takes effect)."""
    if path:
        file = Path(path)
        if file.is_file():
            return _load(str(file.resolve()), file.stat().st_mtime)
    return builtin_classifier()
