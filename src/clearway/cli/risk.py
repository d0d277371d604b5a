"""``clearway risk ...``: the learned risk model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from clearway.cli._common import console, parse_day, settings_from_environment
from clearway.cli.history import (
    CORES,
    ENGINE,
    HISTORY,
    MASTER,
    SINCE,
    EngineName,
    history_of,
    session_for,
)

__all__ = ["outcomes_app", "risk_app", "rules_app"]

risk_app = typer.Typer(help="Risk targeting: train and measure the model.", no_args_is_help=True)

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
        Path | None,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Korean declarations CSV; without it, the stored declarations "
            "with recorded outcomes.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Model file (default: the risk_model_file setting).")
    ] = None,
    engine: Annotated[EngineName, ENGINE] = EngineName.local,
    history: Annotated[Path | None, HISTORY] = None,
    since: Annotated[str | None, SINCE] = None,
    master: Annotated[str | None, MASTER] = None,
    cores: Annotated[int | None, CORES] = None,
) -> None:
    """Train on outcomes; the new model replaces the current one only if it
    scores better on the most recent period (comparison printed). A model
    trained on stored declarations (or their Parquet export, --history) is
    the one intake then scores with; their features are computed a filing
    day at a time, here or on Spark (--engine spark), with the same result."""
    from clearway.risk import RiskModel
    from clearway.risk.training import train_risk_model

    settings = settings_from_environment()
    target = output or Path(settings.risk_model_file)
    current = RiskModel.load(target) if target.is_file() else None
    if data is not None:
        from clearway.risk.korean import KOREAN_SPEC, read_korean

        labelled, spec = read_korean(data).labelled(), KOREAN_SPEC
    else:
        from datetime import UTC, datetime

        from clearway.history.rescoring import HistoryConfig
        from clearway.history.runs import labelled_history_frame
        from clearway.risk.frame import DECLARATION_SPEC

        labelled = labelled_history_frame(
            history_of(history),
            HistoryConfig.from_settings(settings, datetime.now(UTC).date()),
            parse_day(since, "--since"),
            spark=session_for(engine, master, cores),
        )
        spec = DECLARATION_SPEC
    if current is not None and current.spec.feature_names() != spec.feature_names():
        console.print(f"[yellow]{target} holds a model of other features: replacing it[/yellow]")
        current = None
    outcome = train_risk_model(labelled, current, spec)
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


outcomes_app = typer.Typer(help="Inspection outcomes: what interventions found.")
rules_app = typer.Typer(help="Targeting rules: check and backtest.", no_args_is_help=True)


@outcomes_app.command("record")
def record(
    outcomes_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Outcomes CSV.")
    ],
) -> None:
    """Record inspection outcomes (seized, duty_corrected, data_corrected,
    cleared) for stored declarations; bad rows are named and skipped."""
    from datetime import UTC, datetime

    from clearway.risk.outcomes import read_outcome_file
    from clearway.store import open_engine
    from clearway.store.outcomes import record_outcomes

    engine = open_engine(settings_from_environment().database_url)
    recorded, problems = record_outcomes(
        engine, read_outcome_file(outcomes_file), datetime.now(UTC)
    )
    for problem in problems[:20]:
        console.print(f"[yellow]skipped[/yellow] {problem.field}: {problem.message}")
    sys.stdout.write(orjson.dumps({"recorded": recorded, "skipped": len(problems)}).decode() + "\n")
    if problems:
        raise typer.Exit(2)


@rules_app.command("backtest")
def backtest(
    rules_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Rules YAML to try.")
    ],
) -> None:
    """Run rules over the stored history (whatever their validity dates);
    print per rule the hits, share of traffic and precision against the
    recorded outcomes; the last line is the same as JSON."""
    from datetime import UTC, datetime

    from clearway.history.backtest import backtest_history
    from clearway.history.rescoring import HistoryConfig
    from clearway.risk.rules import load_rules

    settings = settings_from_environment()
    rules = load_rules(rules_file)
    total, stats = backtest_history(
        rules,
        history_of(None),
        HistoryConfig.from_settings(settings, datetime.now(UTC).date()),
    )
    rows = [s.as_dict(total) for s in stats]
    table = Table("rule", "hits", "share", "with outcome", "precision")
    for row in rows:
        precision = row["precision"]
        table.add_row(
            str(row["rule"]),
            f"{row['hits']:,}",
            f"{row['share']:.2%}",
            f"{row['with_outcome']:,}",
            "-" if precision is None else f"{precision:.2f}",
        )
    console.print(f"{total:,} declarations, rules version {rules.version}")
    console.print(table)
    sys.stdout.write(
        orjson.dumps({"declarations": total, "version": rules.version, "rules": rows}).decode()
        + "\n"
    )
