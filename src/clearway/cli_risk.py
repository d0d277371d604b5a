"""``clearway risk ...``: the learned risk model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["risk_app"]

risk_app = typer.Typer(help="Risk targeting: train and measure the model.", no_args_is_help=True)
console = Console()

_FILE = typer.Option(exists=True, dir_okay=False, help="Korean declarations CSV (22 columns).")


def _print_scores(rows: dict[str, dict[str, float]]) -> None:
    table = Table("model", "P@5%", "P@10%", "R@5%", "R@10%", "AUC")
    for name, s in rows.items():
        table.add_row(
            name,
            *(f"{s[k]:.3f}" for k in ("precision_at_5", "precision_at_10", "recall_at_5")),
            f"{s['recall_at_10']:.3f}",
            f"{s['auc']:.3f}",
        )
    console.print(table)


@risk_app.command("evaluate")
def evaluate(
    train: Annotated[Path, _FILE],
    test: Annotated[Path, _FILE],
) -> None:
    """Train on TRAIN, score TEST; the last line printed is one JSON object
    with precision and recall at the 5% and 10% highest scores and the AUC
    (Fraud label)."""
    from clearway.risk import RiskModel, ranking_report
    from clearway.risk.korean import KOREAN_SPEC, read_korean

    training, testing = read_korean(train), read_korean(test)
    model = RiskModel(KOREAN_SPEC).fit(training.frame, training.fraud)
    scores = ranking_report(model.predict_proba(testing.frame), testing.fraud)
    console.print(f"trained on {len(training.fraud):,} rows, tested on {len(testing.fraud):,}")
    _print_scores({"candidate": scores})
    sys.stdout.write(orjson.dumps(scores).decode() + "\n")


@risk_app.command("train")
def train(
    data: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="Korean declarations CSV (22 columns)."),
    ],
    output: Annotated[
        Path | None, typer.Option(help="Model file (default: the risk_model_file setting).")
    ] = None,
) -> None:
    """Train on outcomes; the new model replaces the current one only if it
    scores better on the most recent 20% of the data (comparison printed)."""
    from clearway.cli import settings_from_environment
    from clearway.risk import RiskModel
    from clearway.risk.korean import read_korean
    from clearway.risk.training import train_risk_model

    target = output or Path(settings_from_environment().risk_model_file)
    current = RiskModel.load(target) if target.is_file() else None
    outcome = train_risk_model(read_korean(data), current)
    console.print(f"compared on the period from {outcome.recent_from}:")
    rows = {"candidate": outcome.candidate}
    if outcome.current is not None:
        rows["current"] = outcome.current
    _print_scores(rows)
    if outcome.replaced:
        outcome.model.save(target, outcome.metadata)
        console.print(f"[green]new model written to {target}[/green]")
    else:
        console.print(f"[yellow]kept the current model in {target}: it scores better[/yellow]")
    summary = {"replaced": outcome.replaced, "model": str(target), **outcome.metadata}
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
