"""The data-sharing policy: one YAML file says, for each role, what it may
do, which declarations it may see and which of their parts. Every API
endpoint asks here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clearway._internal.pydantic_errors import error_details
from clearway._internal.yaml_text import parse_yaml
from clearway.errors import ConfigurationError, Forbidden, NotFound, ValidationFailed

__all__ = ["ACTIONS", "ROLES", "Caller", "Policy", "load_policy"]

Role = Literal[
    "customs_officer",
    "customs_analyst",
    "auditor",
    "marketplace",
    "carrier",
    "broker",
    "partner_agency",
]
Action = Literal[
    "submit",
    "read_declarations",
    "read_queue",
    "record_outcome",
    "read_ledger",
    "refer",
    "read_referrals",
    "answer_referrals",
    "record_findings",
    "read_operators",
    "read_metrics",
    "manage_operators",
]
ROLES: tuple[str, ...] = get_args(Role)
ACTIONS: tuple[str, ...] = get_args(Action)


class _RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[Action]
    scope: Literal["all", "filed", "routed", "none"]
    fields: list[str] = Field(default_factory=list)


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    roles: dict[Role, _RolePolicy]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: a participant, its role, the filer id it files under
    (filers) or the agency it speaks for (partner agencies)."""

    participant_id: int
    name: str
    role: str
    filer_id: str | None = None
    agency: str | None = None


class Policy:
    """The checked policy file, with the questions endpoints ask."""

    def __init__(self, document: _PolicyFile) -> None:
        self.version = document.version
        self._roles = document.roles

    def _role(self, caller: Caller) -> _RolePolicy:
        role = self._roles.get(caller.role)  # type: ignore[call-overload]
        if role is None:
            raise Forbidden(f"role {caller.role!r} has no entry in the data-sharing policy")
        return role  # type: ignore[no-any-return]

    def require(self, caller: Caller, action: str) -> None:
        """Raise :class:`Forbidden` unless the caller's role may ``action``."""
        if action not in self._role(caller).actions:
            raise Forbidden(f"role {caller.role} may not {action.replace('_', ' ')}")

    def may(self, caller: Caller, action: str) -> bool:
        return action in self._role(caller).actions

    def scope(self, caller: Caller) -> str:
        """Which declarations the caller's role may see: all, filed,
        routed or none."""
        return str(self._role(caller).scope)

    def may_read(self, caller: Caller, path: str) -> bool:
        """Whether the caller's role reads ``path`` (``key`` or
        ``key.subkey``) of a declaration report."""
        top = path.partition(".")[0]
        fields = self._role(caller).fields
        return path in fields or top in fields

    def can_see(self, caller: Caller, filer_id: str, agencies: set[str]) -> bool:
        """Whether a declaration of ``filer_id`` routed to ``agencies`` is
        within the caller's scope."""
        scope = self._role(caller).scope
        if scope == "all":
            return True
        if scope == "filed":
            return caller.filer_id is not None and caller.filer_id == filer_id
        if scope == "routed":
            return caller.agency is not None and caller.agency in agencies
        return False

    def redact(self, caller: Caller, report: dict[str, Any], ref: str) -> dict[str, Any]:
        """The parts of a declaration report the caller may read; 404 when
        the declaration is outside its scope (it may not learn it exists)."""
        agencies = {r["agency"] for r in report.get("routing", [])}
        filer = str(report.get("declaration", {}).get("filer", {}).get("id", ""))
        if not self.can_see(caller, filer, agencies):
            raise NotFound(f"declaration {ref!r} not found.")
        out: dict[str, Any] = {}
        for path in self._role(caller).fields:
            top, _, sub = path.partition(".")
            if top not in report:
                continue
            value = report[top]
            if not sub:
                out[top] = value
            elif isinstance(value, dict) and sub in value:
                out.setdefault(top, {})[sub] = value[sub]
        return out


@cache
def _builtin() -> Policy:
    text = resources.files("clearway.federation").joinpath("data/policy.yaml").read_text()
    return _parse(yaml.safe_load(text), "built-in policy")


def _parse(raw: Any, source: str) -> Policy:
    try:
        return Policy(_PolicyFile.model_validate(raw))
    except ValidationError as exc:
        raise ValidationFailed(
            f"{source}: the data-sharing policy is invalid", details=error_details(exc)
        ) from exc


def load_policy(path: str | None = None) -> Policy:
    """The policy in ``path``, or the built-in one."""
    if not path:
        return _builtin()
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the sharing policy ({exc})") from None
    return _parse(parse_yaml(text, path, ConfigurationError), path)
