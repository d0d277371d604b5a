"""The ``clearway`` command line: parse, call one core function, format.

Every :class:`~clearway.errors.ClearwayError` is caught once, in :func:`main`,
and printed with its diagnostics (exit status 1).
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clearway.cli_classifier import classifier_app, classify
from clearway.cli_federation import (
    operators_app,
    participants_app,
    referrals_app,
    serve,
    webhooks_app,
)
from clearway.cli_history import history_app
from clearway.cli_ledger import ledger_app
from clearway.cli_nodes import inbox_app, witness_app
from clearway.cli_risk import outcomes_app, risk_app, rules_app
from clearway.cli_workspace import report, trends_app, users_app
from clearway.duty.assess import Assessment
from clearway.errors import ClearwayError, ConfigurationError
from clearway.ledger.keys import keys_for
from clearway.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="clearway",
    help="Clearance and targeting for cross-border e-commerce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(classifier_app, name="classifier")
app.add_typer(risk_app, name="risk")
app.add_typer(history_app, name="history")
app.add_typer(rules_app, name="rules")
app.add_typer(participants_app, name="participants")
app.add_typer(referrals_app, name="referrals")
app.add_typer(operators_app, name="operators")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(witness_app, name="witness")
app.add_typer(inbox_app, name="inbox")
app.add_typer(users_app, name="users")
app.add_typer(trends_app, name="trends")
app.command()(report)
app.command()(serve)
app.add_typer(outcomes_app, name="outcomes", no_args_is_help=True)
app.command()(classify)

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


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="JSON, JSON Lines or CSV files.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="json, jsonl or csv (default: from the file suffix)."),
    ] = None,
    rejections: Annotated[
        Path, typer.Option("--rejections", help="JSON Lines report of rejected records.")
    ] = Path("clearway-rejections.jsonl"),
    workers: Annotated[
        int | None, typer.Option(help="Validation processes (default: CLEARWAY_WORKERS or cores).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    acknowledge: Annotated[
        bool,
        typer.Option(
            "--acknowledge",
            help='After each committed batch print {"acknowledged": N}: the first N records '
            "of the input are stored (resume after N if the run is cut off).",
        ),
    ] = False,
) -> None:
    """Validate and store filings. Exit 0 if all were accepted, 2 if some were rejected."""
    from clearway.declarations.intake import IntakeLimits
    from clearway.store import open_engine
    from clearway.wiring import service_for, stages_from_settings

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    limits = IntakeLimits(settings.max_record_bytes, settings.max_json_document_bytes)
    done = 0

    def committed(count: int) -> None:
        nonlocal done
        done += count
        progress.advance(task, count)
        if acknowledge:
            # Batches commit in input order: the first `done` records are stored.
            sys.stdout.write(f'{{"acknowledged": {done}}}\n')
            sys.stdout.flush()

    with _progress() as progress:
        task = progress.add_task("ingesting", total=None)
        service = service_for(engine, stages_from_settings(settings, engine), settings)
        report = service.ingest_files(
            files,
            format_name=fmt,
            limits=limits,
            batch_size=settings.batch_size,
            workers=settings.workers if workers is None else workers,
            rejections_path=rejections,
            on_batch=committed,
        )
    if as_json:
        console.print_json(orjson.dumps(report.as_dict()).decode())
    else:
        table = Table(title="Intake", show_header=False)
        for name in ("accepted", "amended", "duplicate", "rejected"):
            table.add_row(name, f"{getattr(report, name):,}")
        console.print(table)
        for rejection in report.first_rejections[:5]:
            where = f"{rejection.source}:{rejection.position}"
            ident = f" ({rejection.declaration_id})" if rejection.declaration_id else ""
            for error in rejection.errors[:3]:
                err_console.print(f"[red]rejected[/red] {where}{ident} {error}")
        if report.rejections_path:
            err_console.print(f"all rejections: {report.rejections_path}")
    if report.rejected:
        raise typer.Exit(EXIT_REJECTED)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="JSON Lines file of filings to write.")],
    days: Annotated[int, typer.Option(min=1, max=3660)] = 7,
    per_day: Annotated[int, typer.Option(min=1, max=10_000_000)] = 1000,
    seed: Annotated[int, typer.Option()] = 0,
    truth: Annotated[Path | None, typer.Option(help="CSV of labelled violations.")] = None,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2026-11-02",
    restricted_list: Annotated[
        Path | None, typer.Option(help="OFAC SDN-format CSV to draw restricted party names from.")
    ] = None,
) -> None:
    """Generate realistic e-commerce traffic with labelled violations."""
    from clearway.simulate import SimulationConfig, write_simulation

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(
            f"must be a date YYYY-MM-DD. Got {start!r}.", param_hint="--start"
        ) from None
    config = SimulationConfig(
        days=days, per_day=per_day, seed=seed, start=first, restricted_list=restricted_list
    )
    with _progress() as progress:
        task = progress.add_task("simulating", total=days * per_day)
        houses, masters = write_simulation(
            config, out, truth, on_progress=lambda n: progress.advance(task, n)
        )
    console.print(
        f"wrote {houses:,} house declarations and {masters:,} master filings "
        f"to {out}" + (f", labels to {truth}" if truth else "")
    )


def _print_mapping(title: str, mapping: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in mapping.items():
        table.add_row(key, value if isinstance(value, str) else orjson.dumps(value).decode())
    console.print(table)


@app.command()
def show(
    declaration_id: Annotated[
        str, typer.Argument(help="Declaration id (or master ref with --master).")
    ],
    filer: Annotated[
        str | None, typer.Option(help="Filer id, when several filers used the same declaration id.")
    ] = None,
    master: Annotated[bool, typer.Option(help="Show a master filing instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print a declaration: its data, quality gaps, versions and filing links."""
    from clearway.store import open_engine
    from clearway.store.reading import get_master
    from clearway.store.report import declaration_report

    engine = open_engine(settings_from_environment().database_url)
    if master:
        view = get_master(engine, declaration_id)
        data: dict[str, Any] = {
            "master": view.document,
            "houses_filed": len(view.houses_filed),
            "houses_missing": view.houses_missing,
        }
        if as_json:
            console.print_json(orjson.dumps(data).decode())
        else:
            _print_mapping(f"Master filing {view.ref} (v{view.version}, {view.filer_id})", data)
        return
    decl, payload = declaration_report(engine, declaration_id, filer)
    if as_json:
        console.print_json(orjson.dumps(payload).decode())
        return
    doc = decl.document
    console.print(
        f"[bold]Declaration {decl.ref}[/bold] v{decl.version} filed by "
        f"{decl.filer_id} for {doc['destination_country']}"
    )
    items = Table("#", "description", "qty", "unit value", "HS", "GTIN", "origin")
    for item in doc["items"]:
        items.add_row(
            str(doc["items"].index(item)),
            item["description"],
            str(item["quantity"]),
            f"{item['unit_value']} {item['currency']}",
            item.get("hs_code", "-"),
            item.get("gtin", "-"),
            item.get("origin_country", "-"),
        )
    console.print(items)
    for check in payload["classification"]:
        suggested = ", ".join(f"{s['hs']} {s['confidence']:.0%}" for s in check["suggestions"][:3])
        line = f"item {check['item_line']} HS suggestions: {suggested}"
        if check["flagged"]:
            line += (
                f" [red]declared {check['declared_hs']} looks misclassified[/red] "
                f"(score {check['score']:.2f}, its heading ranks "
                f"{check['declared_heading_rank']})"
            )
        console.print(line)
    risk = payload["risk"]
    if risk is not None:
        colour = {"green": "green", "yellow": "yellow", "red": "red", "black": "bold red"}
        console.print(
            f"lane [{colour[risk['lane']]}]{risk['lane']}[/{colour[risk['lane']]}] "
            f"(score {risk['score']:.2f}"
            + (f", selected by {risk['selected_by']}" if risk["selected_by"] else "")
            + ")"
        )
        for reason in risk["reasons"]:
            console.print(f"  - {reason}")
    console.print(f"data quality {decl.dq_score:.2f}")
    for gap in decl.dq_gaps:
        console.print(f"  - {gap['element']}: {gap['reason']} ({gap['field']})")
    state = (
        "complete" if decl.link.complete else "incomplete: missing " + ", ".join(decl.link.missing)
    )
    console.print(f"multiple filing: {state}")
    for hit in payload["screening"]:
        console.print(
            f"[red]screening hit[/red] {hit['role']}: {hit['listed_name']} "
            f"({hit['list_name']} {hit['entry_id']}), {hit['reason']}"
        )
    for party in payload["parties"]:
        console.print(
            f"{party['role']}: entity {party['entity_id']} ({party['entity_name']}), "
            f"{party['evidence']}"
        )
    for flag in payload["products"]:
        console.print(
            f"[yellow]product[/yellow] item {flag['item_line']} ({flag['product']}): "
            f"{flag['detail']}"
        )
    for route in payload["routing"]:
        console.print(
            f"routed to {route['agency']}: {route['reason']} "
            f"(items {route['item_lines']}: {route['hs_codes']})"
        )
    console.print(f"versions: {', '.join(str(v['version']) for v in decl.versions)}")


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=1, max=60)] = 7,
    per_day: Annotated[int, typer.Option(min=10, max=200_000)] = 2000,
    seed: Annotated[int, typer.Option()] = 7,
    serve: Annotated[
        bool, typer.Option(help="Then open the officer workspace on the simulated week.")
    ] = True,
    host: Annotated[str, typer.Option(help="Workspace interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Workspace port.")] = 8000,
) -> None:
    """Simulate a week of traffic, run every pipeline stage on it, print a
    summary, then serve the officer workspace on it (Ctrl-C stops)."""
    from clearway.demo import DEMO_OFFICER, demo_officer, run_demo

    settings = settings_from_environment()
    with _progress() as progress:
        task = progress.add_task("demo", total=None)
        result = run_demo(
            settings,
            days=days,
            per_day=per_day,
            seed=seed,
            on_batch=lambda n: progress.advance(task, n),
        )
    _print_mapping("clearway demo", result)
    if not serve:
        return
    import uvicorn

    from clearway.api import create_app
    from clearway.store import open_engine

    if not settings.risk_rules_file:
        # The rules page activates edited rules into this file.
        from importlib import resources

        rules = Path("clearway-rules.yaml")
        if not rules.exists():
            rules.write_text(
                resources.files("clearway.risk").joinpath("data/rules.yaml").read_text()
            )
        settings = settings.model_copy(update={"risk_rules_file": str(rules)})
    engine = open_engine(settings.database_url)
    password = demo_officer(engine)
    console.print(
        f"\n[bold]Officer workspace[/bold]: http://{host}:{port}/  "
        f"sign in as [bold]{DEMO_OFFICER}[/bold] with password [bold]{password}[/bold]  "
        "(Ctrl-C stops)\n",
        highlight=False,
    )
    uvicorn.run(create_app(settings, engine=engine), host=host, port=port, log_level="warning")


