"""``clearway serve`` and ``clearway participants ...``: the API and who may use it."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, settings_from_environment

__all__ = [
    "operators_app",
    "participants_app",
    "referrals_app",
    "serve",
    "webhooks_app",
]

participants_app = typer.Typer(
    help="Participants of the platform and their API keys.", no_args_is_help=True
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (all state is in the store).")
    ] = 1,
) -> None:
    """Run the HTTP API (OpenAPI at /openapi.json, Prometheus metrics at
    /metrics); logs are JSON lines on stderr."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from clearway.api.serving import uvicorn_options
    from clearway.ledger.keys import keys_for, witness_key_for
    from clearway.observability import configure_logging
    from clearway.store import open_engine

    settings = settings_from_environment()
    from clearway.cli.screening import warn_if_stale

    # Migrate and make the keys once here, not in each worker as it starts.
    engine = open_engine(settings.database_url)
    warn_if_stale(settings, engine)
    engine.dispose()
    keys_for(settings)
    witness_key_for(settings)
    configure_logging(settings.log_level)
    made = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker process writes its metrics here and /metrics, in
        # whichever worker answers, adds them up. Set before the workers
        # start: prometheus_client reads it when it is imported.
        made = tempfile.mkdtemp(prefix="clearway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        uvicorn.run(
            "clearway.api:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # clearway's JSON lines (configure_logging) carry each request,
            # with its id; uvicorn's own access lines would say it twice.
            log_config=None,
            access_log=False,
            **uvicorn_options(settings),
        )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


@participants_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    role: Annotated[
        str,
        typer.Option(
            help="customs_officer, customs_analyst, auditor, "
            "marketplace, carrier, broker or partner_agency."
        ),
    ],
    filer_id: Annotated[
        str | None, typer.Option(help="Filer id its filings carry (filers).")
    ] = None,
    agency: Annotated[
        str | None, typer.Option(help="Agency name as routings name it (partner agencies).")
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Days until the key expires.")] = 365,
) -> None:
    """Register a participant and print its API key (shown once)."""
    from clearway.store import open_engine
    from clearway.store.participants import add_participant

    engine = open_engine(settings_from_environment().database_url)
    issued = add_participant(engine, name, role, filer_id=filer_id, agency=agency, valid_days=days)
    console.print(f"participant {issued.participant_id}, key {issued.key_id}; keep the key safe:")
    sys.stdout.write(
        orjson.dumps(
            {
                "participant_id": issued.participant_id,
                "key_id": issued.key_id,
                "key": issued.key,
                "expires_at": issued.expires_at.isoformat() if issued.expires_at else None,
            }
        ).decode()
        + "\n"
    )


@participants_app.command("list")
def list_command() -> None:
    """Participants and the state of their keys (never the keys)."""
    from clearway.store import open_engine
    from clearway.store.participants import list_participants

    rows = list_participants(open_engine(settings_from_environment().database_url))
    table = Table("id", "name", "role", "filer / agency", "key", "expires", "revoked")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["role"],
            row["filer_id"] or row["agency"] or "-",
            f"{row['key_id']} ({row['prefix']})" if row["key_id"] else "-",
            str(row["expires_at"] or "-"),
            str(row["revoked_at"] or "-"),
        )
    console.print(table)


@participants_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="Key id (see participants list).")]) -> None:
    """Revoke an API key at once."""
    from clearway.store import open_engine
    from clearway.store.participants import revoke_key

    revoke_key(open_engine(settings_from_environment().database_url), key_id)
    console.print(f"key {key_id} revoked")


referrals_app = typer.Typer(help="Referrals between customs and filers.", no_args_is_help=True)


