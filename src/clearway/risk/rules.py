"""Targeting rules as data: YAML files of conditions over declaration fields
and risk features, each with an owner, validity dates, a weight, a minimum
lane and the reason shown to officers.

A condition is ``{feature: NAME, op: OP, value: V}`` (ops ``> >= < <= ==
!= in``), or ``{all: [...]}``, ``{any: [...]}``, ``{not: ...}``. Rules are
checked when loaded: an unknown feature, operator or lane, a value of the
wrong type or a validity period that ends before it starts is refused with
the rule's id and the problem. Evaluation is vectorised: one boolean array
per rule over the whole batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from clearway._internal.pydantic_errors import error_details
from clearway._internal.yaml_text import parse_yaml
from clearway.errors import ErrorDetail, InputError, ValidationFailed
from clearway.risk.features import FEATURES

__all__ = [
    "FIELDS",
    "LANES",
    "Rule",
    "RuleSet",
    "builtin_rules",
    "evaluate_rules",
    "load_rules",
]

# Declaration fields a rule may test (text), besides the numeric features.
FIELDS = frozenset(
    {
        "destination_country",
        "departure_country",
        "mode",
        "filer_role",
        "seller_country",
        "consignee_country",
        "total_currency",
    }
)
LANES = ("green", "yellow", "red", "black")
Lane = Literal["green", "yellow", "red", "black"]
_OPS = {">", ">=", "<", "<=", "==", "!=", "in"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Test(_Strict):
    feature: str
    op: str
    value: float | str | bool | list[float | str]

    @model_validator(mode="after")
    def _known(self) -> Test:
        if self.feature not in FEATURES and self.feature not in FIELDS:
            known = ", ".join(sorted([*FEATURES, *FIELDS]))
            raise ValueError(f"unknown feature {self.feature!r}; known: {known}")
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {' '.join(sorted(_OPS))}. Got {self.op!r}")
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(f"op 'in' needs a list value. Got {self.value!r}")
        numeric = self.feature in FEATURES
        values = self.value if isinstance(self.value, list) else [self.value]
        if numeric and not all(isinstance(v, int | float) for v in values):
            raise ValueError(f"feature {self.feature!r} is numeric. Got {self.value!r}")
        if not numeric and not all(isinstance(v, str) for v in values):
            raise ValueError(f"field {self.feature!r} is text. Got {self.value!r}")
        if not numeric and self.op not in {"==", "!=", "in"}:
            raise ValueError(f"field {self.feature!r} is text: use == != or in. Got {self.op!r}")
        return self


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class Not(_Strict):
    not_: Condition = Field(alias="not")


Condition = Annotated[Test | AllOf | AnyOf | Not, Field(union_mode="left_to_right")]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


class Rule(_Strict):
    """One targeting rule."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    owner: str = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None
    when: Condition
    weight: float = Field(ge=0.0, le=1.0)
    min_lane: Lane = "green"
    # Red even when the office's red lane is full (screening hits,
    # prohibited goods); other rules asking for red yield to capacity.
    mandatory: bool = False
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _period(self) -> Rule:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(
                f"valid_to must not be before valid_from. Got {self.valid_to} < {self.valid_from}"
            )
        return self

    def active(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class RuleSet(_Strict):
    """A versioned file of rules."""

    version: int = Field(ge=1)
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule ids must be unique. Got {rule.id!r} twice")
            seen.add(rule.id)
        return self


_RULE_FIELD = re.compile(r"^rules\[(\d+)\]")


def load_rules(path: Path | None = None, text: str | None = None) -> RuleSet:
    """Read and check a rules file; every problem is reported with the
    rule's id (or position) and the field."""
    source = str(path) if path else "rules"
    try:
        body = text if text is not None else (path or Path()).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read the rules ({exc})") from exc
    raw = parse_yaml(body, source)
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        details = []
        for detail in error_details(exc):
            field = detail.field
            # rules[3].when... -> name the rule by its id where it has one.
            # (A key merely spelt "rules[" is an unknown field, left as it is.)
            position = _RULE_FIELD.match(field)
            if position and isinstance(raw, Mapping):
                index = int(position.group(1))
                rules = raw.get("rules") or []
                if (
                    isinstance(rules, list)
                    and index < len(rules)
                    and isinstance(rules[index], Mapping)
                    and "id" in rules[index]
                ):
                    field = f"rule {rules[index]['id']}{field[position.end() :]}"
            details.append(ErrorDetail(field, detail.code, detail.message))
        raise ValidationFailed(
            f"{source}: {len(details)} problem(s) in the rules", details=details
        ) from exc


@cache
def builtin_rules() -> RuleSet:
    """The rules shipped with clearway (``risk/data/rules.yaml``)."""
    text = resources.files("clearway.risk").joinpath("data/rules.yaml").read_text()
    return load_rules(text=text)


def _test(condition: Any, frame: Mapping[str, npt.NDArray[Any]]) -> npt.NDArray[np.bool_]:
    if isinstance(condition, AllOf):
        result = _test(condition.all[0], frame)
        for part in condition.all[1:]:
            result = result & _test(part, frame)
        return result
    if isinstance(condition, AnyOf):
        result = _test(condition.any[0], frame)
        for part in condition.any[1:]:
            result = result | _test(part, frame)
        return result
    if isinstance(condition, Not):
        return ~_test(condition.not_, frame)
    column = frame[condition.feature]
    value = condition.value
    ops = {
        ">": np.greater,
        ">=": np.greater_equal,
        "<": np.less,
        "<=": np.less_equal,
        "==": np.equal,
        "!=": np.not_equal,
    }
    if condition.op == "in":
        return np.isin(column, np.array(value))
    return np.asarray(ops[condition.op](column, value), dtype=bool)


def evaluate_rules(
    rules: RuleSet, frame: Mapping[str, npt.NDArray[Any]], day: date | None
) -> tuple[list[Rule], npt.NDArray[np.bool_]]:
    """The rules active on ``day`` (every rule when None: a backtest of a
    draft) and which rows each one hits: a boolean matrix (rows, rules)."""
    active = [rule for rule in rules.rules if day is None or rule.active(day)]
    n = len(next(iter(frame.values()))) if frame else 0
    if not active:
        return [], np.zeros((n, 0), dtype=bool)
    return active, np.column_stack([_test(rule.when, frame) for rule in active])
