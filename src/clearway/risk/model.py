"""The learned risk model: gradient-boosted trees on inspection outcomes.

Inputs are a *frame*: a mapping of column name to a 1-D NumPy array, one
row per declaration (or item line). A :class:`FeatureSpec` says which
columns are categorical (the trees split on them natively), which are
numeric, and which columns, or combinations of columns, are replaced by the
outcome rate seen for their value in training ("importer X was found at
fault in 40% of its 25 inspected filings"), with the count beside it. On
the training rows those rates are computed out of fold, so a row never sees
its own label.

scikit-learn's contract: ``fit`` returns ``self``, learned state ends in
``_``, ``random_state`` fixes folds and trees, threads are pinned
(``n_threads``), and :meth:`RiskModel.save` writes one versioned JSON file
that :meth:`RiskModel.load` checks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from clearway import __version__
from clearway.errors import ConfigurationError, InputError

__all__ = ["FORMAT_VERSION", "FeatureSpec", "Frame", "RiskModel"]

FORMAT_VERSION = 1
Frame = Mapping[str, npt.NDArray[Any]]
_SEPARATOR = "\x1f"


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which frame columns the model uses, and how."""

    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    encoded: tuple[tuple[str, ...], ...] = ()
    descriptions: dict[str, str] = field(default_factory=dict)

    def feature_names(self) -> list[str]:
        names = [*self.categorical, *self.numeric]
        for columns in self.encoded:
            key = "+".join(columns)
            names += [f"{key} outcome rate", f"{key} count"]
        return names

    def describe(self, feature: str) -> str:
        """A feature's name in an officer's words."""

        def label(column: str) -> str:
            return self.descriptions.get(column, column.replace("_", " "))

        for suffix, wording in (
            (" outcome rate", "past finding rate for this {}"),
            (" count", "filings seen for this {}"),
        ):
            if feature.endswith(suffix):
                columns = feature[: -len(suffix)].split("+")
                return wording.format(" and ".join(label(c) for c in columns))
        return label(feature)

    def columns(self) -> set[str]:
        return {*self.categorical, *self.numeric, *(c for cols in self.encoded for c in cols)}


def _keys(frame: Frame, columns: tuple[str, ...]) -> npt.NDArray[np.str_]:
    keys = frame[columns[0]].astype(str)
    for column in columns[1:]:
        keys = np.char.add(np.char.add(keys, _SEPARATOR), frame[column].astype(str))
    return keys


Table = tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]


def _rates(
    keys: npt.NDArray[np.str_], labels: npt.NDArray[np.float64], prior: float, smoothing: float
) -> Table:
    """Smoothed outcome rate and count per key: sorted keys and (n, 2) values."""
    unique, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse)
    sums = np.bincount(inverse, weights=labels)
    rates = (sums + smoothing * prior) / (counts + smoothing)
    return unique, np.column_stack([rates, counts.astype(np.float64)])