@referrals_app.command("list")
def referrals_list(
    state: Annotated[
        str | None, typer.Option(help="open, answered, escalated, closed or withdrawn.")
    ] = None,
    filer: Annotated[str | None, typer.Option(help="Only those addressed to this filer.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Referrals, soonest deadline first."""
    from clearway.store import open_engine
    from clearway.store.referrals import list_referrals

    rows = list_referrals(
        open_engine(settings_from_environment().database_url), addressed_to=filer, state=state
    )
    if as_json:
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    table = Table("id", "declaration", "kind", "state", "to", "due", "message")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["declaration"],
            row["kind"],
            row["state"],
            row["addressed_to"],
            row["due_at"],
            row["message"],
        )
    console.print(table)


@referrals_app.command("escalate")
def referrals_escalate() -> None:
    """Escalate every open referral past its deadline (its declaration's
    lane goes one up); run it on a schedule."""
    from datetime import UTC, datetime

    from clearway.ledger.keys import keys_for
    from clearway.store import open_engine
    from clearway.store.referrals import escalate_overdue

    settings = settings_from_environment()
    done = escalate_overdue(
        open_engine(settings.database_url), datetime.now(UTC), keys=keys_for(settings)
    )
    console.print(f"{len(done)} referral(s) escalated")
    sys.stdout.write(orjson.dumps({"escalated": [row["id"] for row in done]}).decode() + "\n")


operators_app = typer.Typer(help="The trusted e-commerce operator programme.", no_args_is_help=True)


@operators_app.command("register")
def operators_register(
    filer_id: Annotated[str, typer.Argument(help="Filer id its filings carry.")],
    name: Annotated[str, typer.Option(help="Operator name.")],
    kind: Annotated[
        str, typer.Option(help="marketplace, seller, carrier, post or broker.")
    ] = "marketplace",
) -> None:
    """Enter an operator in the register (standard tier)."""
    from datetime import UTC, datetime

    from clearway.store import open_engine
    from clearway.store.operators import register_operator

    engine = open_engine(settings_from_environment().database_url)
    register_operator(engine, filer_id, name, kind, datetime.now(UTC))
    console.print(f"operator {filer_id} registered at the standard tier")


@operators_app.command("review")
def operators_review() -> None:
    """Measure every operator over the window and move it to the tier it
    earns (a trusted operator that fails is suspended); prints the changes."""
    from datetime import UTC, datetime

    from clearway.store import open_engine
    from clearway.store.operators import review_operators

    changes = review_operators(
        open_engine(settings_from_environment().database_url), datetime.now(UTC)
    )
    for change in changes:
        console.print(
            f"{change['filer_id']}: {change['previous']} -> {change['tier']} ({change['reason']})"
        )
    sys.stdout.write(orjson.dumps({"changes": changes}).decode() + "\n")


@operators_app.command("list")
def operators_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON, with history.")] = False,
) -> None:
    """The register: operators, tiers and (with --json) every tier change."""
    from clearway.store import open_engine
    from clearway.store.operators import list_operators

    rows = list_operators(open_engine(settings_from_environment().database_url), history=True)
    if as_json:
        sys.stdout.write(orjson.dumps(rows, default=str).decode() + "\n")
        return
    table = Table("filer", "name", "kind", "tier", "since", "changes")
    for row in rows:
        table.add_row(
            row["filer_id"],
            row["name"],
            row["kind"],
            row["tier"],
            str(row["tier_since"]),
            str(len(row["history"])),
        )
    console.print(table)


webhooks_app = typer.Typer(help="Signed webhooks to participants.", no_args_is_help=True)


@webhooks_app.command("add")
def webhooks_add(
    participant_id: Annotated[int, typer.Argument(help="Participant (see participants list).")],
    url: Annotated[str, typer.Argument(help="Where to POST notifications.")],
    events: Annotated[
        str, typer.Option(help="Comma-separated event type prefixes (empty: all).")
    ] = "declaration.,duty.,referral.",
) -> None:
    """Subscribe a participant to events on its declarations; prints the
    signing secret once."""
    from datetime import UTC, datetime

    from clearway.federation.sealing import sealer_for
    from clearway.store import open_engine
    from clearway.store.webhooks import add_subscription

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    subscription, secret = add_subscription(
        engine, participant_id, url, events, datetime.now(UTC), sealer_for(settings)
    )
    sys.stdout.write(orjson.dumps({"subscription": subscription, "secret": secret}).decode() + "\n")


@webhooks_app.command("deliver")
def webhooks_deliver() -> None:
    """Queue new events for subscribers and send what is due (failures are
    retried with backoff on later runs); run it on a schedule."""
    from datetime import UTC, datetime

    from clearway.federation.sealing import sealer_for
    from clearway.federation.transport import post
    from clearway.store import open_engine
    from clearway.store.webhooks import deliver_webhooks, queue_webhooks

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    now = datetime.now(UTC)
    queued = queue_webhooks(engine, now)
    result = deliver_webhooks(engine, post, now, sealer_for(settings))
    sys.stdout.write(orjson.dumps({"queued": queued, **result}).decode() + "\n")
