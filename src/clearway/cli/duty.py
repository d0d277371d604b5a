"""``clearway duty``, ``duty-reassess`` and ``duty-totals``: duty and tax
on stored declarations."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, settings_from_environment

if TYPE_CHECKING:
    from clearway.duty.assess import Assessment

__all__ = ["duty", "duty_reassess", "duty_totals"]


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
            if line.kind.startswith(("flat", "specific", "handling"))
            else (f"{line.rate:.1%}")
        )
        table.add_row(
            line.rule, item, f"{line.base:,.2f}", rate, f"{line.amount:,.2f}", line.reason
        )
    console.print(table)
    fee = f" + fee {assessment.fee:,.2f}" if assessment.fee else ""
    console.print(
        f"duty {assessment.duty:,.2f} + VAT {assessment.vat:,.2f}{fee} = "
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


def duty(
    declaration_id: Annotated[str, typer.Argument(help="Declaration id.")],
    filer: Annotated[str | None, typer.Option(help="Filer id, if the id is ambiguous.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    month: Annotated[
        str | None, typer.Option(help="With `remittance`: the month filed, YYYY-MM.")
    ] = None,
) -> None:
    """Print the duty and tax breakdown of a declaration (assessing it if needed);
    `clearway duty remittance --month YYYY-MM` reconciles duty collected at origin."""
    if declaration_id == "remittance" and month is not None:
        from clearway.cli.entry import print_remittance

        print_remittance(month, as_json)
        return
    from clearway.duty import load_book
    from clearway.duty.services import assess_stored
    from clearway.errors import NotFound
    from clearway.store import open_engine
    from clearway.store.duty import SqlAssessmentStore, read_assessment
    from clearway.store.reading import get_declaration

    settings = settings_from_environment()
    engine = open_engine(settings.database_url)
    decl = get_declaration(engine, declaration_id, filer)
    book = load_book()
    reasons = {rule.id: rule.reason for regime in book.regimes for rule in regime.rules}
    try:
        assessment, history = read_assessment(engine, decl.row_id, reasons)
    except NotFound:
        assess_stored(
            SqlAssessmentStore(engine),
            book,
            decl.row_id,
            postal_method=settings.us_postal_duty_method,
        )
        assessment, history = read_assessment(engine, decl.row_id, reasons)
    if as_json:
        data = {**asdict(assessment), "fee": assessment.fee, "history": history}
        console.print_json(orjson.dumps(data, default=str).decode())
    else:
        _print_assessment(decl.ref, assessment, history)


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
    from clearway.ledger.keys import keys_for
    from clearway.store import open_engine
    from clearway.store.duty import SqlAssessmentStore, read_assessment
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
        SqlAssessmentStore(engine),
        book,
        decl.row_id,
        dict(zip(line, unit_value, strict=True)),
        reason,
        postal_method=settings.us_postal_duty_method,
        ledger=keys_for(settings),
    )
    reasons = {rule.id: rule.reason for regime in book.regimes for rule in regime.rules}
    _print_assessment(decl.ref, *read_assessment(engine, decl.row_id, reasons))


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
