"""Saving and loading an :class:`~clearway.classification.model.HSClassifier`
as one versioned ``.npz`` file (no pickle). Format 2 adds each example's
text and source (nomenclature, phrase, history, precedent), which the
evidence shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from clearway import __version__
from clearway.classification.neighbours import PRECEDENT, SOURCES
from clearway.errors import ConfigurationError

if TYPE_CHECKING:
    from clearway.classification.model import HSClassifier

__all__ = ["FORMAT_VERSION", "load_model", "model_metadata", "save_model"]

FORMAT_VERSION = 2
# Format 1 (before issue 18) lacks the example texts and sources: it loads,
# suggests exactly as before, and shows no examples as evidence, so an
# office's trained model keeps serving until it is retrained.
_READABLE = (1, FORMAT_VERSION)

_PARAMS = (
    "product_terms",
    "history_weight",
    "chapter_weight",
    "second_match_weight",
    "max_history_examples",
    "calibration_share",
    "precedent_weight",
    "evidence_floor",
    "random_state",
)


def model_metadata(model: HSClassifier) -> dict[str, Any]:
    model._check_fitted()
    return {
        "format_version": FORMAT_VERSION,
        "clearway_version": __version__,
        "trained_at": model.trained_at_,
        "n_history": model.n_history_,
        "n_precedents": int((model.example_sources_ == PRECEDENT).sum()),
        "n_examples": int(model.examples_.shape[0]),
        "n_terms": len(model.vocabulary_),
        "temperature_heading": model.temperature_heading_,
        "temperature_subheading": model.temperature_subheading_,
        "params": {name: getattr(model, name) for name in _PARAMS},
    }


def save_model(model: HSClassifier, path: Path) -> None:
    meta = model_metadata(model)
    vocabulary = np.array(sorted(model.vocabulary_, key=model.vocabulary_.__getitem__))
    with path.open("wb") as stream:
        np.savez_compressed(
            stream,
            metadata=np.array(json.dumps(meta)),
            vocabulary=vocabulary,
            idf=model.idf_,
            data=model.examples_.data,
            indices=model.examples_.indices,
            indptr=model.examples_.indptr,
            example_codes=model.example_codes_,
            example_texts=model.example_texts_,
            example_sources=model.example_sources_,
        )


def load_model(cls: type[HSClassifier], path: Path) -> HSClassifier:
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["metadata"]))
            version = meta.get("format_version")
            if version not in _READABLE:
                raise ConfigurationError(
                    f"{path}: classifier format version {version} "
                    f"is not {FORMAT_VERSION}; retrain with `clearway classifier train`"
                )
            model = cls(**meta["params"])
            vocabulary = [str(t) for t in stored["vocabulary"]]
            model.vocabulary_ = {term: i for i, term in enumerate(vocabulary)}
            model.idf_ = stored["idf"]
            model.examples_ = sparse.csr_matrix(
                (stored["data"], stored["indices"], stored["indptr"]),
                shape=(len(stored["example_codes"]), len(vocabulary)),
            )
            model.example_codes_ = stored["example_codes"]
            codes = model.example_codes_
            if version == 1:
                model.example_texts_ = np.full(len(codes), "")
                model.example_sources_ = np.full(len(codes), SOURCES.index("history"), np.int8)
            else:
                model.example_texts_ = stored["example_texts"]
                model.example_sources_ = stored["example_sources"]
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"{path}: not a clearway classifier file ({exc})") from exc
    model.temperature_heading_ = float(meta["temperature_heading"])
    model.temperature_subheading_ = float(meta["temperature_subheading"])
    model.n_history_ = int(meta["n_history"])
    model.trained_at_ = str(meta["trained_at"])
    model._index()
    return model
