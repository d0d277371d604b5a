"""The plugin manager, with clearway's built-ins registered as plugins."""

from __future__ import annotations

import importlib
from functools import cache

import pluggy

from clearway import hookspecs

__all__ = ["DEFAULT_PLUGINS", "plugin_manager"]

DEFAULT_PLUGINS: tuple[str, ...] = (
    "clearway.declarations.intake.jsonl",
    "clearway.declarations.intake.json_document",
    "clearway.declarations.intake.csv_rows",
    "clearway.duty.builtin",
    "clearway.parties.formats",
)


@cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager: built-ins, then ``clearway`` entry points."""
    pm = pluggy.PluginManager("clearway")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints("clearway")
    return pm
