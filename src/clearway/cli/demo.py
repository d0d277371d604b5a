"""``clearway demo``: a simulated week sent through the clearance service
(:mod:`clearway.cli.demo_week`), its figures as tables, then the officer
workspace served on it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from clearway.cli._common import console, progress_bar, settings_from_environment

if TYPE_CHECKING:
    from rich.progress import TaskID

    from clearway.cli.demo_week import DemoWeek
    from clearway.settings import Settings

__all__ = ["demo", "print_week"]

_LANE_COLOURS = {"green": "green", "yellow": "yellow", "red": "red", "black": "bold red"}
_TASKS = {"simulated": "simulating", "submitted": "submitting", "decided": "deciding"}


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
    from clearway.cli.demo_week import run_demo

    settings = settings_from_environment()
    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {}

        def advance(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(_TASKS[what], total=total)
            progress.update(tasks[what], completed=done, total=total)

        week = run_demo(settings, days=days, per_day=per_day, seed=seed, on_progress=advance)
    print_week(week)
    if serve:
        _serve(settings, host, port)


def _number(header: str) -> Column:
    return Column(header, justify="right")


def print_week(week: DemoWeek) -> None:
    """The demo's figures, a table a topic."""
    overview = Table(title="clearway demo", show_header=False)
    for name, value in (
        ("database", week.database),
        (
            "simulated",
            f"{week.houses:,} house declarations, {week.masters:,} master filings "
            f"over {week.days} days (seed {week.seed})",
        ),
        (
            "submitted",
            f"{week.submissions:,} submissions of {week.sizes[0]} to {week.sizes[1]} filings "
            f"by {week.filers:,} filers",
        ),
        (
            "inspections",
            f"{week.inspected:,} red-lane declarations inspected "
            "(outcomes from the simulation's labels)",
        ),
        ("operators", f"{week.tier_changes:,} tier change(s) after the first review"),
        ("ledger", week.ledger),
    ):
        overview.add_row(name, value)
    console.print(overview)

    intake = Table("intake", _number("filings"), title="Intake")
    for name in ("accepted", "amended", "duplicate", "rejected"):
        intake.add_row(name, f"{getattr(week.intake, name):,}")
    intake.add_row("earlier lanes raised", f"{week.intake.raised:,}")
    console.print(intake)
    for rejection in week.intake.first_rejections:
        errors = "; ".join(str(error) for error in rejection.errors[:3])
        console.print(f"[red]rejected[/red] {rejection.source}:{rejection.position} {errors}")

    figures = week.store
    store = Table(title="Stored", show_header=False)
    store.add_column()
    store.add_column(justify="right")
    store.add_row("declarations (current)", f"{figures['declarations']:,}")
    store.add_row("versions", f"{figures['versions']:,}")
    store.add_row("master filings", f"{figures['master_filings']:,}")
    store.add_row("mean data quality", f"{figures['mean_data_quality']:.3f}")
    store.add_row("linked to their master", f"{figures['linked_to_master']:,}")
    store.add_row("master part missing", f"{figures['missing_master_part']:,}")
    console.print(store)

    total = max(sum(figures["lanes"].values()), 1)
    lanes = Table("lane", _number("declarations"), _number("share"), title="Lanes")
    for lane, count in figures["lanes"].items():
        colour = _LANE_COLOURS.get(lane, "")
        lanes.add_row(f"[{colour}]{lane}[/{colour}]", f"{count:,}", f"{count / total:.1%}")
    console.print(lanes)

    destinations = Table("destination", _number("declarations"), title="By destination")
    for country, count in figures["by_destination"].items():
        destinations.add_row(country, f"{count:,}")
    console.print(destinations)

    duty = Table(
        "filing day",
        "currency",
        *map(_number, ("declarations", "duty", "VAT", "short")),
        title="Duty and VAT",
    )
    for row in week.duty_by_day:
        duty.add_row(
            str(row["day"]),
            row["currency"] or "-",
            f"{row['declarations']:,}",
            f"{row['duty']:,.2f}",
            f"{row['vat']:,.2f}",
            f"{row['shortfall']:,.2f}",
        )
    console.print(duty)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from clearway.api import create_app
    from clearway.api.serving import uvicorn_options
    from clearway.cli.demo_week import DEMO_OFFICER, demo_officer
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
    uvicorn.run(
        create_app(settings, engine=engine),
        host=host,
        port=port,
        log_level="warning",
        **uvicorn_options(settings),
    )
