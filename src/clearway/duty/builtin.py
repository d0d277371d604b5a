"""The built-in duty regimes (EU, US, UK), a plugin like any other."""

from __future__ import annotations

from pathlib import Path

from clearway.hookspecs import hookimpl

__all__ = ["clearway_duty_regime_files"]


@hookimpl
def clearway_duty_regime_files() -> list[str]:
    folder = Path(__file__).with_name("data") / "regimes"
    return [str(path) for path in sorted(folder.glob("*.yaml"))]
