"""Backtesting draft targeting rules on stored history: the features come
from the same replay as re-scoring (the sequencer, windows and value
references as intake computed them), the rules are the draft's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import numpy.typing as npt

from clearway.clearance.replay import Replayed
from clearway.history.rescoring import HistoryConfig, replay_history
from clearway.history.sources import History, day_tables, history_days_of
from clearway.risk.backtest import RuleStats, tally
from clearway.risk.rules import RuleSet

__all__ = ["backtest_history"]


def _frame(replayed: Sequence[Replayed]) -> dict[str, npt.NDArray[np.generic]]:
    names = sorted({name for r in replayed for name in r.features})
    return {name: np.array([r.features.get(name) for r in replayed]) for name in names}


def backtest_history(
    rules: RuleSet,
    source: History,
    config: HistoryConfig,
    since: date | None = None,
    until: date | None = None,
) -> tuple[int, list[RuleStats]]:
    """Every rule of ``rules`` over the declarations of ``source`` (within
    ``since`` and ``until``): the number of declarations, and per rule its
    hits and precision against the recorded outcomes."""
    stats = {rule.id: RuleStats(rule.id) for rule in rules.rules}
    total = 0
    days = history_days_of(source, since, until)
    for _day, replayed in replay_history(day_tables(source, days), config):
        if not replayed:
            continue
        labels = np.array([r.tag[1] or "" for r in replayed], dtype=np.str_)
        tally(rules, _frame(replayed), labels, stats)
        total += len(replayed)
    return total, [stats[rule.id] for rule in rules.rules]
