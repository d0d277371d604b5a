"""Where the edges get the write path: the clearance service over a store.

The core (:mod:`clearway.clearance`) knows the store only through its
Protocols; this is the one place that puts the two together, for the CLI,
the API, the demo, the benchmarks and the tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearway.clearance import ClearanceService, IngestReport, Stages
from clearway.clearance.rescreen import RescreenRequest, RescreenResult
from clearway.clearance.sequencer import Sequencer
from clearway.parties.checks import ScreeningOptions
from clearway.parties.lists import ScreeningList, index_of
from clearway.settings import Settings
from clearway.store.clearance import SqlClearanceStore
from clearway.store.operators import operator_benefits
from clearway.store.screening import (
    ListImport,
    active_lists,
    false_positive_marks,
    import_list,
)

__all__ = [
    "confirm_item_classification",
    "import_screening_list",
    "ingest_files",
    "ingest_records",
    "mark_screening_false_positive",
    "screening_from_store",
    "screening_warning",
    "service_for",
    "stages_from_settings",
]


def screening_from_store(settings: Settings, engine: Engine) -> ScreeningOptions | None:
    """The lists screened against (imported ones, the SDN file, else the
    bundled snapshot) with the officers' false-positive marks."""
    from clearway.clearance.stages import screening_for

    return screening_for(settings, active_lists(engine), false_positive_marks(engine))


def screening_warning(settings: Settings, engine: Engine) -> str | None:
    """The warning ``serve``, ``ingest`` and the workspace show when the
    newest active list is older than ``screening_max_list_age_days``."""
    from clearway.parties.lists import stale_warning

    options = screening_from_store(settings, engine)
    return stale_warning(
        options.lists if options else (),
        settings.screening_max_list_age_days,
        datetime.now(UTC).date(),
    )


def stages_from_settings(settings: Settings, engine: Engine) -> Stages:
    """Every stage, configured from settings, with the operator programme's
    benefits and the screening lists read from the store."""
    from clearway.clearance import stages_for

    return stages_for(settings, operator_benefits(engine), screening_from_store(settings, engine))


def import_screening_list(
    engine: Engine,
    settings: Settings,
    listed: ScreeningList,
    *,
    history: tuple[date, date] | None = None,
) -> tuple[ListImport, RescreenResult]:
    """Store a list version, then rescreen against the entries it changed:
    declarations not yet released, and those filed in ``history``, by the
    sequencer in one tick."""
    now = datetime.now(UTC)
    change = import_list(engine, listed, now)
    if not change.changed:
        return change, RescreenResult()
    changed = ScreeningList(listed.name, listed.source, listed.format, listed.published,
                            change.changed)  # fmt: skip
    stages = stages_from_settings(settings, engine)
    marks = stages.screening.false_positives if stages.screening else frozenset()
    request = RescreenRequest(
        index_of([changed], settings.screening_threshold),
        now - timedelta(days=settings.screening_pending_days),
        history,
        marks,
        f"{len(change.changed)} entries of {listed.name} (published "
        f"{listed.published.isoformat()}) new or changed",
    )
    return change, Sequencer(SqlClearanceStore(engine), stages).rescreen(request)


def service_for(
    engine: Engine, stages: Stages | None = None, settings: Settings | None = None
) -> ClearanceService:
    """The clearance service over ``engine`` (every stage off unless given)."""
    options: dict[str, Any] = {}
    if settings is not None:
        options = {
            "queue_limit": settings.intake_queue_limit,
            "tick_size": settings.sequencer_tick_size,
            "refresh": lambda: stages_from_settings(settings, engine),
        }
    return ClearanceService(SqlClearanceStore(engine), stages or Stages(), **options)


def ingest_files(
    engine: Engine, paths: list[Path], *, stages: Stages | None = None, **options: Any
) -> IngestReport:
    """Ingest files through the one write path (see :meth:`ClearanceService.ingest_files`)."""
    return service_for(engine, stages).ingest_files(paths, **options)


def ingest_records(
    engine: Engine, records: Any, *, stages: Stages | None = None, **options: Any
) -> IngestReport:
    return service_for(engine, stages).ingest_records(records, **options)


def mark_screening_false_positive(
    engine: Engine,
    settings: Settings,
    *,
    declaration_row: int,
    role: str,
    list_name: str,
    entry_id: str,
    officer: str,
    note: str,
) -> dict[str, Any]:
    """An officer's finding that a declaration's ``role`` party is not list
    entry ``entry_id``: kept (who, when, why), on the ledger, and honoured by
    later screenings of the same party until the entry changes."""
    from clearway.errors import InputError, NotFound
    from clearway.ledger.events import Event
    from clearway.ledger.keys import keys_for
    from clearway.parties.screening import entry_digest, party_key
    from clearway.store.engine import writing
    from clearway.store.ledger import record_events
    from clearway.store.screening import mark_false_positive, party_of

    if role not in ("seller", "consignee"):
        raise InputError(f"role must be seller or consignee. Got {role!r}.")
    options = screening_from_store(settings, engine)
    entry = next(
        (
            e
            for listed in (options.lists if options else ())
            if listed.name == list_name
            for e in listed.entries
            if e.entry_id == entry_id
        ),
        None,
    )
    if entry is None:
        raise NotFound(f"entry {entry_id!r} of list {list_name!r} is not on an active list.")
    filer_id, ref, name, country = party_of(engine, declaration_row, role)
    now = datetime.now(UTC)
    mark = mark_false_positive(
        engine,
        party_key=party_key(name, country),
        party_name=name,
        list_name=list_name,
        entry_id=entry_id,
        entry_digest=entry_digest(entry),
        declaration_id=declaration_row,
        officer=officer,
        note=note,
        now=now,
    )
    event = Event(
        event_id=f"screening.false_positive:{mark['id']}",
        type="screening.false_positive",
        time=now.isoformat(),
        actors=(officer,),
        subject=f"{filer_id}/{ref}",
        fields={"role": role, "list": list_name, "entry": entry_id, "note": note},
    )
    with writing(engine).begin() as conn:
        record_events(conn, keys_for(settings), [event], [declaration_row], now)
    return mark


def confirm_item_classification(
    engine: Engine,
    settings: Settings,
    keys: Any,
    view: Any,
    item_line: int,
    action: str,
    *,
    officer: str,
    note: str,
    hs: str | None = None,
) -> dict[str, Any]:
    """An officer confirms, corrects or records an inspection's finding on
    item ``item_line`` of declaration ``view``: checked, kept in the audit
    table, on the ledger (``keys``), and appended to the precedents file so
    the classify stage learns it from the next batch on (no refit)."""
    from clearway.classification.confirmation import check_confirmation
    from clearway.classification.loading import append_precedents
    from clearway.store.confirmations import record_confirmation

    checked = check_confirmation(view.ref, view.document.get("items") or [], item_line, action, hs)
    row = record_confirmation(engine, view, checked, officer, note, datetime.now(UTC), keys)
    if settings.classifier_precedents_file:
        append_precedents(Path(settings.classifier_precedents_file), [(row["text"], row["hs"])])
    return row
