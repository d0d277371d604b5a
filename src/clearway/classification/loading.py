"""Which classifier a process uses: the office's trained model when its file
exists, otherwise one fitted from the built-in knowledge (about two
seconds); plus the confirmed classifications of the precedents file, learned
without refitting (:meth:`HSClassifier.add_precedents`)."""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson

from clearway.classification.model import HSClassifier, normalise_code

_log = logging.getLogger(__name__)

__all__ = ["append_precedents", "builtin_classifier", "classifier_for", "read_precedents"]


@cache
def builtin_classifier() -> HSClassifier:
    """The nomenclature and product words alone, fitted once per machine:
    the fit takes seconds of CPU (22,000 examples) and every intake worker,
    CLI run and server process needs it, so the fitted model is kept in the
    user's cache folder under a digest of everything it is fitted from."""
    folder = _cache_dir()
    return HSClassifier().fit([], []) if folder is None else cached_builtin(folder)


def _cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder (a bare service account): fit each time
            return None
    return Path(base) / "clearway"


def _builtin_digest() -> str:
    """A digest of the code and data the built-in model is fitted from (this
    package and the reference nomenclature): any change makes a new file, so
    a cached model is never one fitted by other code or other words."""
    digest = hashlib.sha256()
    for package in (Path(__file__).parent, Path(__file__).parent.parent / "reference"):
        for file in sorted(package.rglob("*")):
            if file.is_file() and file.suffix in {".py", ".yaml", ".csv", ".json", ".gz"}:
                digest.update(file.relative_to(package.parent).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:32]


def cached_builtin(folder: Path) -> HSClassifier:
    """The built-in model from ``folder`` when a file for the current code and
    data is there, else fitted and written there (atomically; a folder that
    cannot be written only costs the fit)."""
    file = folder / f"builtin-hs-{_builtin_digest()}.npz"
    if file.is_file():
        try:
            return HSClassifier.load(file)
        except Exception as error:  # a damaged cache file is refitted, not fatal
            _log.warning("refitting the built-in HS model: %s: %s", file, error)
    model = HSClassifier().fit([], [])
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(handle)
        model.save(Path(name))
        os.replace(name, file)
    except OSError as error:
        _log.info("built-in HS model not cached in %s: %s", folder, error)
    return model


@cache
def _load(path: str, _modified: float) -> HSClassifier:
    return HSClassifier.load(Path(path))


def _base(path: str | None) -> HSClassifier:
    if path:
        file = Path(path)
        if file.is_file():
            return _load(str(file.resolve()), file.stat().st_mtime)
    return builtin_classifier()


@dataclass(frozen=True, slots=True)
class _Learned:
    base: HSClassifier
    model: HSClassifier
    offset: int


_learned: dict[str, _Learned] = {}
_lock = threading.Lock()


def read_precedents(path: Path, offset: int = 0) -> tuple[list[str], list[str], int]:
    """Descriptions and codes of the precedents file from byte ``offset``,
    and the offset after the last complete line. A line that is not a JSON
    object with a description and an HS 2022 code is skipped (the file is
    a cache of the store; the store keeps the truth)."""
    with path.open("rb") as stream:
        stream.seek(offset)
        data = stream.read()
    end = data.rfind(b"\n") + 1
    descriptions: list[str] = []
    codes: list[str] = []
    for line in data[:end].splitlines():
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(row, dict):
            continue
        text, code = row.get("description"), row.get("hs")
        valid = isinstance(text, str) and text.strip() and isinstance(code, str)
        if valid and normalise_code(str(code)) is not None:
            descriptions.append(str(text))
            codes.append(str(code))
    return descriptions, codes, offset + end


def append_precedents(path: Path, rows: list[tuple[str, str]]) -> None:
    """Append confirmed (description, code) pairs as JSON lines, in one
    write per call so that processes appending side by side never
    interleave within a line."""
    if not rows:
        return
    payload = b"".join(
        orjson.dumps({"description": text, "hs": code}) + b"\n" for text, code in rows
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, payload)
    finally:
        os.close(fd)


def classifier_for(path: str | None, precedents: str | None = None) -> HSClassifier:
    """The model in ``path`` if that file exists, else the built-in one.
    Reloaded when the file changes (a retrained model takes effect). With a
    ``precedents`` file, its confirmed classifications are learned on top;
    lines appended since the last call are learned incrementally."""
    base = _base(path)
    if not precedents:
        return base
    file = Path(precedents)
    if not file.is_file():
        return base
    size = file.stat().st_size
    with _lock:
        found = _learned.get(precedents)
        if found is not None and found.base is base and found.offset == size:
            return found.model
        if found is None or found.base is not base or found.offset > size:
            found = _Learned(base, base, 0)
        descriptions, codes, offset = read_precedents(file, found.offset)
        model = found.model
        if descriptions:
            # A shallow copy learns; the model other threads hold is untouched.
            model = copy.copy(model).add_precedents(descriptions, codes)
        _learned[precedents] = _Learned(base, model, offset)
        return model
