"""``clearway witness ...`` and ``clearway inbox ...``: this node in front
of other clearway nodes, as a witness of their logs and as a subscriber of
their events."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from clearway.cli._common import console, settings_from_environment

__all__ = ["inbox_app", "witness_app"]


witness_app = typer.Typer(help="This node as a witness of other nodes' logs.", no_args_is_help=True)
inbox_app = typer.Typer(help="Events other nodes send this one.", no_args_is_help=True)


@witness_app.command("add-log")
def witness_add_log(
    vkey: Annotated[str, typer.Argument(help="The log's verifier key (its `ledger public-key`).")],
) -> None:
    """Start witnessing a log: its checkpoints are cosigned from now on when
    they verify and are consistent with the last one cosigned."""
    from datetime import UTC, datetime

    from clearway.store import open_engine
    from clearway.store.witnessing import add_witnessed_log

    engine = open_engine(settings_from_environment().database_url)
    origin = add_witnessed_log(engine, vkey, datetime.now(UTC))
    console.print(f"witnessing {origin}")


@witness_app.command("list")
def witness_list() -> None:
    """The logs this node witnesses, each at the size it last cosigned (JSON)."""
    from clearway.store import open_engine
    from clearway.store.witnessing import list_witnessed_logs

    rows = list_witnessed_logs(open_engine(settings_from_environment().database_url))
    sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")


@witness_app.command("public-key")
def witness_public_key() -> None:
    """Print this node's cosigning key (vkey), for logs and their readers."""
    from clearway.ledger.keys import witness_key_for

    print(witness_key_for(settings_from_environment()).verifier.vkey())


@inbox_app.command("add-sender")
def inbox_add_sender(
    name: Annotated[str, typer.Argument(help="The sending node, as it appears in the URL.")],
    secret: Annotated[str, typer.Argument(help="The secret its `webhooks add` printed.")],
) -> None:
    """Accept signed events from a node at /api/inbox/NAME."""
    from datetime import UTC, datetime

    from clearway.federation.sealing import sealer_for
    from clearway.store import open_engine
    from clearway.store.inbox import add_sender

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    add_sender(engine, name, secret, datetime.now(UTC), sealer_for(settings))
    console.print(f"accepting events from {name} at /api/inbox/{name}")


@inbox_app.command("list")
def inbox_list(
    sender: Annotated[str | None, typer.Option(help="Only this sender's events.")] = None,
) -> None:
    """Events received from other nodes, oldest first (JSON)."""
    from clearway.store import open_engine
    from clearway.store.inbox import list_inbound

    rows = list_inbound(open_engine(settings_from_environment().database_url), sender)
    sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
