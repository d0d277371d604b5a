"""``clearway ingest``, ``simulate`` and ``show``: filings in, simulated
filings out, one declaration read back."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from clearway.cli._common import (
    EXIT_REJECTED,
    console,
    err_console,
    print_mapping,
    progress_bar,
    settings_from_environment,
)

__all__ = ["ingest", "show", "simulate"]


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

    from clearway.cli.screening import warn_if_stale

    warn_if_stale(settings, engine)
    with progress_bar() as progress:
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


def simulate(
    out: Annotated[Path, typer.Option(help="JSON Lines file of filings to write.")],
    days: Annotated[int, typer.Option(min=1, max=3660)] = 7,
    per_day: Annotated[int, typer.Option(min=1, max=10_000_000)] = 1000,
    seed: Annotated[int, typer.Option()] = 0,
    truth: Annotated[Path | None, typer.Option(help="CSV of labelled violations.")] = None,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2026-11-02",
    restricted_list: Annotated[
        Path | None,
        typer.Option(
            help="OFAC SDN-format CSV to draw restricted party names from (default: the "
            "active screening lists)."
        ),
    ] = None,
) -> None:
    """Generate realistic e-commerce traffic with labelled violations."""
    from sqlalchemy.engine import make_url

    from clearway.parties.screening import ListedParty
    from clearway.simulate import SimulationConfig, write_simulation
    from clearway.store import open_engine
    from clearway.wiring import screening_from_store

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(
            f"must be a date YYYY-MM-DD. Got {start!r}.", param_hint="--start"
        ) from None
    parties: tuple[ListedParty, ...] = ()
    settings = settings_from_environment()
    url = make_url(settings.database_url)
    # A store that does not exist yet has no lists: the bundled one is
    # used, and simulating does not create a database.
    exists = url.get_backend_name() != "sqlite" or Path(url.database or "").is_file()
    if restricted_list is None and exists:
        options = screening_from_store(settings, open_engine(settings.database_url))
        parties = tuple(e for listed in (options.lists if options else ()) for e in listed.entries)
    config = SimulationConfig(
        days=days,
        per_day=per_day,
        seed=seed,
        start=first,
        restricted_list=restricted_list,
        restricted_parties=parties,
    )
    with progress_bar() as progress:
        task = progress.add_task("simulating", total=days * per_day)
        houses, masters = write_simulation(
            config, out, truth, on_progress=lambda n: progress.advance(task, n)
        )
    console.print(
        f"wrote {houses:,} house declarations and {masters:,} master filings "
        f"to {out}" + (f", labels to {truth}" if truth else "")
    )


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
            print_mapping(f"Master filing {view.ref} (v{view.version}, {view.filer_id})", data)
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
            f"({hit['list_name']} entry {hit['entry_id']}), score {hit['score']:.0f}, "
            f"matched {hit['matched_name']!r}: {hit['reason']}"
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
