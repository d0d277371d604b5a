"""``clearway entry``, ``duty-remittance`` and ``entry-match``: US postal
informal entries, the monthly remittance of duty collected at origin, and
Entry Type 13 matching of manifests to postal entries."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, settings_from_environment

if TYPE_CHECKING:
    from clearway.declarations.models import Declaration
    from clearway.duty.postal import PostalEntry

__all__ = ["duty_remittance", "entry", "entry_match", "print_remittance"]

FORMATS = ("us-postal",)


def _month_window(month: str) -> tuple[datetime, datetime]:
    from clearway.errors import InputError

    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError(f"--month must be YYYY-MM. Got {month!r}.") from None
    after = (
        date(first.year + 1, 1, 1) if first.month == 12 else first.replace(month=first.month + 1)
    )
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    return start, datetime(after.year, after.month, 1, tzinfo=UTC)


def _print_entry(e: PostalEntry) -> None:
    console.print(
        f"[bold]US postal informal entry for {e.declaration_id}[/bold] "
        f"(item {e.tracking_number or '-'}), filed {e.filed_on}, value {e.value:,.2f} {e.currency}"
    )
    table = Table("line", "description", "HTS (10)", "qty", "net kg", "value", "origin", "S10")
    for i in e.items:
        table.add_row(
            str(i.line),
            i.description,
            i.hts or "[red]missing[/red]",
            str(i.quantity),
            "-" if i.net_weight_kg is None else f"{i.net_weight_kg:g}",
            f"{i.value:,.2f} {i.currency}",
            i.origin_country or "-",
            i.postal_tracking_number or "-",
        )
    console.print(table)
    methods = ", ".join(f"{m} {v:,.2f} USD" for m, v in e.duty_by_method.items())
    console.print(f"duty by method: {methods}")
    console.print(
        f"remittance month {e.remittance_month}, due by {e.due_by}; collected at origin by "
        f"{e.collected_by or '-'} (payer {e.duty_payer or '-'}): "
        f"{'-' if e.duty_collected is None else f'{e.duty_collected:,.2f}'}"
    )
    for problem in e.problems:
        console.print(f"[red]missing[/red]: {problem}")
    console.print(f"source: {e.source}")


def entry(
    declaration_id: Annotated[str, typer.Argument(help="Declaration id.")],
    format: Annotated[str, typer.Option("--format", help="Entry view: us-postal.")] = "us-postal",
    filer: Annotated[str | None, typer.Option(help="Filer id, if the id is ambiguous.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print a declaration as an entry (a US postal informal entry)."""
    from clearway.duty import load_book
    from clearway.duty.postal import us_postal_entry
    from clearway.errors import InputError
    from clearway.store import open_engine
    from clearway.store.duty import SqlAssessmentStore
    from clearway.store.reading import get_declaration

    if format not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}. Got {format!r}.")
    engine = open_engine(settings_from_environment().database_url)
    decl = get_declaration(engine, declaration_id, filer)
    columns, items = SqlAssessmentStore(engine).declaration(decl.row_id)
    result = us_postal_entry(columns, items, load_book())
    if as_json:
        console.print_json(orjson.dumps(asdict(result), default=str).decode())
    else:
        _print_entry(result)


def _us_month(month: str) -> list[tuple[Declaration, float | None]]:
    from clearway.declarations.models import Declaration
    from clearway.store import open_engine
    from clearway.store.duty import us_filings

    engine = open_engine(settings_from_environment().database_url)
    since, until = _month_window(month)
    return [
        (Declaration.model_validate_json(document), duty)
        for document, duty in us_filings(engine, since, until)
    ]


def print_remittance(month: str, as_json: bool) -> None:
    """Reconcile duty collected at origin with duty due, per qualified party."""
    from clearway.duty.postal import remittance

    filings = [
        (decl, duty or 0.0)
        for decl, duty in _us_month(month)
        if decl.transport.mode == "postal" or decl.collected_by is not None
    ]
    rows = remittance(month, filings)
    if as_json:
        console.print_json(orjson.dumps([asdict(r) for r in rows], default=str).decode())
        return
    table = Table("qualified party", "declarations", "collected", "due", "difference", "due by")
    for r in rows:
        table.add_row(
            r.party,
            str(r.declarations),
            f"{r.collected:,.2f}",
            f"{r.due:,.2f}",
            f"{r.difference:,.2f}",
            str(r.due_by),
        )
    console.print(f"[bold]Duty collected at origin, {month} (USD)[/bold]")
    console.print(table)


def duty_remittance(
    month: Annotated[str, typer.Option(help="Month filed, YYYY-MM.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Duty collected at origin vs due, per qualified party, for a month (US mail)."""
    print_remittance(month, as_json)


def entry_match(
    month: Annotated[str, typer.Option(help="Month filed, YYYY-MM.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Match Type 13 manifest items to postal entries by foreign postal tracking number."""
    from clearway.duty.postal import match_type13

    filings = [decl for decl, _ in _us_month(month)]
    postal = [d for d in filings if d.transport.mode == "postal"]
    result = match_type13(filings, postal)
    if as_json:
        console.print_json(orjson.dumps(asdict(result)).decode())
        return
    console.print(f"[bold]Type 13 matching, {month}[/bold]: {len(result.matched)} item(s) matched")
    for manifest, line, number in result.unmatched_items:
        console.print(f"[red]unmatched[/red] {manifest} item line {line}: {number or '(none)'}")
    for ref, number in result.entries_without_manifest:
        console.print(f"postal entry {ref} ({number}) is on no Type 13 manifest")
