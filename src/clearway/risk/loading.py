"""Which rules and which model the intake pipeline scores with."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from clearway.risk.frame import DECLARATION_SPEC
from clearway.risk.model import RiskModel
from clearway.risk.rules import RuleSet, builtin_rules, load_rules

__all__ = ["declaration_model_for", "rules_for"]


@cache
def _rules(path: str, _modified: float) -> RuleSet:
    return load_rules(Path(path))


def rules_for(path: str | None) -> RuleSet:
    """The rules in ``path`` (reloaded when the file changes), else the built-in ones."""
    if not path:
        return builtin_rules()
    file = Path(path)
    return _rules(str(file.resolve()), file.stat().st_mtime if file.exists() else 0.0)


@cache
def _model(path: str, _modified: float) -> RiskModel | None:
    model = RiskModel.load(Path(path))
    if model.spec.feature_names() != DECLARATION_SPEC.feature_names():
        # A model of another data set's features (the Korean data, say)
        # cannot score declarations.
        return None
    return model.serve_with_threads(1)


def declaration_model_for(path: str | None) -> RiskModel | None:
    """The learned model in ``path`` when it exists and was trained on
    declaration features; else None (rules alone)."""
    if not path:
        return None
    file = Path(path)
    if not file.is_file():
        return None
    return _model(str(file.resolve()), file.stat().st_mtime)
