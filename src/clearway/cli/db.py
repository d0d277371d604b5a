"""``clearway db ...``: the schema and, on PostgreSQL, its partitions."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, settings_from_environment

__all__ = ["db_app"]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema of CLEARWAY_DATABASE_URL."""
    from clearway.store import open_engine

    settings = settings_from_environment()
    open_engine(settings.database_url, migrate=True)
    console.print(f"schema up to date: {settings.database_url}")


@db_app.command("partitions")
def db_partitions(
    since: Annotated[
        str | None,
        typer.Option(help="First month to make sure of (YYYY-MM; default: this month)."),
    ] = None,
    ahead: Annotated[int, typer.Option(min=0, max=120, help="Months after this one.")] = 3,
) -> None:
    """PostgreSQL: create the declarations' monthly partitions that are
    missing (moving rows out of the default partition into a month created
    late) and list them with their estimated rows. Run it daily."""
    from clearway.store import open_engine
    from clearway.store.partitions import maintain_partitions

    first = None
    if since is not None:
        try:
            first = date.fromisoformat(f"{since}-01")
        except ValueError:
            raise typer.BadParameter(f"must be a month YYYY-MM. Got {since!r}") from None
    engine = open_engine(settings_from_environment().database_url)
    created, found = maintain_partitions(engine, first, ahead)
    if not found:
        console.print("this store is not partitioned (SQLite): nothing to do")
    for name in created:
        console.print(f"created {name}")
    table = Table("partition", "rows (estimate)")
    for name, rows in found:
        table.add_row(name, f"{rows:,}")
    if found:
        console.print(table)
    sys.stdout.write(orjson.dumps({"created": created, "partitions": len(found)}).decode() + "\n")


@db_app.command("seal-secrets")
def db_seal_secrets(
    rotate: Annotated[
        bool, typer.Option(help="Re-seal every secret under a new secrets key, then replace it.")
    ] = False,
) -> None:
    """Seal the webhook and inbox secrets that an older version stored in
    clear (run once after upgrading); with --rotate, re-seal all of them
    under a new key (secrets_key_file is replaced once the store has
    committed)."""
    from functools import partial

    from clearway.federation import sealing
    from clearway.ledger.keys import key_file
    from clearway.store import open_engine
    from clearway.store.sealed import reseal_secrets

    settings = settings_from_environment()
    reseal = partial(reseal_secrets, open_engine(settings.database_url))
    if rotate:
        changed = sealing.rotate(key_file(settings, "secrets"), reseal)
        console.print(f"re-sealed {changed} secrets under a new key")
    else:
        changed = sealing.seal_clear(sealing.sealer_for(settings), reseal)
        console.print(f"sealed {changed} secrets stored in clear")
