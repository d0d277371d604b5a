"""``clearway users ...`` and ``clearway report``: the officer workspace's
accounts and the trends written to a standalone HTML file."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer

from clearway.cli._common import console, settings_from_environment

__all__ = ["report", "trends_app", "users_app"]

users_app = typer.Typer(help="Officer workspace accounts.", no_args_is_help=True)
trends_app = typer.Typer(help="The daily counts behind the trends.", no_args_is_help=True)


@trends_app.command("rebuild")
def trends_rebuild() -> None:
    """Recount the trends' daily counts from the stored declarations and
    outcomes (once after upgrading a store filled before migration 0016)."""
    from clearway.store import open_engine
    from clearway.store.rollup import rebuild_trends

    counted = rebuild_trends(open_engine(settings_from_environment().database_url))
    console.print(f"recounted {counted:,} declarations")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    name: Annotated[str, typer.Option(help="Full name shown in the workspace and audit.")],
    role: Annotated[
        str, typer.Option(help="customs_officer (decides) or customs_analyst (reads).")
    ] = "customs_officer",
) -> None:
    """Create a workspace account and print its password (shown once)."""
    from datetime import UTC, datetime

    from clearway.store import open_engine
    from clearway.web.accounts import add_user

    engine = open_engine(settings_from_environment().database_url)
    password = add_user(engine, username, name, role, datetime.now(UTC))
    sys.stdout.write(orjson.dumps({"username": username, "password": password}).decode() + "\n")


@users_app.command("reset-password")
def users_reset_password(username: Annotated[str, typer.Argument(help="Sign-in name.")]) -> None:
    """Give an account a new password (printed once); its sessions end."""
    from clearway.store import open_engine
    from clearway.web.accounts import reset_password

    engine = open_engine(settings_from_environment().database_url)
    password = reset_password(engine, username)
    sys.stdout.write(orjson.dumps({"username": username, "password": password}).decode() + "\n")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Sign-in name.")]) -> None:
    """Disable an account at once: its sessions end and it cannot sign in
    (the account stays, for the audit trail)."""
    from datetime import UTC, datetime

    from clearway.store import open_engine
    from clearway.store.users import disable_user

    engine = open_engine(settings_from_environment().database_url)
    disable_user(engine, username, datetime.now(UTC))
    console.print(f"disabled {username}")


def report(
    out: Annotated[Path, typer.Option(help="The HTML file to write.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First filing day (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day after the last (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Write the trends dashboard for a window of filing days as one HTML
    file (charts, tables, no script, nothing fetched)."""
    from clearway.errors import InputError
    from clearway.store import open_engine
    from clearway.store.trends import MAX_WINDOW_DAYS, default_window, read_trends
    from clearway.web.dashboard import render_report

    engine = open_engine(settings_from_environment().database_url)
    try:
        given = (
            date.fromisoformat(start) if start else None,
            date.fromisoformat(end) if end else None,
        )
    except ValueError as exc:
        raise InputError(f"--from and --to must be dates as YYYY-MM-DD: {exc}") from None
    first, last = given
    if first is None or last is None:
        # Only what is missing is defaulted: the store's dates, whatever
        # they are, never decide a window the options gave.
        default_first, default_last = default_window(engine)
        first, last = first or default_first, last or default_last
    if not first < last or (last - first).days > MAX_WINDOW_DAYS:
        raise InputError(
            f"--from must be before --to, at most {MAX_WINDOW_DAYS} days. Got {first} and {last}"
        )
    trends = read_trends(engine, first, last)
    out.write_text(render_report(trends), encoding="utf-8")
    filings = sum(r["count"] for r in trends.volumes["origin"])
    console.print(f"wrote {out}: {filings:,} filings from {first} to {last} (end not included)")
