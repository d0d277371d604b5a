"""``clearway screening``: restricted-party lists as dated data (import,
list, remove), and ``clearway screen``: one name against the active lists."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearway.cli._common import (
    EXIT_REJECTED,
    console,
    err_console,
    parse_day,
    settings_from_environment,
)

__all__ = ["screen", "screening_app", "warn_if_stale"]

screening_app = typer.Typer(
    help="Restricted-party lists: import dated versions, list, remove.", no_args_is_help=True
)


def warn_if_stale(settings: object, engine: object) -> None:
    """Print the stale-list warning, if any, on stderr."""
    from clearway.wiring import screening_warning

    warning = screening_warning(settings, engine)  # type: ignore[arg-type]
    if warning:
        err_console.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)


@screening_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The list file (see --format).")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="ofac-sdn, ofac-consolidated or clearway-snapshot (see docs)."
        ),
    ] = "ofac-sdn",
    name: Annotated[
        str | None, typer.Option(help="List name (default: the format's, e.g. 'OFAC SDN').")
    ] = None,
    published: Annotated[
        str | None,
        typer.Option(help="Publication date YYYY-MM-DD (default: from the file, else its date)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Also rescreen declarations filed from this day.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="... up to this day (default: today).")] = None,
) -> None:
    """Import a list version (replacing the list's previous one) and rescreen
    pending declarations against the entries that changed."""
    from clearway.parties.lists import read_list
    from clearway.store import open_engine
    from clearway.wiring import import_screening_list

    first = parse_day(since, "--since")
    last = parse_day(until, "--until") or date.today()
    if first is None and until is not None:
        raise typer.BadParameter("needs --since as well", param_hint="--until")
    listed = read_list(file, fmt, name=name, published=parse_day(published, "--published"))
    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    change, result = import_screening_list(
        engine, settings, listed, history=(first, last) if first else None
    )
    verb = "replaced" if change.replaced else "imported"
    console.print(
        f"{verb} {change.name} (published {change.published.isoformat()}): "
        f"{change.entries:,} entries, {len(change.changed):,} new or changed, "
        f"{len(change.removed):,} removed"
    )
    for note in listed.notes:
        console.print(f"  note: {note}")
    console.print(
        f"rescreened {result.screened:,} declarations: {result.hits} new hits, "
        f"{result.raised} lanes raised"
    )
    for alert in result.alerts[:20]:
        console.print(
            f"  [red]hit[/red] declaration {alert['declaration_id']} {alert['role']}: "
            f"{alert['listed_name']} ({alert['list_name']} {alert['entry_id']}) "
            f"score {alert['score']:.0f}, lane {alert['lane_before']} -> {alert['lane_after']}"
            + (" (released)" if alert["released"] else "")
        )


@screening_app.command("lists")
def lists() -> None:
    """The lists screened against: name, source, publication date, entries,
    imported at."""
    from clearway.store import open_engine
    from clearway.store.screening import stored_lists
    from clearway.wiring import screening_from_store

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    imported = {row["name"]: row for row in stored_lists(engine)}
    options = screening_from_store(settings, engine)
    table = Table("name", "source", "published", "entries", "imported at")
    for listed in options.lists if options else ():
        row = imported.get(listed.name)
        when = row["imported_at"].isoformat(timespec="seconds") if row else listed.format
        table.add_row(
            listed.name, listed.source, listed.published.isoformat(), f"{len(listed.entries):,}",
            when,
        )  # fmt: skip
    console.print(table)
    warn_if_stale(settings, engine)


@screening_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The list's name.")]) -> None:
    """Remove an imported list (its past hits stay on the declarations)."""
    from clearway.store import open_engine
    from clearway.store.screening import remove_list

    settings = settings_from_environment()
    count = remove_list(open_engine(settings.database_url), name)
    console.print(f"removed {name} ({count:,} entries)")


def screen(
    name: Annotated[str, typer.Argument(help="Party name to screen.")],
    country: Annotated[str | None, typer.Option(help="The party's country (ISO 3166).")] = None,
    sdn: Annotated[
        Path | None,
        typer.Option(help="Screen against this OFAC SDN CSV only (default: the active lists)."),
    ] = None,
) -> None:
    """Screen a name against the active restricted-party lists; exit 2 when
    it matches."""
    from clearway.parties import load_sdn
    from clearway.parties.checks import screening_index
    from clearway.store import open_engine
    from clearway.wiring import screening_from_store

    settings = settings_from_environment()
    if sdn is not None:
        index = load_sdn(sdn, settings.screening_threshold)
    else:
        options = screening_from_store(settings, open_engine(settings.database_url))
        if options is None:
            from clearway.errors import ConfigurationError

            raise ConfigurationError(
                "no screening list: import one with `clearway screening import`, pass --sdn, "
                "or turn screening_default_list on."
            )
        index = screening_index(options)
    hits = index.screen(name, country)
    if not hits:
        console.print(f"no match for {name!r}")
        return
    table = Table("score", "listed party", "programs", "countries", "why")
    for hit in hits[:10]:
        table.add_row(
            f"{hit.score:.0f}",
            f"{hit.party.name} ({hit.party.list_name} {hit.party.entry_id})",
            hit.party.programs,
            ", ".join(sorted(hit.party.countries)) or "-",
            hit.reason,
        )
    console.print(table)
    raise typer.Exit(EXIT_REJECTED)