def _print_assessment(ref: str, assessment: Assessment, history: list[dict[str, Any]]) -> None:
    currency = assessment.currency or ""
    console.print(
        f"[bold]Duty and tax for {ref}[/bold]: regime {assessment.regime or '-'}, "
        f"intrinsic value {assessment.value:,.2f} {currency}"
    )
    if assessment.problem:
        console.print(f"[red]not assessed[/red]: {assessment.problem}")
    table = Table("rule", "item", "base", "rate", "amount", "why")
    for line in assessment.lines:
        item = "-" if line.item_line is None else str(line.item_line)
        rate = (
            f"{line.rate:.2f}"
            if line.kind.startswith(("flat", "specific"))
            else (f"{line.rate:.1%}")
        )
        table.add_row(
            line.rule, item, f"{line.base:,.2f}", rate, f"{line.amount:,.2f}", line.reason
        )
    console.print(table)
    console.print(
        f"duty {assessment.duty:,.2f} + VAT {assessment.vat:,.2f} = "
        f"[bold]{assessment.total:,.2f} {currency}[/bold]; due at sale "
        f"{assessment.due_at_sale:,.2f}"
    )
    if assessment.collected is not None:
        state = (
            f"[red]short by {assessment.shortfall:,.2f}[/red]" if assessment.shortfall else "enough"
        )
        console.print(f"collected at sale (reported): {assessment.collected:,.2f}: {state}")
    for version in history:
        console.print(
            f"  v{version['version']} {version['assessed_at']}: {version['reason']}"
            f" ({version['total']:,.2f})"
        )


