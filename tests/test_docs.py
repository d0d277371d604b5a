"""Docs that tests keep honest: commands, settings, columns and fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from clearway.cli import app
from clearway.declarations import Declaration, MasterFiling
from clearway.declarations.intake.csv_rows import HOUSE_COLUMNS, ITEM_COLUMNS
from clearway.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands() -> list[str]:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    for group in app.registered_groups:
        sub = group.typer_instance
        names += [f"{group.name} {c.name}" for c in sub.registered_commands]
    return names


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented(command: str) -> None:
    assert f"clearway {command}" in (DOCS / "cli.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    text = (DOCS / "settings.md").read_text()
    assert f"`{name}`" in text
    assert f"`CLEARWAY_{name.upper()}`" in text


@pytest.mark.parametrize("column", HOUSE_COLUMNS + ITEM_COLUMNS)
def test_every_csv_column_is_documented(column: str) -> None:
    assert f"`{column}`" in (DOCS / "intake.md").read_text()


def _models(annotation: Any) -> list[type[BaseModel]]:
    args = get_args(annotation) or (annotation,)
    found = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    for arg in args:
        found += [a for a in get_args(arg) if isinstance(a, type) and issubclass(a, BaseModel)]
    return found


def _paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf field path, items as ``items[].x``, addresses as ``address.*``."""
    out = []
    for name, field in model.model_fields.items():
        nested = _models(field.annotation)
        is_list = getattr(field.annotation, "__origin__", None) is list
        path = f"{prefix}{name}[]" if is_list and nested else f"{prefix}{name}"
        if not nested:
            out.append(path)
        elif nested[0].__name__ == "Address":
            out.append(f"{path}.*")
        else:
            out += _paths(nested[0], f"{path}.")
    return out


@pytest.mark.parametrize("path", [p for p in _paths(Declaration) if p != "kind"])
def test_every_declaration_field_is_mapped(path: str) -> None:
    assert f"| `{path}` |" in (DOCS / "data-model.md").read_text()


@pytest.mark.parametrize("path", [p for p in _paths(MasterFiling) if p != "kind"])
def test_every_master_field_is_mapped(path: str) -> None:
    text = (DOCS / "data-model.md").read_text()
    assert f"| `{path}` |" in text or f"| `{path.split('.', maxsplit=1)[0]}.*` |" in text
