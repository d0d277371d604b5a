"""Word meaning for the classifier: static word vectors from the weights that
the ``wordllama`` wheel ships (MIT; 32,000 Llama-2 tokens x 256 dimensions,
trained so that averaged token vectors compare texts by meaning).

Nothing is downloaded: the tokenizer and weights are files inside the
installed package. A text's vector is the IDF-weighted mean of its words'
vectors (each word's vector is the sum of its tokens', computed once per
distinct word and cached), so embedding a listing costs a few dictionary
look-ups and one sparse product; the tokenizer runs only on words never
seen before. "earphones" and "earbuds" land near each other although they
share no word, which TF-IDF alone cannot see.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

from clearway.errors import ConfigurationError

__all__ = ["WordVectors", "word_vectors"]

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"

Vectors = npt.NDArray[np.float32]


def _package_dir() -> Path:
    # find_spec locates the package without importing it (its __init__ pulls
    # in modules the classifier never needs).
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the semantic layer needs the wordllama package: pip install wordllama"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class WordVectors:
    """Vectors of ``dims`` dimensions (the model's leading dimensions carry
    the most meaning, so 64 or 128 keep most of it at a fraction of the
    cost) for words, cached per distinct word."""

    def __init__(self, dims: int = 128) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = _package_dir()
        try:
            weights = load_file(str(folder / _WEIGHTS))["embedding.weight"]
            self._tokenizer = Tokenizer.from_file(str(folder / _TOKENIZER))
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigurationError(f"wordllama files unreadable in {folder}: {exc}") from exc
        self.dims = dims
        self._tokens = weights[:, :dims].astype(np.float32)
        self._index: dict[str, int] = {}
        # Grown by doubling: listings keep bringing words never seen before.
        self._matrix: Vectors = np.zeros((4096, dims), dtype=np.float32)
        self._lock = threading.Lock()

    def _add(self, new: Sequence[str]) -> None:
        encoded = self._tokenizer.encode_batch([f" {w}" for w in new], add_special_tokens=False)
        with self._lock:
            for word, enc in zip(new, encoded, strict=True):
                if word in self._index:
                    continue
                row = len(self._index)
                if row == self._matrix.shape[0]:
                    grown = np.zeros((row * 2, self.dims), dtype=np.float32)
                    grown[:row] = self._matrix
                    self._matrix = grown
                # Ids 0-2 are the tokenizer's <unk>, <s> and </s>.
                ids = [i for i in enc.ids if i > 2]
                if ids:
                    self._matrix[row] = self._tokens[ids].sum(axis=0)
                self._index[word] = row

    def ids(self, words: Sequence[str]) -> list[int]:
        """Row numbers of ``words`` in the vector table, adding unseen words."""
        index = self._index
        missing = [w for w in set(words) if w not in index]
        if missing:
            self._add(missing)
        return [index[w] for w in words]

    def embed(
        self, tokenised: Sequence[Sequence[str]], weight_of: dict[str, float] | None = None
    ) -> Vectors:
        """Unit vectors (n, dims) of texts given as word lists; each word
        weighted by ``weight_of`` (default 1). A text without words gets
        the zero vector (it matches nothing)."""
        all_words = [w for words in tokenised for w in words]
        ids = self.ids(all_words)
        weights = np.array(
            [weight_of.get(w, 1.0) for w in all_words] if weight_of else [1.0] * len(all_words),
            dtype=np.float32,
        )
        indptr = np.zeros(len(tokenised) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(words) for words in tokenised])
        counts = sparse.csr_matrix(
            (weights, np.array(ids, dtype=np.int32), indptr),
            shape=(len(tokenised), self._matrix.shape[0]),
        )
        out: Vectors = np.asarray(counts @ self._matrix, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: Vectors = out / norms
        return unit


@cache
def word_vectors(dims: int) -> WordVectors:
    """One cache of word vectors per process and width."""
    return WordVectors(dims)
