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


def _files() -> tuple[str, str, float]:
    settings = settings_from_environment()
    return (
        settings.classifier_model_file,
        settings.classifier_precedents_file,
        settings.classifier_unsure_below,
    )


def _model_file() -> str:
    return _files()[0]


def classify(
    description: Annotated[list[str], typer.Argument(help="Goods description(s).")],
    top: Annotated[int, typer.Option(min=1, max=20, help="How many codes to suggest.")] = 5,
    category: Annotated[
        str | None, typer.Option(help="Marketplace category path, e.g. 'Shoes > Boots'.")
    ] = None,
    material: Annotated[str | None, typer.Option(help="Main material.")] = None,
    brand: Annotated[str | None, typer.Option(help="Brand (its words are ignored).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Suggest HS 2022 subheadings for goods descriptions, with confidences,
    an "unsure" mark below the threshold, and the evidence: confirmed
    classifications nearby and the labelled examples (phrases, history,
    precedents) sharing most words."""
    from clearway.classification.listing import listing_text
    from clearway.classification.loading import classifier_for
    from clearway.classification.neighbours import evidence_lines
    from clearway.reference.nomenclature import hs_entry

    model_file, precedents, unsure_below = _files()
    model = classifier_for(model_file, precedents)
    texts = [listing_text(d, category, material, brand) for d in description]
    suggestions = model.suggest(texts, k=top)
    unsure = suggestions.unsure(unsure_below)
    evidence = model.evidence(texts)
    if as_json:
        rows = [
            {
                "description": d,
                "unsure": bool(unsure[i]),
                "suggestions": suggestions.row(i),
                "evidence": evidence[i],
            }
            for i, d in enumerate(description)
        ]
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    for i, text in enumerate(description):
        table = Table("HS", "heading", "chapter", "confidence", "heading conf.", "description")
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
        mark = " [yellow](unsure: check before relying on it)[/yellow]" if unsure[i] else ""
        console.print(f"[bold]{text}[/bold]{mark}")
        console.print(table)
        for line in evidence_lines(evidence[i]):
            console.print(f"  {line}", markup=False)


def _print_scores(title: str, scores: dict[str, Any]) -> None:
    table = Table(title, "top-1", "top-5")
    for level in ("chapter", "heading", "subheading"):
        if level in scores:
            table.add_row(level, f"{scores[level]['top1']:.1%}", f"{scores[level]['top5']:.1%}")
    console.print(table)
    for point in scores.get("coverage", []):
        console.print(
            f"heading precision {point['precision']:.1%} on the {point['coverage']:.0%} "
            f"it is most confident about (confidence >= {point['threshold']:.2f})"
        )


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
    model_file, precedents, _ = _files()
    scores = evaluate(classifier_for(model_file, precedents), labelled.descriptions, labelled.codes)
    _print_scores(f"{scores['n']} descriptions", scores)
    sys.stdout.write(orjson.dumps(scores).decode() + "\n")


@classifier_app.command("precedents")
def precedents_command(
    output: Annotated[
        Path | None, typer.Option(help="Where to write (default: the setting).")
    ] = None,
) -> None:
    """Rebuild the precedents file from the confirmations in the store
    (officers' confirm/correct actions, inspections that found a code
    correct); the classifier learns them without retraining."""
    from clearway.classification.loading import append_precedents
    from clearway.store.confirmations import read_confirmations
    from clearway.store.engine import open_engine

    settings = settings_from_environment()
    rows = read_confirmations(open_engine(settings.database_url))
    target = output or Path(settings.classifier_precedents_file)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    append_precedents(partial, [(row["text"], row["hs"]) for row in rows])
    partial.touch()
    partial.replace(target)
    console.print(f"{len(rows)} confirmed classifications written to {target}")
