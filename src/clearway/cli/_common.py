"""What every command module of the CLI shares: the consoles, the settings
read from the environment, the progress bar, the exit status for rejects.

Command modules import these from here, never from :mod:`clearway.cli`
(the package imports the command modules to register them). Only light
modules are imported at the top: ``clearway --help`` imports every
command module, and each command imports what it needs when it runs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clearway.errors import ConfigurationError
from clearway.settings import Settings

__all__ = [
    "EXIT_REJECTED",
    "console",
    "err_console",
    "parse_day",
    "print_mapping",
    "progress_bar",
    "settings_from_environment",
]

console = Console()
err_console = Console(stderr=True)

EXIT_REJECTED = 2


def settings_from_environment() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CLEARWAY_{str(e['loc'][0]).upper()} {e['msg'].lower()}" for e in exc.errors()
        )
        raise ConfigurationError(f"invalid setting: {problems}.") from None


def progress_bar() -> Progress:
    """A progress bar on stderr, gone when done (stdout stays parseable)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def print_mapping(title: str, mapping: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in mapping.items():
        table.add_row(key, value if isinstance(value, str) else orjson.dumps(value).decode())
    console.print(table)


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"must be a date YYYY-MM-DD. Got {value!r}", param_hint=option
        ) from None
