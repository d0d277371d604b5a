"""The ``clearway`` command line: parse, call one core function, format.

Each command lives in a module of this package and imports what it needs
when it runs, so that ``clearway --help`` starts fast; this module only
assembles them. Command modules share :mod:`clearway.cli._common` and never
import this module (it imports them).

Every :class:`~clearway.errors.ClearwayError` is caught once, in :func:`main`,
and printed with its diagnostics (exit status 1).
"""

from __future__ import annotations

import sys

import typer

from clearway.cli import (
    classifier,
    db,
    decisions,
    demo,
    duty,
    entry,
    federation,
    filings,
    history,
    ledger,
    nodes,
    risk,
    screening,
    workspace,
)
from clearway.cli._common import err_console
from clearway.errors import ClearwayError

__all__ = ["app", "main"]

app = typer.Typer(
    name="clearway",
    help="Clearance and targeting for cross-border e-commerce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# In the order `clearway --help` lists them.
app.add_typer(db.db_app, name="db")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(classifier.classifier_app, name="classifier")
app.add_typer(risk.risk_app, name="risk")
app.add_typer(history.history_app, name="history")
app.add_typer(risk.rules_app, name="rules")
app.add_typer(federation.participants_app, name="participants")
app.add_typer(federation.referrals_app, name="referrals")
app.add_typer(federation.operators_app, name="operators")
app.add_typer(federation.webhooks_app, name="webhooks")
app.add_typer(nodes.witness_app, name="witness")
app.add_typer(nodes.inbox_app, name="inbox")
app.add_typer(workspace.users_app, name="users")
app.add_typer(workspace.trends_app, name="trends")
app.add_typer(decisions.decisions_app, name="decisions")
app.add_typer(screening.screening_app, name="screening")
app.command()(workspace.report)
app.command()(federation.serve)
app.add_typer(risk.outcomes_app, name="outcomes", no_args_is_help=True)
app.command()(classifier.classify)
app.command()(filings.ingest)
app.command()(filings.simulate)
app.command()(filings.show)
app.command()(demo.demo)
app.command()(duty.duty)
app.command("duty-reassess")(duty.duty_reassess)
app.command("duty-totals")(duty.duty_totals)
app.command("duty-remittance")(entry.duty_remittance)
app.command()(entry.entry)
app.command("entry-match")(entry.entry_match)
app.command()(screening.screen)


def main() -> None:
    """Entry point: run the app and turn clearway errors into messages."""
    try:
        # Typer handles usage errors and exit codes itself; ours propagate.
        app()
    except ClearwayError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.diagnostics()}", highlight=False)
        sys.exit(1)