def _lookup(
    keys: npt.NDArray[np.str_], table: Table, default: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Rows of ``table`` (sorted keys, values) for ``keys``; ``default``
    for keys not in it. Vectorised: one binary search per key."""
    known, values = table
    if not len(known):
        return np.broadcast_to(default, (len(keys), *default.shape)).copy()
    position = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
    found = known[position] == keys
    out = values[position].copy()
    out[~found] = default
    return out


class RiskModel:
    """Probability that a declaration is found at fault, from its features."""

    # Set by load(): what save() wrote, including the caller's extra keys.
    stored_metadata_: dict[str, Any]
    _table_cache: dict[str, Table] | None

    def __init__(
        self,
        spec: FeatureSpec,
        *,
        max_depth: int = 8,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        smoothing: float = 10.0,
        folds: int = 5,
        n_threads: int = 2,
        random_state: int = 0,
    ) -> None:
        self.spec = spec
        self.max_depth = max_depth
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.smoothing = smoothing
        self.folds = folds
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_frame(self, frame: Frame) -> int:
        missing = sorted(self.spec.columns() - set(frame))
        if missing:
            raise InputError(f"the frame lacks the columns {', '.join(missing)}")
        lengths = {len(frame[c]) for c in self.spec.columns()}
        if len(lengths) > 1:
            raise InputError(f"the frame's columns differ in length: {sorted(lengths)}")
        return lengths.pop() if lengths else 0

    def _matrix(
        self, frame: Frame, encoded: list[npt.NDArray[np.float64]]
    ) -> npt.NDArray[np.float64]:
        n = self._check_frame(frame)
        columns: list[npt.NDArray[np.float64]] = []
        for name in self.spec.categorical:
            table = self._tables().get(f"vocabulary:{name}")
            assert table is not None
            keys = frame[name].astype(str)
            columns.append(_lookup(keys, table, np.array([np.nan]))[:, 0])
        for name in self.spec.numeric:
            columns.append(np.asarray(frame[name], dtype=np.float64))
        columns.extend(encoded)
        return np.column_stack(columns) if columns else np.zeros((n, 0))

    def _dmatrix(
        self, matrix: npt.NDArray[np.float64], labels: npt.NDArray[np.float64] | None = None
    ) -> xgb.DMatrix:
        types = ["c"] * len(self.spec.categorical) + ["q"] * (
            matrix.shape[1] - len(self.spec.categorical)
        )
        return xgb.DMatrix(
            matrix,
            label=labels,
            feature_names=self.spec.feature_names(),
            feature_types=types,
            enable_categorical=True,
            nthread=self.n_threads,
        )

    def fit(self, frame: Frame, labels: npt.ArrayLike) -> Self:
        y = np.asarray(labels, dtype=np.float64)
        n = self._check_frame(frame)
        if len(y) != n or n == 0:
            raise InputError(
                f"need one label per row and at least one row: {n} rows, {len(y)} labels"
            )
        self.prior_ = float(y.mean())
        self._table_cache = None
        self.vocabulary_: dict[str, dict[str, int]] = {
            name: {v: i for i, v in enumerate(np.unique(frame[name].astype(str)).tolist())}
            for name in self.spec.categorical
        }
        folds = np.random.default_rng([self.random_state, 1]).permutation(n) % self.folds
        self.encodings_: dict[str, dict[str, tuple[float, int]]] = {}
        encoded: list[npt.NDArray[np.float64]] = []
        default = np.array([self.prior_, 0.0])
        for columns in self.spec.encoded:
            keys = _keys(frame, columns)
            found = np.empty((n, 2))
            for fold in range(self.folds):
                held = folds == fold
                table = _rates(keys[~held], y[~held], self.prior_, self.smoothing)
                found[held] = _lookup(keys[held], table, default)
            # Out of fold, a key is seen in (k-1)/k of the rows; scaled, its
            # count matches what the full-data table gives at prediction.
            found[:, 1] *= self.folds / (self.folds - 1)
            unique, values = _rates(keys, y, self.prior_, self.smoothing)
            self.encodings_["+".join(columns)] = {
                str(k): (float(r), int(c)) for k, (r, c) in zip(unique, values, strict=True)
            }
            encoded += [found[:, 0], found[:, 1]]
        params = {
            "objective": "binary:logistic",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 1,
            "tree_method": "hist",
            "max_cat_to_onehot": 16,
            "nthread": self.n_threads,
            "seed": self.random_state,
        }
        self.booster_ = xgb.train(
            params, self._dmatrix(self._matrix(frame, encoded), y), self.n_estimators
        )
        self.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        self.n_rows_ = n
        return self

    def _tables(self) -> dict[str, Table]:
        """The learned vocabularies and outcome rates as sorted arrays, for
        vectorised look-ups; built once from the dicts (which are what is
        saved)."""
        if getattr(self, "_table_cache", None) is not None:
            assert self._table_cache is not None
            return self._table_cache
        cached: dict[str, Table] = {}
        for name, vocabulary in self.vocabulary_.items():
            keys = np.array(sorted(vocabulary), dtype=str)
            values = np.array([[vocabulary[k]] for k in keys.tolist()], dtype=np.float64)
            cached[f"vocabulary:{name}"] = (keys, values.reshape(-1, 1))
        for name, rates in self.encodings_.items():
            keys = np.array(sorted(rates), dtype=str)
            values = np.array([rates[k] for k in keys.tolist()], dtype=np.float64)
            cached[f"rate:{name}"] = (keys, values.reshape(-1, 2))
        self._table_cache = cached
        return cached

    def _features(self, frame: Frame) -> xgb.DMatrix:
        if not hasattr(self, "booster_"):
            raise ConfigurationError("this RiskModel is not fitted: call fit() or load()")
        encoded: list[npt.NDArray[np.float64]] = []
        default = np.array([self.prior_, 0.0])
        for columns in self.spec.encoded:
            table = self._tables()[f"rate:{'+'.join(columns)}"]
            found = _lookup(_keys(frame, columns), table, default)
            encoded += [found[:, 0], found[:, 1]]
        return self._dmatrix(self._matrix(frame, encoded))

    def serve_with_threads(self, n_threads: int) -> Self:
        """Pin prediction to ``n_threads`` (one per worker process when
        several score side by side, so they do not fight over cores)."""
        self.n_threads = n_threads
        if hasattr(self, "booster_"):
            self.booster_.set_param({"nthread": n_threads})
        return self

    def predict_proba(self, frame: Frame) -> npt.NDArray[np.float64]:
        """Probability of fault per row."""
        return np.asarray(self.booster_.predict(self._features(frame)), dtype=np.float64)

    def contributions(self, frame: Frame) -> npt.NDArray[np.float64]:
        """Tree SHAP contributions (log-odds) per row and feature; the last
        column is the bias."""
        return np.asarray(
            self.booster_.predict(self._features(frame), pred_contribs=True), dtype=np.float64
        )

    def explain(self, frame: Frame, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per row, the features that raised the score most (tree SHAP, in
        log-odds), described in words."""
        return self._reasons(self.contributions(frame), top)

    def predict_and_explain(
        self, frame: Frame, top: int = 3
    ) -> tuple[npt.NDArray[np.float64], list[list[tuple[str, float]]]]:
        """:meth:`predict_proba` and :meth:`explain` from one feature matrix."""
        features = self._features(frame)
        scores = np.asarray(self.booster_.predict(features), dtype=np.float64)
        contributions = self.booster_.predict(features, pred_contribs=True)
        return scores, self._reasons(np.asarray(contributions, dtype=np.float64), top)

    def _reasons(
        self, contributions: npt.NDArray[np.float64], top: int
    ) -> list[list[tuple[str, float]]]:
        contributions = contributions[:, :-1]
        words = [self.spec.describe(name) for name in self.spec.feature_names()]
        order = np.argsort(-contributions, axis=1)[:, :top]
        return [
            [(words[j], round(float(row[j]), 4)) for j in picks if row[j] > 0]
            for row, picks in zip(contributions, order, strict=True)
        ]

    # -- persistence --------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "clearway_version": __version__,
            "trained_at": self.trained_at_,
            "n_rows": self.n_rows_,
            "prior": self.prior_,
            "features": self.spec.feature_names(),
        }

    def save(self, path: Path, extra: Mapping[str, Any] | None = None) -> None:
        """One JSON file: metadata (with ``extra``, e.g. data range and
        metrics), the learned tables and the trees."""
        document = {
            "metadata": {**self.metadata(), **(extra or {})},
            "spec": {**asdict(self.spec), "encoded": [list(c) for c in self.spec.encoded]},
            "params": {
                "max_depth": self.max_depth,
                "n_estimators": self.n_estimators,
                "learning_rate": self.learning_rate,
                "smoothing": self.smoothing,
                "folds": self.folds,
                "n_threads": self.n_threads,
                "random_state": self.random_state,
            },
            "vocabulary": self.vocabulary_,
            "encodings": self.encodings_,
            "booster": base64.b64encode(bytes(self.booster_.save_raw("ubj"))).decode(),
        }
        path.write_text(json.dumps(document))

    @classmethod
    def load(cls, path: Path) -> RiskModel:
        try:
            document = json.loads(path.read_text())
            meta = document["metadata"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path}: not a clearway risk model ({exc})") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ConfigurationError(
                f"{path}: risk model format version {meta.get('format_version')} is not "
                f"{FORMAT_VERSION}; retrain with `clearway risk train`"
            )
        spec_data = document["spec"]
        spec = FeatureSpec(
            categorical=tuple(spec_data["categorical"]),
            numeric=tuple(spec_data["numeric"]),
            encoded=tuple(tuple(c) for c in spec_data["encoded"]),
            descriptions=dict(spec_data["descriptions"]),
        )
        model = cls(spec, **document["params"])
        model.vocabulary_ = document["vocabulary"]
        model._table_cache = None
        model.encodings_ = {
            key: {k: (float(v[0]), int(v[1])) for k, v in table.items()}
            for key, table in document["encodings"].items()
        }
        model.prior_ = float(meta["prior"])
        model.n_rows_ = int(meta["n_rows"])
        model.trained_at_ = str(meta["trained_at"])
        booster = xgb.Booster(params={"nthread": model.n_threads})
        booster.load_model(bytearray(base64.b64decode(document["booster"])))
        model.booster_ = booster
        model.stored_metadata_ = meta
        return model
