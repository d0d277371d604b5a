"""``clearway classify`` and ``clearway classifier ...``: HS suggestions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, settings_from_environment

__all__ = ["classifier_app", "classify"]

classifier_app = typer.Typer(
    help="The HS classifier: train it on history, measure it.", no_args_is_help=True
)


def _model_file() -> str:

    return settings_from_environment().classifier_model_file


def classify(
    description: Annotated[list[str], typer.Argument(help="Goods description(s).")],
    top: Annotated[int, typer.Option(min=1, max=20, help="How many codes to suggest.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Suggest HS 2022 subheadings for goods descriptions, with confidences."""
    from clearway.classification.loading import classifier_for

    suggestions = classifier_for(_model_file()).suggest(description, k=top)
    if as_json:
        rows = [
            {"description": d, "suggestions": suggestions.row(i)} for i, d in enumerate(description)
        ]
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    for i, text in enumerate(description):
        table = Table("HS", "heading", "chapter", "confidence", "heading conf.", "description")
        from clearway.reference.nomenclature import hs_entry

        for row in suggestions.row(i):
            entry = hs_entry(row["hs"])
            table.add_row(
                row["hs"],
                row["heading"],
                row["chapter"],
                f"{row['confidence']:.1%}",
                f"{row['heading_confidence']:.1%}",
                entry.description if entry else "",
            )
        console.print(f"[bold]{text}[/bold]")
        console.print(table)


def _print_scores(title: str, scores: dict[str, Any]) -> None:
    table = Table(title, "top-1", "top-5")
    for level in ("chapter", "heading", "subheading"):
        if level in scores:
            table.add_row(level, f"{scores[level]['top1']:.1%}", f"{scores[level]['top5']:.1%}")
    console.print(table)


def _read(path: Path) -> Any:
    from clearway.classification.evaluation import read_labelled_csv

    labelled = read_labelled_csv(path)
    for problem in labelled.problems[:20]:
        console.print(f"[yellow]skipped[/yellow] {problem.field}: {problem.message}")
    if len(labelled.problems) > 20:
        console.print(f"... and {len(labelled.problems) - 20} more rows skipped")
    return labelled


@classifier_app.command("train")
def train(
    history: Annotated[
        Path, typer.Argument(help="CSV with columns description,hs.", exists=True, dir_okay=False)
    ],
    output: Annotated[
        Path | None, typer.Option(help="Where to write the model (default: the setting).")
    ] = None,
) -> None:
    """Train the classifier on labelled history and make it the one in use;
    prints how it scores against the built-in model on held-out rows."""
    from clearway.classification.training import train_classifier

    labelled = _read(history)
    report = train_classifier(labelled)
    target = output or Path(_model_file())
    report.model.save(target)
    console.print(
        f"trained on {report.rows} rows ({len(labelled.problems)} skipped); "
        f"model written to {target}"
    )
    if report.before is not None and report.after is not None:
        console.print(f"on {report.held_out} held-out rows:")
        _print_scores("built-in", report.before)
        _print_scores("trained", report.after)
    summary = {
        "rows": report.rows,
        "skipped": len(labelled.problems),
        "model": str(target),
        "held_out": report.held_out,
        "before": report.before,
        "after": report.after,
    }
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")


@classifier_app.command("evaluate")
def evaluate_command(
    labelled_file: Annotated[
        Path, typer.Argument(help="CSV with columns description,hs.", exists=True, dir_okay=False)
    ],
) -> None:
    """Measure the classifier in use on labelled descriptions; the last line
    printed is one JSON object with top-1/top-5 per level and throughput."""
    from clearway.classification.evaluation import evaluate
    from clearway.classification.loading import classifier_for

    labelled = _read(labelled_file)
    scores = evaluate(classifier_for(_model_file()), labelled.descriptions, labelled.codes)
    _print_scores(f"{scores['n']} descriptions", scores)
    sys.stdout.write(orjson.dumps(scores).decode() + "\n")
