"""The pure stages of the write path: what can be computed from a batch of
filings alone, on any worker process, in any batch shape.

Validation and shaping (:func:`~clearway.declarations.batch.prepare_batch`)
run at intake; the stages here (party screening and routing, HS suggestions
and the misclassification signal, duty, the stateless risk features) run on
whatever batch the queue hands a worker. Nothing here reads the store or a
clock: the same batch gives the same result wherever it runs. The features
that need state (windows over other filings, value references, capacity)
are the sequencer's (:mod:`clearway.clearance.sequencer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from clearway.classification.loading import classifier_for
from clearway.classification.misclassification import (
    UNSURE_BELOW,
    ItemClassification,
    check_houses,
)
from clearway.declarations.batch import PreparedBatch
from clearway.declarations.bounds import INTAKE_WINDOW, TimeWindow
from clearway.duty import DutyBook, DutyResult, assess, duty_input, load_book
from clearway.ledger.keys import LedgerKeys, keys_for
from clearway.parties.checks import (
    PartyChecks,
    ScreeningOptions,
    check_parties,
    screening_index,
    sdn_file_list,
)
from clearway.parties.lists import ScreeningList, bundled_list
from clearway.parties.screening import ScreeningIndex
from clearway.risk.frame import risk_frame
from clearway.risk.loading import declaration_model_for, rules_for
from clearway.settings import Settings

__all__ = [
    "ClassificationOptions",
    "DutyOptions",
    "RiskOptions",
    "Staged",
    "Stages",
    "run_stages",
    "screening_for",
    "stages_for",
    "warm_up",
]


@dataclass(frozen=True, slots=True)
class DutyOptions:
    """Assess duty and tax on every accepted house, with this book."""

    book: DutyBook
    postal_method: str = "ad_valorem"


@dataclass(frozen=True, slots=True)
class ClassificationOptions:
    """Suggest HS codes for every item and weigh the declared code against
    them, with the model in ``model_file`` (the built-in one when absent)
    and the confirmed classifications in ``precedents_file``; below
    ``unsure_below`` a suggestion is unsure and never flags."""

    model_file: str | None = None
    precedents_file: str | None = None
    unsure_below: float = UNSURE_BELOW


@dataclass(frozen=True, slots=True)
class RiskOptions:
    """Score every declaration and give it a lane: ``rules_file`` (None:
    built-in rules), the learned model in ``model_file`` when it fits
    declarations; ``inspection_share`` of each office's daily filings may
    be red (or ``daily_capacity`` inspections per office and day, when
    set), ``exploration_share`` of that chosen at random by a keyed hash of
    the filing."""

    rules_file: str | None = None
    model_file: str | None = None
    inspection_share: float = 0.05
    exploration_share: float = 0.10
    daily_capacity: int | None = None
    # (filer id, score discount, random-check factor) of trusted operators.
    operator_benefits: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Stages:
    """What happens to accepted filings besides storing them; each stage is
    off when None. Picklable: worker processes receive it."""

    duty: DutyOptions | None = None
    ledger: LedgerKeys | None = None
    # An OFAC SDN CSV screened alone (tests, history rescoring); the write
    # path's lists are in ``screening``.
    screening_list: str | None = None
    screening: ScreeningOptions | None = None
    classification: ClassificationOptions | None = None
    risk: RiskOptions | None = None
    # Not a stage: the window intake checks a filing's times against.
    window: TimeWindow = INTAKE_WINDOW


def screening_for(
    settings: Settings,
    imported: tuple[ScreeningList, ...] = (),
    false_positives: frozenset[tuple[str, str, str, str]] = frozenset(),
) -> ScreeningOptions | None:
    """The lists screened against: those imported into the store, plus the
    ``screening_sdn_file`` when set; the bundled OFAC SDN snapshot when there
    is neither (unless ``screening_default_list`` is off)."""
    lists = list(imported)
    if settings.screening_sdn_file:
        lists.append(sdn_file_list(settings.screening_sdn_file))
    if not lists and settings.screening_default_list:
        lists.append(bundled_list())
    if not lists:
        return None
    return ScreeningOptions(tuple(lists), false_positives, settings.screening_threshold)


def stages_for(
    settings: Settings,
    operator_benefits: tuple[tuple[str, float, float], ...] = (),
    screening: ScreeningOptions | None = None,
) -> Stages:
    """Every stage, configured from settings: what ``clearway ingest`` and
    the API run. ``operator_benefits`` come from the operator programme,
    ``screening`` (the imported lists and false-positive marks) from the
    store; without it, the lists of :func:`screening_for`."""
    return Stages(
        duty=DutyOptions(load_book(), settings.us_postal_duty_method),
        ledger=keys_for(settings),
        screening=screening or screening_for(settings),
        classification=ClassificationOptions(
            settings.classifier_model_file,
            settings.classifier_precedents_file,
            settings.classifier_unsure_below,
        ),
        risk=RiskOptions(
            settings.risk_rules_file,
            settings.risk_model_file,
            settings.risk_inspection_share,
            settings.risk_exploration_share,
            settings.risk_daily_capacity,
            operator_benefits,
        ),
        window=window_for(settings),
    )


def window_for(settings: Settings) -> TimeWindow:
    """The intake time window the settings describe."""
    return TimeWindow(
        timedelta(days=settings.filed_at_max_past_days),
        timedelta(minutes=settings.filed_at_max_future_minutes),
        timedelta(days=settings.expected_arrival_max_future_days),
    )


@dataclass(frozen=True, slots=True)
class Staged:
    """A batch after the pure stages, aligned with ``batch.houses``: duty,
    party checks, HS checks, and the risk frame without its stateful
    columns (the sequencer fills those in)."""

    batch: PreparedBatch
    duty: DutyResult | None = None
    parties: PartyChecks | None = None
    classified: list[list[ItemClassification]] | None = None
    frame: dict[str, npt.NDArray[Any]] | None = None


def warm_up(stages: Stages) -> None:
    """Load what the stages read from files (classifier, screening list,
    rules, model) before the first filing waits for it."""
    _index(stages)
    if stages.classification is not None:
        options = stages.classification
        classifier_for(options.model_file, options.precedents_file)
    if stages.risk is not None:
        rules_for(stages.risk.rules_file)
        declaration_model_for(stages.risk.model_file)


def _index(stages: Stages) -> ScreeningIndex | None:
    if stages.screening is not None:
        return screening_index(stages.screening)
    return screening_index(stages.screening_list) if stages.screening_list else None


def run_stages(batch: PreparedBatch, stages: Stages) -> Staged:
    """The pure stages on a prepared batch."""
    houses = batch.houses
    if not houses:
        return Staged(batch)
    marks = stages.screening.false_positives if stages.screening else frozenset()
    parties = check_parties(houses, _index(stages), false_positives=marks)
    duty = None
    if stages.duty is not None:
        rows = [(house.columns, house.items) for house in houses]
        duty = assess(
            stages.duty.book,
            # Each filing's own day; today only for a filing without one.
            duty_input(rows, datetime.now(UTC).date()),
            postal_method=stages.duty.postal_method,
        )
    classified = None
    if stages.classification is not None:
        options = stages.classification
        classifier = classifier_for(options.model_file, options.precedents_file)
        classified = check_houses(classifier, houses, options.unsure_below)
    frame = None
    if stages.risk is not None:
        # No reference: value z-scores and windows come from the sequencer.
        frame = risk_frame(houses, classified=classified, parties=parties, reference=None)
        frame["office"] = np.array([str(h.columns.get("arrival_office") or "") for h in houses])
    return Staged(batch, duty, parties, classified, frame)
