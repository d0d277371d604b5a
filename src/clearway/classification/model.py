"""HS suggestion: a retrieval model over the nomenclature, everyday product
words and the customs office's own labelled history.

Every known text (an *example*) is a TF-IDF vector of words and word pairs
(:func:`clearway.classification.text.terms`). A description is scored against
all examples at once (one sparse product per chunk). A heading's score is the
best match among its examples, plus half the second best (two pieces of
evidence beat one stray word), plus a share of its chapter's; a subheading's
score is the best match among its own examples. Probabilities are
hierarchical, so a heading with many subheadings gets no head start:
``P(subheading) = P(heading) x P(subheading | heading)``, each a softmax whose
temperature is fitted on examples held out of training (calibration).

The estimator follows scikit-learn's contract: ``fit`` returns ``self``,
learned state ends in ``_``, ``random_state`` fixes the calibration split,
and :meth:`HSClassifier.save` writes a versioned file that :meth:`load`
checks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from clearway.classification.knowledge import (
    Example,
    nomenclature_examples,
    product_term_examples,
)
from clearway.classification.neighbours import PRECEDENT, group_max, nearest_evidence
from clearway.classification.persistence import (
    FORMAT_VERSION,
    load_model,
    model_metadata,
    save_model,
)
from clearway.classification.results import Distribution, Suggestions
from clearway.classification.text import terms
from clearway.errors import ConfigurationError, InputError
from clearway.reference.nomenclature import hs_subheadings

__all__ = ["FORMAT_VERSION", "Distribution", "HSClassifier", "Suggestions", "normalise_code"]

_CHUNK = 512
_TEMPERATURES = np.geomspace(0.005, 1.0, 60)
_DEFAULT_TEMPERATURES = (0.05, 0.1)
_MIN_CALIBRATION = 30

Floats = npt.NDArray[np.float64]


def normalise_code(code: str) -> str | None:
    """The six-digit subheading (or four-digit heading) an HS code names in
    HS 2022, longer national codes cut to six digits; None when none."""
    digits = "".join(ch for ch in code if ch.isdigit())
    subheadings = hs_subheadings()
    if len(digits) >= 6 and digits[:6] in subheadings:
        return digits[:6]
    if len(digits) == 4 and any(s.startswith(digits) for s in subheadings):
        return digits
    return None


class HSClassifier:
    """Top-k HS 2022 subheadings for goods descriptions.

    ``product_terms`` adds the everyday product words shipped with clearway;
    ``history_weight`` scales the office's labelled history against them;
    ``chapter_weight`` is the share of a chapter's match added to each of its
    headings; ``second_match_weight`` adds the runner-up match within a
    heading (or chapter), so two independent pieces of evidence beat one
    stray word; ``max_history_examples`` bounds the examples kept from history
    (a random sample beyond it); ``calibration_share`` of the product words
    and history is held out to fit the temperatures.

    ``precedent_weight`` scales confirmed classifications
    (:meth:`add_precedents`) against the other examples; ``evidence_floor``
    is the least word similarity at which a labelled example is shown as
    evidence (and a precedent counted as "like N confirmed filings").
    """

    def __init__(
        self,
        *,
        product_terms: bool = True,
        history_weight: float = 1.0,
        chapter_weight: float = 0.3,
        second_match_weight: float = 0.5,
        max_history_examples: int = 50_000,
        calibration_share: float = 0.2,
        precedent_weight: float = 1.2,
        evidence_floor: float = 0.3,
        random_state: int = 0,
    ) -> None:
        self.product_terms = product_terms
        self.history_weight = history_weight
        self.chapter_weight = chapter_weight
        self.second_match_weight = second_match_weight
        self.max_history_examples = max_history_examples
        self.calibration_share = calibration_share
        self.precedent_weight = precedent_weight
        self.evidence_floor = evidence_floor
        self.random_state = random_state

    # -- training -----------------------------------------------------------

    def fit(self, descriptions: Sequence[str], codes: Sequence[str]) -> Self:
        """Learn from labelled history (may be empty: the built-in knowledge
        alone). Each code must be an HS 2022 heading or subheading (longer
        national codes are cut to six digits)."""
        if len(descriptions) != len(codes):
            raise InputError(
                f"descriptions and codes differ in length: {len(descriptions)} vs {len(codes)}"
            )
        history: list[Example] = []
        for row, (text, code) in enumerate(zip(descriptions, codes, strict=True)):
            normal = normalise_code(code)
            if normal is None:
                raise InputError(
                    f"row {row}: hs must be an HS 2022 heading or subheading. Got {code!r}"
                )
            history.append(Example(text, normal))
        rng = random.Random(self.random_state)
        if len(history) > self.max_history_examples:
            history = rng.sample(history, self.max_history_examples)
        base = list(nomenclature_examples())
        extra = list(product_term_examples()) if self.product_terms else []
        held: list[Example] = []
        kept_extra: list[Example] = []
        kept_history: list[Example] = []
        for example, from_history in [(e, False) for e in extra] + [(e, True) for e in history]:
            if rng.random() < self.calibration_share:
                held.append(example)
            else:
                (kept_history if from_history else kept_extra).append(example)
        temperatures = _DEFAULT_TEMPERATURES
        if len(held) >= _MIN_CALIBRATION:
            self._build(base, kept_extra, kept_history)
            temperatures = self._calibrate(held)
        self._build(base, extra, history)
        self.temperature_heading_, self.temperature_subheading_ = temperatures
        self.n_history_ = len(history)
        self.trained_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        return self

    def _build(self, base: list[Example], extra: list[Example], history: list[Example]) -> None:
        examples = [*base, *extra, *history]
        weights = [1.0] * (len(base) + len(extra)) + [self.history_weight] * len(history)
        sources = [0] * len(base) + [1] * len(extra) + [2] * len(history)
        tokenised = [terms(e.text) for e in examples]
        vocabulary: dict[str, int] = {}
        for found in tokenised:
            for term in found:
                vocabulary.setdefault(term, len(vocabulary))
        document_frequency = np.zeros(len(vocabulary), dtype=np.float64)
        for found in tokenised:
            document_frequency[[vocabulary[t] for t in set(found)]] += 1
        self.vocabulary_ = vocabulary
        self.idf_ = np.log((1 + len(examples)) / (1 + document_frequency)) + 1.0
        order = sorted(range(len(examples)), key=lambda i: examples[i].code)
        matrix = self._vectorise([tokenised[i] for i in order])
        scale = sparse.diags(np.array([weights[i] for i in order]))
        self.examples_ = (scale @ matrix).tocsr()
        self.example_codes_ = np.array([examples[i].code for i in order])
        self.example_texts_ = np.array([examples[i].text for i in order])
        self.example_sources_ = np.array([sources[i] for i in order], dtype=np.int8)
        self._index()

    def _index(self) -> None:
        """For each example, the chapter, heading and subheading it counts
        for (-1: none), so example scores group into level scores."""
        codes = self.example_codes_
        lengths = np.char.str_len(codes)
        self.subheadings_ = np.array(sorted(hs_subheadings()))
        sub_headings = np.array([c[:4] for c in self.subheadings_])
        self.headings_ = np.unique(sub_headings)
        self.chapters_ = np.unique(np.array([c[:2] for c in self.headings_]))
        self._group: dict[str, npt.NDArray[np.intp]] = {}
        for level, keys, width in (
            ("chapter", self.chapters_, 2),
            ("heading", self.headings_, 4),
            ("subheading", self.subheadings_, 6),
        ):
            counts = (lengths >= width) if level == "heading" else (lengths == width)
            prefixes = np.array([c[:width] for c in codes])
            group = np.searchsorted(keys, prefixes)
            group = np.where(counts & (group < len(keys)), group, -1)
            valid = group >= 0
            group[valid] = np.where(keys[group[valid]] == prefixes[valid], group[valid], -1)
            missing = np.setdiff1d(np.arange(len(keys)), group)
            if missing.size:
                raise ConfigurationError(f"no example for HS codes {list(keys[missing[:5]])}")
            self._group[level] = group
        self._sub_heading = np.searchsorted(self.headings_, sub_headings)
        # Transposed once: scipy would convert examples_.T to CSR on every call.
        self._examples_t = self.examples_.T.tocsr()
        self._heading_chapter = np.searchsorted(
            self.chapters_, np.array([c[:2] for c in self.headings_])
        )
        first = np.searchsorted(sub_headings, self.headings_, side="left")
        last = np.searchsorted(sub_headings, self.headings_, side="right")
        width = int((last - first).max())
        # Each heading's subheadings, padded with the index of an extra score
        # column that holds -inf (probability zero).
        padded = first[:, None] + np.arange(width)[None, :]
        self._heading_subs = np.where(padded < last[:, None], padded, len(self.subheadings_))

    def _vectorise(self, tokenised: Sequence[list[str]]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        vocabulary = self.vocabulary_
        for found in tokenised:
            columns = {vocabulary[t] for t in found if t in vocabulary}
            indices.extend(sorted(columns))
            indptr.append(len(indices))
        index_array = np.array(indices, dtype=np.int32)
        data = self.idf_[index_array]
        matrix = sparse.csr_matrix(
            (data, index_array, np.array(indptr, dtype=np.int64)),
            shape=(len(tokenised), len(vocabulary)),
        )
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags(1.0 / norms) @ matrix

    def _scores(self, texts: Sequence[str]) -> tuple[Floats, Floats]:
        """Heading scores (n, H) and subheading scores (n, S + 1), the last
        column -inf (padding of :attr:`_heading_subs`)."""
        matrix = self._vectorise([terms(t) for t in texts])
        similarity = (matrix @ self._examples_t).tocsr()
        similarity.sort_indices()
        n = len(texts)
        rows = np.repeat(np.arange(n), np.diff(similarity.indptr))
        cols, values = similarity.indices, similarity.data
        second = self.second_match_weight
        chapter = group_max(
            rows, cols, values, self._group["chapter"], n, len(self.chapters_), second
        )
        heading = group_max(
            rows, cols, values, self._group["heading"], n, len(self.headings_), second
        )
        heading += self.chapter_weight * chapter[:, self._heading_chapter]
        subheading = group_max(
            rows, cols, values, self._group["subheading"], n, len(self.subheadings_) + 1
        )
        subheading[:, -1] = -np.inf
        return heading, subheading

    def _within(
        self,
        subheading: Floats,
        rows: npt.NDArray[np.intp],
        heads: npt.NDArray[np.intp],
        t_sub: float,
    ) -> tuple[npt.NDArray[np.intp], Floats]:
        """For each (row, heading) pair: the heading's subheading indices
        (padded) and their probabilities given the heading."""
        candidates = self._heading_subs[heads]
        scores = subheading[rows[..., None], candidates] / t_sub
        top = scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores - top)
        return candidates, weights / weights.sum(axis=-1, keepdims=True)

    def _heading_probabilities(self, heading: Floats, t_heading: float) -> Floats:
        p: Floats = np.exp((heading - heading.max(axis=1, keepdims=True)) / t_heading)
        p /= p.sum(axis=1, keepdims=True)
        return p

    def _calibrate(self, held: list[Example]) -> tuple[float, float]:
        """Temperatures minimising the negative log-likelihood of the held-out
        examples' headings, then of their subheadings given the heading."""
        heading, subheading = self._scores([e.text for e in held])
        truth_heading = np.searchsorted(self.headings_, np.array([e.code[:4] for e in held]))
        rows = np.arange(len(held))
        best_heading, best_nll = _DEFAULT_TEMPERATURES[0], np.inf
        for t in _TEMPERATURES:
            z = (heading - heading.max(axis=1, keepdims=True)) / t
            log_p = z[rows, truth_heading] - np.log(np.exp(z).sum(axis=1))
            nll = float(-log_p.mean())
            if nll < best_nll:
                best_heading, best_nll = float(t), nll
        six = np.array([i for i, e in enumerate(held) if len(e.code) == 6], dtype=np.intp)
        best_sub = _DEFAULT_TEMPERATURES[1]
        if len(six) >= _MIN_CALIBRATION:
            best_nll = np.inf
            truth_sub = np.searchsorted(self.subheadings_, np.array([held[i].code for i in six]))
            for t in _TEMPERATURES:
                candidates, p = self._within(subheading, six, truth_heading[six], float(t))
                chosen = (p * (candidates == truth_sub[:, None])).sum(axis=1)
                nll = float(-np.log(np.clip(chosen, 1e-12, None)).mean())
                if nll < best_nll:
                    best_sub, best_nll = float(t), nll
        return best_heading, best_sub

    # -- prediction ---------------------------------------------------------

    def distributions(self, texts: Sequence[str]) -> Iterator[Distribution]:
        """Descriptions scored chunk by chunk (see :class:`Distribution`)."""
        self._check_fitted()
        for start in range(0, len(texts), _CHUNK):
            heading, subheading = self._scores(texts[start : start + _CHUNK])
            yield Distribution(
                self._heading_probabilities(heading, self.temperature_heading_), subheading
            )

    def chapter_probabilities(self, heading: Floats) -> Floats:
        """Heading probabilities (n, H) summed into chapter probabilities (n, C)."""
        first = np.searchsorted(self._heading_chapter, np.arange(len(self.chapters_)))
        return np.add.reduceat(heading, first, axis=1)

    def subheading_probabilities(
        self, dist: Distribution, heads: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.intp], Floats]:
        """For headings ``heads`` (n, K): their subheading indices (n, K, W,
        padded with S) and the probability of each subheading."""
        rows = np.arange(heads.shape[0])[:, None]
        candidates, within = self._within(
            dist.subheading_scores, rows, heads, self.temperature_subheading_
        )
        return candidates, dist.heading[rows, heads][..., None] * within

    def declared(
        self, dist: Distribution, codes: Sequence[str]
    ) -> tuple[Floats, npt.NDArray[np.intp], Floats, npt.NDArray[np.intp]]:
        """For each row's declared code: the probability of its heading, that
        heading's rank (1 = most probable), the probability of its subheading
        and the subheading's rank within the heading (0 where the code has
        no valid subheading)."""
        heading_index = np.searchsorted(self.headings_, np.array([c[:4] for c in codes]))
        heading_index = np.clip(heading_index, 0, len(self.headings_) - 1)
        rows = np.arange(len(codes))
        p_heading = dist.heading[rows, heading_index]
        rank = (dist.heading > p_heading[:, None]).sum(axis=1) + 1
        candidates, p = self.subheading_probabilities(dist, heading_index[:, None])
        sub_index = np.searchsorted(self.subheadings_, np.array([c[:6] for c in codes]))
        match = candidates[:, 0, :] == sub_index[:, None]
        p_sub = (p[:, 0, :] * match).sum(axis=1)
        sub_rank = np.where(match.any(axis=1), (p[:, 0, :] > p_sub[:, None]).sum(axis=1) + 1, 0)
        return p_heading, rank, p_sub, sub_rank

    def suggest(self, texts: Sequence[str], k: int = 5) -> Suggestions:
        """The ``k`` most probable subheadings of each description.

        Candidates come from the ``max(k, 10)`` most probable headings, which
        hold practically all the probability mass."""
        chunks = [self.top(dist, k) for dist in self.distributions(texts)]
        if not chunks:
            empty = np.zeros((0, k))
            return Suggestions(np.zeros((0, k), dtype="<U6"), empty, empty, empty)
        return Suggestions(
            np.vstack([c.codes for c in chunks]),
            np.vstack([c.confidence for c in chunks]),
            np.vstack([c.heading_confidence for c in chunks]),
            np.vstack([c.chapter_confidence for c in chunks]),
        )

    def top(self, dist: Distribution, k: int = 5) -> Suggestions:
        """The ``k`` most probable subheadings of one scored chunk."""
        labels = np.append(self.subheadings_, "")
        n_heads = min(max(k, 10), len(self.headings_))
        n = dist.heading.shape[0]
        heads = np.argpartition(-dist.heading, n_heads - 1, axis=1)[:, :n_heads]
        candidates, p = self.subheading_probabilities(dist, heads)
        flat_p = p.reshape(n, -1)
        flat_c = candidates.reshape(n, -1)
        top = np.argpartition(-flat_p, k - 1, axis=1)[:, :k]
        rows = np.arange(n)[:, None]
        top = top[rows, np.argsort(-flat_p[rows, top], axis=1)]
        chosen = flat_c[rows, top]
        chosen_heads = self._sub_heading[np.minimum(chosen, len(self.subheadings_) - 1)]
        chapters = self.chapter_probabilities(dist.heading)
        return Suggestions(
            labels[chosen],
            flat_p[rows, top],
            dist.heading[rows, chosen_heads],
            chapters[rows, self._heading_chapter[chosen_heads]],
        )

    # -- precedents and evidence ---------------------------------------------

    def add_precedents(self, descriptions: Sequence[str], codes: Sequence[str]) -> Self:
        """Learn confirmed classifications without refitting: each becomes an
        example (weighted ``precedent_weight``).
        Words never seen get the weight of a word seen once; IDF and the
        calibrated temperatures stay as fitted. Arrays and the vocabulary
        are replaced, never changed in place, so a shallow copy of a model
        can learn while the original keeps serving."""
        self._check_fitted()
        if len(descriptions) != len(codes):
            raise InputError(
                f"descriptions and codes differ in length: {len(descriptions)} vs {len(codes)}"
            )
        normal: list[str] = []
        for row, code in enumerate(codes):
            found = normalise_code(code)
            if found is None:
                raise InputError(
                    f"row {row}: hs must be an HS 2022 heading or subheading. Got {code!r}"
                )
            normal.append(found)
        if not normal:
            return self
        tokenised = [terms(t) for t in descriptions]
        vocabulary = dict(self.vocabulary_)
        for found_terms in tokenised:
            for term in found_terms:
                vocabulary.setdefault(term, len(vocabulary))
        rare = math.log((1 + self.examples_.shape[0]) / 2) + 1.0
        self.idf_ = np.concatenate(
            [self.idf_, np.full(len(vocabulary) - len(self.vocabulary_), rare)]
        )
        self.vocabulary_ = vocabulary
        added = self.precedent_weight * self._vectorise(tokenised)
        width = len(vocabulary)
        old = self.examples_
        old = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], width))
        stacked = sparse.vstack([old, added]).tocsr()
        codes_all = np.concatenate([self.example_codes_, np.array(normal)])
        order = np.argsort(codes_all, kind="stable")
        self.examples_ = stacked[order]
        self.example_codes_ = codes_all[order]
        self.example_texts_ = np.concatenate([self.example_texts_, np.array(list(descriptions))])[
            order
        ]
        self.example_sources_ = np.concatenate(
            [self.example_sources_, np.full(len(normal), PRECEDENT, dtype=np.int8)]
        )[order]
        self._index()
        return self

    def evidence(self, texts: Sequence[str], k: int = 3) -> list[dict[str, Any]]:
        """What each text's suggestions rest on, on the words that scored it
        (:func:`~clearway.classification.neighbours.nearest_evidence`): the
        ``k`` labelled examples sharing most words, and per code the
        confirmed classifications at least ``evidence_floor`` similar."""
        self._check_fitted()
        similarity = (self._vectorise([terms(t) for t in texts]) @ self._examples_t).tocsr()
        return nearest_evidence(
            similarity,
            self.example_texts_,
            self.example_codes_,
            self.example_sources_,
            k,
            self.evidence_floor,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "examples_"):
            raise ConfigurationError("this HSClassifier is not fitted: call fit() or load()")

    # -- persistence --------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """Version, training facts and parameters (what :meth:`save` writes)."""
        return model_metadata(self)

    def save(self, path: Path) -> None:
        """Write the fitted model as one ``.npz`` file (no pickle)."""
        save_model(self, path)

    @classmethod
    def load(cls, path: Path) -> HSClassifier:
        """Read a model written by :meth:`save`, refusing other format versions."""
        return load_model(cls, path)
