"""Re-scoring a filing day of stored history, and the rows a model learns
from on that day: the code both engines run.

A day's declarations are scored together, as intake scores a batch: values
compared with the day's own (median and spread per HS6 and currency),
consignee windows within the day, the red lane bounded by the day's share of
inspections, random selection seeded by the policy. The rows are put in an
order fixed by the documents themselves before anything is computed, so a
day's result depends on its declarations alone, never on how an engine
split, shuffled or ordered the work: the single-machine path and the Spark
job give the same answer, row for row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from clearway.classification.loading import classifier_for
from clearway.errors import InputError
from clearway.parties.checks import screening_index
from clearway.risk.backtest import history_frames
from clearway.risk.features import FEATURES
from clearway.risk.lanes import LanePolicy, decide
from clearway.risk.loading import declaration_model_for, rules_for
from clearway.risk.rules import FIELDS
from clearway.risk.training import LabelledFrame

if TYPE_CHECKING:
    from clearway.settings import Settings

__all__ = [
    "DAY_ROWS",
    "LABELLED",
    "RESCORED",
    "HistoryConfig",
    "day_batch",
    "labelled_day",
    "labelled_frame",
    "rescore_day",
]

# A day of history as the engines pass it around: the filing as filed and
# the inspection outcome recorded for it, if any.
DAY_ROWS = pa.schema(
    [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("document", pa.large_string(), nullable=False),
        pa.field("outcome", pa.string()),
    ]
)

# What re-scoring says of each declaration.
RESCORED = pa.schema(
    [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("filer_id", pa.string(), nullable=False),
        pa.field("ref", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("lane", pa.string(), nullable=False),
        pa.field("selected_by", pa.string(), nullable=False),
        pa.field("rules", pa.list_(pa.string()), nullable=False),
        pa.field("reasons", pa.list_(pa.string()), nullable=False),
        pa.field("rules_version", pa.int64(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
    ]
)

# Rows to learn from: the risk frame (features, the text fields rules test,
# who sold and who filed), the label, the day and the position in the day.
LABELLED = pa.schema(
    [pa.field(name, pa.float64(), nullable=False) for name in FEATURES]
    + [pa.field(name, pa.string(), nullable=False) for name in sorted(FIELDS)]
    + [
        pa.field("seller", pa.string(), nullable=False),
        pa.field("filer", pa.string(), nullable=False),
        pa.field("label", pa.int64(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """What a re-scoring run scores with. Plain values, so that it travels
    to Spark's workers as it is; the files must be readable there too.
    ``as_of`` picks the rules in force (by their validity dates) for every
    day: history is judged by the rules of that date, not those of its own."""

    as_of: date
    rules_file: str | None = None
    model_file: str | None = None
    classifier_model_file: str | None = None
    screening_list: str | None = None
    inspection_share: float = 0.05
    exploration_share: float = 0.10

    @classmethod
    def from_settings(cls, settings: Settings, as_of: date) -> HistoryConfig:
        return cls(
            as_of=as_of,
            rules_file=settings.risk_rules_file,
            model_file=settings.risk_model_file,
            classifier_model_file=settings.classifier_model_file,
            screening_list=settings.screening_sdn_file,
            inspection_share=settings.risk_inspection_share,
            exploration_share=settings.risk_exploration_share,
        )


def day_batch(rows: pa.Table) -> list[tuple[str, str | None]]:
    """A day's rows in the order every engine scores them: by document text
    (identical documents are interchangeable)."""
    documents = rows.column("document").to_pylist()
    outcomes = rows.column("outcome").to_pylist()
    return sorted(zip(documents, outcomes, strict=True), key=lambda pair: (pair[0], pair[1] or ""))


def _day_of(rows: pa.Table) -> date:
    days = rows.column("day").unique().to_pylist()
    if len(days) != 1:
        raise ValueError(f"a day's rows must share one day; got {sorted(days)[:3]}")
    day: date = days[0]
    return day


def rescore_day(rows: pa.Table, config: HistoryConfig) -> pa.Table:
    """Score and lane one filing day (``rows`` as :data:`DAY_ROWS`) with the
    rules and model of ``config``; one :data:`RESCORED` row per declaration,
    in scoring order."""
    if rows.num_rows == 0:
        return RESCORED.empty_table()
    day = _day_of(rows)
    rules = rules_for(config.rules_file)
    model = declaration_model_for(config.model_file)
    index = screening_index(config.screening_list) if config.screening_list else None
    policy = LanePolicy(
        capacity_share=config.inspection_share, exploration_share=config.exploration_share
    )
    out: list[pa.Table] = []
    for houses, frame, _labels in history_frames(
        [day_batch(rows)], classifier_for(config.classifier_model_file), index
    ):
        scores = reasons = None
        if model is not None:
            scores, reasons = model.predict_and_explain(frame)
        decisions = decide(
            frame, rules, config.as_of, policy, model_scores=scores, model_reasons=reasons
        )
        n = len(houses)
        out.append(
            pa.table(
                {
                    "day": pa.array([day] * n, pa.date32()),
                    "filer_id": [h.filer_id for h in houses],
                    "ref": [h.ref for h in houses],
                    "score": pa.array(decisions.score, pa.float64()),
                    "lane": pa.array(decisions.lane.tolist(), pa.string()),
                    "selected_by": pa.array(decisions.selected_by.tolist(), pa.string()),
                    "rules": [list(fired) for fired in decisions.fired],
                    "reasons": [list(why) for why in decisions.reasons],
                    "rules_version": pa.array([rules.version] * n, pa.int64()),
                    "model": pa.array([model.trained_at_ if model else ""] * n, pa.string()),
                },
                schema=RESCORED,
            )
        )
    return pa.concat_tables(out) if out else RESCORED.empty_table()


def labelled_day(rows: pa.Table, config: HistoryConfig) -> pa.Table:
    """The declarations of one filing day that have a recorded outcome, as
    :data:`LABELLED` rows: ``label`` 1 = at fault (any outcome but cleared),
    ``seq`` the position in the day's scoring order, so that rows gathered
    from any engine can be put back in one order."""
    if rows.num_rows == 0:
        return LABELLED.empty_table()
    day = _day_of(rows)
    index = screening_index(config.screening_list) if config.screening_list else None
    out: list[pa.Table] = []
    for _houses, frame, outcome in history_frames(
        [day_batch(rows)], classifier_for(config.classifier_model_file), index
    ):
        known = outcome != ""
        positions = np.flatnonzero(known)
        columns: dict[str, Any] = {
            name: frame[name][known] for name in LABELLED.names if name in frame
        }
        columns["label"] = (outcome[known] != "cleared").astype(np.int64)
        columns["day"] = [day] * len(positions)
        columns["seq"] = positions.astype(np.int64)
        out.append(pa.table(columns, schema=LABELLED))
    return pa.concat_tables(out) if out else LABELLED.empty_table()


def labelled_frame(tables: list[pa.Table]) -> LabelledFrame:
    """Labelled days from any engine, in one order (day, then position in
    the day), as the frame the learned model trains on."""
    parts = [t.select(LABELLED.names).cast(LABELLED) for t in tables if t.num_rows]
    if not parts:
        raise InputError("no declaration of the history has a recorded outcome: record some first")
    table = pa.concat_tables(parts)
    table = table.sort_by([("day", "ascending"), ("seq", "ascending")])
    frame = {
        name: table.column(name).to_numpy()
        if pa.types.is_floating(LABELLED.field(name).type)
        else np.array(table.column(name).to_pylist(), dtype=np.str_)
        for name in LABELLED.names[:-3]
    }
    dates = np.array([d.isoformat() for d in table.column("day").to_pylist()], dtype=np.str_)
    return LabelledFrame(frame, table.column("label").to_numpy().astype(np.int_), dates)
