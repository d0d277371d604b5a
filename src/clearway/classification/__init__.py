"""HS classification: suggestions from goods descriptions, and the signal
that a declared code contradicts its description."""

from clearway.classification.model import HSClassifier, Suggestions

__all__ = ["HSClassifier", "Suggestions"]