@app.command()
def duty(
    declaration_id: Annotated[str, typer.Argument(help="Declaration id.")],
    filer: Annotated[str | None, typer.Option(help="Filer id, if the id is ambiguous.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print the duty and tax breakdown of a declaration (assessing it if needed)."""
    from clearway.duty import load_book
    from clearway.duty.services import assess_stored
    from clearway.errors import NotFound
    from clearway.store import open_engine
    from clearway.store.duty import read_assessment
    from clearway.store.reading import get_declaration

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    decl = get_declaration(engine, declaration_id, filer)
    book = load_book()
    reasons = {rule.id: rule.reason for regime in book.regimes for rule in regime.rules}
    try:
        assessment, history = read_assessment(engine, decl.row_id, reasons)
    except NotFound:
        assess_stored(engine, book, decl.row_id, postal_method=settings.us_postal_duty_method)
        assessment, history = read_assessment(engine, decl.row_id, reasons)
    if as_json:
        data = {**asdict(assessment), "history": history}
        console.print_json(orjson.dumps(data, default=str).decode())
    else:
        _print_assessment(decl.ref, assessment, history)


@app.command("duty-reassess")
def duty_reassess(
    declaration_id: Annotated[str, typer.Argument(help="Declaration id.")],
    line: Annotated[list[int], typer.Option(help="Item line to correct (repeat).")],
    unit_value: Annotated[list[float], typer.Option(help="Corrected unit value, one per --line.")],
    reason: Annotated[str, typer.Option(help="Why (e.g. undervaluation found by risk).")],
    filer: Annotated[str | None, typer.Option(help="Filer id, if the id is ambiguous.")] = None,
) -> None:
    """Reassess a declaration with corrected item values; the old assessment is kept."""
    from clearway.duty import load_book
    from clearway.duty.services import reassess
    from clearway.errors import InputError
    from clearway.store import open_engine
    from clearway.store.duty import read_assessment
    from clearway.store.reading import get_declaration

    if len(line) != len(unit_value):
        raise InputError(
            f"--line and --unit-value must come in pairs. Got {len(line)} "
            f"line(s) and {len(unit_value)} value(s)."
        )
    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    decl = get_declaration(engine, declaration_id, filer)
    book = load_book()
    reassess(
        engine,
        book,
        decl.row_id,
        dict(zip(line, unit_value, strict=True)),
        reason,
        postal_method=settings.us_postal_duty_method,
        ledger=keys_for(settings),
    )
    reasons = {rule.id: rule.reason for regime in book.regimes for rule in regime.rules}
    _print_assessment(decl.ref, *read_assessment(engine, decl.row_id, reasons))


@app.command("duty-totals")
def duty_totals(
    by: Annotated[str, typer.Option(help="filer or day.")] = "day",
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Duty and tax assessed, per filer or per filing day."""
    from clearway.errors import InputError
    from clearway.store import open_engine
    from clearway.store.duty import duty_totals as totals

    if by not in ("filer", "day"):
        raise InputError(f"--by must be filer or day. Got {by!r}.")
    rows = totals(
        open_engine(settings_from_environment().database_url), "filer" if by == "filer" else "day"
    )
    if as_json:
        console.print_json(orjson.dumps(rows, default=str).decode())
        return
    table = Table(by, "currency", "declarations", "value", "duty", "VAT", "total", "shortfall")
    for row in rows:
        table.add_row(
            str(row[by]),
            row["currency"] or "-",
            f"{row['declarations']:,}",
            *(f"{row[k]:,.2f}" for k in ("value", "duty", "vat", "total", "shortfall")),
        )
    console.print(table)


@app.command()
def screen(
    name: Annotated[str, typer.Argument(help="Party name to screen.")],
    country: Annotated[str | None, typer.Option(help="The party's country (ISO 3166).")] = None,
    sdn: Annotated[
        Path | None, typer.Option(help="OFAC SDN CSV (default: CLEARWAY_SCREENING_SDN_FILE).")
    ] = None,
) -> None:
    """Screen a name against the restricted-party list; exit 2 when it matches."""
    from clearway.parties import load_sdn

    settings = settings_from_environment()
    path = sdn or (Path(settings.screening_sdn_file) if settings.screening_sdn_file else None)
    if path is None:
        raise ConfigurationError(
            "no screening list: pass --sdn or set CLEARWAY_SCREENING_SDN_FILE."
        )
    hits = load_sdn(path).screen(name, country)
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


def main() -> None:
    """Entry point: run the app and turn clearway errors into messages."""
    try:
        # Typer handles usage errors and exit codes itself; ours propagate.
        app()
    except ClearwayError as exc:
        err_console.print(f"[red]error[/red] ({exc.code}): {exc.diagnostics()}", highlight=False)
        sys.exit(1)
