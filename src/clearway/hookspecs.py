"""Hook specifications: the variable parts of clearway, as pluggy hooks.

Built-in implementations are plugins on these same hooks (see
:data:`clearway.plugins.DEFAULT_PLUGINS`), so a third party adds an intake
format exactly the way clearway adds its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from clearway.declarations.intake.base import IntakeFormat
    from clearway.parties.lists import ScreeningFormat

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("clearway")
hookimpl = pluggy.HookimplMarker("clearway")


@hookspec
def clearway_intake_formats() -> list[IntakeFormat]:  # type: ignore[empty-body]
    """Return intake formats this plugin provides (name, file suffixes, reader)."""


@hookspec
def clearway_duty_regime_files() -> list[str]:  # type: ignore[empty-body]
    """Return paths of duty regime YAML files (see docs/duty.md for the schema)."""


@hookspec
def clearway_screening_formats() -> list[ScreeningFormat]:  # type: ignore[empty-body]
    """Return restricted-party list formats this plugin reads (see docs/screening.md)."""
