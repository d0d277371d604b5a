"""Re-scoring stored history and computing the rows a model learns from:
the code both engines run, and the same sequencer intake runs.

Filings are replayed in their arrival order through
:class:`~clearway.clearance.replay.Replayer` (the sequencer over a store in
memory): windows, value references, thresholds, capacity, exploration and
raises as intake computed them. A day's lanes depend on the days before it
(references and thresholds are learned from a week, and a week's scores on
the week before) and on the three days after it (later filings raise
earlier lanes): a day is replayed with :data:`CONTEXT_BEFORE` days before
it and :data:`CONTEXT_AFTER` after, which is all that reaches it, so the
result is the same whether one machine replays a whole range at once or
Spark replays each day with its context, and the same as intake's for the
same rules, model and key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clearway.clearance.replay import Replayed, Replayer
from clearway.clearance.stages import ClassificationOptions, RiskOptions, Stages
from clearway.errors import InputError
from clearway.risk.features import FEATURES
from clearway.risk.loading import declaration_model_for, rules_for
from clearway.risk.rules import FIELDS
from clearway.risk.training import LabelledFrame

if TYPE_CHECKING:
    from clearway.settings import Settings

__all__ = [
    "CONTEXT_AFTER",
    "CONTEXT_BEFORE",
    "DAY_ROWS",
    "LABELLED",
    "RESCORED",
    "HistoryConfig",
    "labelled_day",
    "labelled_frame",
    "replay_history",
    "rescore_day",
    "shift_day",
    "window_days",
]

# Days replayed before and after a day for its result to be intake's.
CONTEXT_BEFORE = 14
CONTEXT_AFTER = 3

# A day of history as the engines pass it around: the filing as filed, its
# place in the order filings arrived (``seq``) and when it was received, and
# the inspection outcome recorded for it, if any.
DAY_ROWS = pa.schema(
    [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
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
    # Without a list file, the OFAC SDN snapshot shipped with clearway (as
    # intake screens by default; lists imported into a store are not seen).
    screening_bundled: bool = False
    inspection_share: float = 0.05
    exploration_share: float = 0.10
    daily_capacity: int | None = None
    # The node's commitment secret: exploration is keyed with it, so the
    # replay picks what intake picked.
    exploration_key: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings, as_of: date) -> HistoryConfig:
        from clearway.ledger.keys import keys_for

        return cls(
            as_of=as_of,
            rules_file=settings.risk_rules_file,
            model_file=settings.risk_model_file,
            classifier_model_file=settings.classifier_model_file,
            screening_list=settings.screening_sdn_file,
            screening_bundled=settings.screening_default_list,
            inspection_share=settings.risk_inspection_share,
            exploration_share=settings.risk_exploration_share,
            daily_capacity=settings.risk_daily_capacity,
            exploration_key=keys_for(settings).secret,
        )

    def stages(self) -> Stages:
        """The stages a replay runs: what bears on lanes (no duty, no ledger)."""
        from clearway.parties.checks import ScreeningOptions
        from clearway.parties.lists import bundled_list

        bundled = self.screening_bundled and not self.screening_list
        return Stages(
            screening_list=self.screening_list,
            screening=ScreeningOptions((bundled_list(),)) if bundled else None,
            classification=ClassificationOptions(self.classifier_model_file),
            risk=RiskOptions(
                self.rules_file,
                self.model_file,
                self.inspection_share,
                self.exploration_share,
                self.daily_capacity,
            ),
        )


def _day_of(rows: pa.Table) -> date:
    days = rows.column("day").unique().to_pylist()
    if len(days) != 1:
        raise ValueError(f"a day's rows must share one day; got {sorted(days)[:3]}")
    day: date = days[0]
    return day


def shift_day(day: date, days: int) -> date:
    """``day`` moved by ``days``, held within the calendar: a filing day of
    year 1 or 9999 (stored before intake bounded times) has no context
    beyond them, and asking for it must not overflow."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def window_days(day: date) -> list[date]:
    """The days replayed for ``day``'s result, in order."""
    first = shift_day(day, -CONTEXT_BEFORE)
    last = shift_day(day, CONTEXT_AFTER)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _filings(rows: pa.Table) -> list[tuple[str, datetime, tuple[date, str | None, int]]]:
    """A table's rows in arrival order, as the replayer takes them."""
    rows = rows.sort_by([("seq", "ascending")])
    days = rows.column("day").to_pylist()
    seqs = rows.column("seq").to_pylist()
    received = rows.column("received_at").to_pylist()
    documents = rows.column("document").to_pylist()
    outcomes = rows.column("outcome").to_pylist()
    return [
        (doc, moment if moment.tzinfo else moment.replace(tzinfo=UTC), (day, outcome, seq))
        for day, seq, moment, doc, outcome in zip(
            days, seqs, received, documents, outcomes, strict=True
        )
    ]


def replay_history(
    tables: Iterable[pa.Table], config: HistoryConfig, wanted: set[date] | None = None
) -> Iterator[tuple[date, list[Replayed]]]:
    """Replay ``tables`` (:data:`DAY_ROWS`, days in order) through one
    sequencer; yield each day of ``wanted`` (every day when None) with its
    declarations once no later day can change them."""
    replayer = Replayer(config.stages(), config.as_of, key=config.exploration_key)
    pending: dict[date, list[int]] = {}
    for rows in tables:
        if not rows.num_rows:
            continue
        start = replayer.store.next_id
        replayer.feed(_filings(rows))
        for row_id in range(start, replayer.store.next_id):
            found = replayer.store.decided.get(row_id)
            if found is not None and (wanted is None or found.tag[0] in wanted):
                pending.setdefault(found.tag[0], []).append(row_id)
        newest = max(rows.column("day").to_pylist())
        for day in sorted(d for d in pending if shift_day(d, CONTEXT_AFTER) < newest):
            yield day, [replayer.store.decided.pop(i) for i in pending.pop(day)]
    for day in sorted(pending):
        yield day, [replayer.store.decided.pop(i) for i in pending.pop(day)]


def _rescored(day: date, replayed: list[Replayed], config: HistoryConfig) -> pa.Table:
    rules = rules_for(config.rules_file)
    model = declaration_model_for(config.model_file)
    n = len(replayed)
    return pa.table(
        {
            "day": pa.array([day] * n, pa.date32()),
            "filer_id": [r.filer_id for r in replayed],
            "ref": [r.ref for r in replayed],
            "score": pa.array([r.score for r in replayed], pa.float64()),
            "lane": pa.array([r.lane for r in replayed], pa.string()),
            "selected_by": pa.array([r.selected_by for r in replayed], pa.string()),
            "rules": [list(r.rules) for r in replayed],
            "reasons": [list(r.reasons) for r in replayed],
            "rules_version": pa.array([rules.version] * n, pa.int64()),
            "model": pa.array([model.trained_at_ if model else ""] * n, pa.string()),
        },
        schema=RESCORED,
    )


def _by_day(rows: pa.Table) -> list[pa.Table]:
    days = sorted(rows.column("day").unique().to_pylist())
    return [rows.filter(pc.equal(rows.column("day"), pa.scalar(d, pa.date32()))) for d in days]


def rescore_day(rows: pa.Table, config: HistoryConfig, day: date | None = None) -> pa.Table:
    """Score and lane ``day`` (default: the only day of ``rows``) with the
    rules and model of ``config``, replaying every row given (its context:
    see :func:`window_days`); one :data:`RESCORED` row per declaration of
    the day, in arrival order."""
    if rows.num_rows == 0:
        return RESCORED.empty_table()
    target = day or _day_of(rows)
    out = [
        _rescored(found, replayed, config)
        for found, replayed in replay_history(_by_day(rows), config, {target})
    ]
    return pa.concat_tables(out) if out else RESCORED.empty_table()


def rescored_tables(
    tables: Iterable[pa.Table], config: HistoryConfig, wanted: set[date]
) -> Iterator[pa.Table]:
    """:func:`rescore_day` for every day of ``wanted``, replaying ``tables``
    (the wanted days with their context, in order) once."""
    for day, replayed in replay_history(tables, config, wanted):
        yield _rescored(day, replayed, config)


def labelled_rows(day: date, replayed: list[Replayed]) -> pa.Table:
    """The replayed declarations of ``day`` with a recorded outcome as
    :data:`LABELLED` rows (``label`` 1 = at fault: any outcome but
    cleared; ``seq`` their arrival order), with the features the sequencer
    decided them on: what serving computes."""
    known = [r for r in replayed if r.tag[1]]
    columns: dict[str, Any] = {}
    for name in LABELLED.names:
        if name in ("label", "day", "seq"):
            continue
        kind = LABELLED.field(name).type
        values = [r.features.get(name) for r in known]
        columns[name] = pa.array(
            [float(v or 0.0) for v in values] if pa.types.is_floating(kind) else
            [str(v or "") for v in values], kind,
        )  # fmt: skip
    columns["label"] = pa.array([int(r.tag[1] != "cleared") for r in known], pa.int64())
    columns["day"] = pa.array([day] * len(known), pa.date32())
    columns["seq"] = pa.array([int(r.tag[2]) for r in known], pa.int64())
    return pa.table(columns, schema=LABELLED)


def labelled_day(rows: pa.Table, config: HistoryConfig, day: date | None = None) -> pa.Table:
    """The declarations of ``day`` (default: the only day of ``rows``) that
    have a recorded outcome, as :data:`LABELLED` rows, replaying every row
    given."""
    if rows.num_rows == 0:
        return LABELLED.empty_table()
    target = day or _day_of(rows)
    out = [
        labelled_rows(found, replayed)
        for found, replayed in replay_history(_by_day(rows), config, {target})
    ]
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
