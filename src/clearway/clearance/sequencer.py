"""The sequencer: the one writer of decisions for a store.

Per tick (whatever batch arrived: one filing, a list, 2,000 rows of a
file), in one transaction under the store's sequencer lock:

1. versions and amendments in arrival order;
2. stateful features from stored history (:mod:`clearway.clearance.state`):
   parcels and value per consignee and per seller and consignee, both sides
   of the filing time; value z-scores against references learned from the
   days before;
3. scores (rules and the learned model) and lanes within each office's daily
   capacity (:mod:`clearway.risk.streaming`); an amendment never lowers a
   lane an officer set or a mandatory rule demanded;
4. later filings raise the lanes of earlier related declarations not yet
   released (never lower them), with the reason and a ledger event;
5. every event of the tick on the ledger under one signed checkpoint.

A changed restricted-party list is decided here too (:meth:`Sequencer.rescreen`,
a tick without filings): new hits on declarations not yet released raise
their lanes by the same rules and the same store and ledger calls.

Filings are decided one after another in arrival order, so a declaration
gets the same lane whether it came alone, in a list or in a file. The same
code replays history (:mod:`clearway.clearance.replay`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from clearway.clearance.ports import ClearanceStore, Counts, Plan, Tick
from clearway.clearance.rescreen import RescreenRequest, RescreenResult, apply_rescreen
from clearway.clearance.stages import Staged, Stages
from clearway.clearance.state import Entry, RiskState, party_keys, window_time
from clearway.ledger.events import Event
from clearway.parties.screening import ScreeningHit
from clearway.risk.lanes import score_rows
from clearway.risk.loading import declaration_model_for, rules_for
from clearway.risk.model import RiskModel
from clearway.risk.references import item_keys, item_measures
from clearway.risk.rules import RuleSet
from clearway.risk.streaming import RANK, StreamPolicy, choose_lane, exploration_draw

__all__ = ["Decided", "Sequencer", "TickResult", "stream_policy"]


@dataclass(frozen=True, slots=True)
class Decided:
    """What became of one house filing of a tick."""

    filer_id: str
    ref: str
    status: str
    version: int | None = None
    lane: str | None = None
    score: float | None = None
    selected_by: str | None = None
    reasons: tuple[str, ...] = ()
    office: str = ""


@dataclass(slots=True)
class TickResult:
    counts: Counts = field(default_factory=Counts)
    decided: list[Decided] = field(default_factory=list)
    raised: int = 0


def stream_policy(stages: Stages, key: bytes | None = None) -> StreamPolicy:
    """The lane policy of ``stages`` (exploration keyed with ``key``, by
    default the ledger's commitment secret, so that filers cannot predict
    it)."""
    risk = stages.risk
    if key is None:
        key = stages.ledger.secret if stages.ledger is not None else b"clearway-exploration"
    if risk is None:
        return StreamPolicy(key=key)
    return StreamPolicy(
        share=risk.inspection_share,
        exploration_share=risk.exploration_share,
        daily_capacity=risk.daily_capacity,
        key=key,
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _plain_columns(frame: Mapping[str, npt.NDArray[Any]]) -> dict[str, list[Any]]:
    """Each column as Python values, what :func:`_plain` gives element by
    element (``tolist`` converts as ``item`` does), one call per column."""
    out: dict[str, list[Any]] = {}
    for name, column in frame.items():
        values = column.tolist()
        out[name] = [_plain(v) for v in values] if column.dtype == object else values
    return out


class Sequencer:
    """Decides ticks for one store; keep one per process and let the store's
    lock make it the only one at a time."""

    def __init__(
        self,
        store: ClearanceStore,
        stages: Stages,
        *,
        as_of: date | None = None,
        key: bytes | None = None,
    ) -> None:
        self.store = store
        self.stages = stages
        self.as_of = as_of
        self.policy = stream_policy(stages, key)
        self.state = RiskState(self.policy)
        self.generation: int | None = None
        self.officers_seen = 0
        self.ticks = 0

    # -- state ---------------------------------------------------------------

    def _officers(self, tick: Tick) -> None:
        """What officers decided since the last tick: their lanes stand."""
        for decision_id, row_id, lane in tick.officer_lanes(self.officers_seen):
            self.officers_seen = decision_id
            entry = self.state.rows.get(row_id)
            if entry is not None and lane is not None:
                entry.lane, entry.selected_by = lane, "officer"

    def _reload(self, tick: Tick) -> None:
        self.state = RiskState(self.policy)
        # The decisions loaded already carry what officers decided.
        self.officers_seen = tick.last_officer_decision()
        mandatory = {rule.id for rule in self._rules().rules if rule.mandatory}
        for stored in tick.load_decided(self.state.horizon):
            columns = stored.columns
            entry = Entry(
                stored.row_id,
                stored.filer_id,
                stored.ref,
                window_time(stored.filed_at, stored.received_at),
                str(columns.get("arrival_office") or ""),
                float(columns.get("total_value") or 0.0),
                party_keys(columns),
                dict(stored.features or {}),
                stored.lane,
                stored.score,
                stored.selected_by,
                stored.rules,
                stored.reasons,
            )
            self.state.add(entry)
            seller = str(columns.get("seller_name") or "")
            self.state.add_items(entry.day, seller, stored.items)
            day = self.state.office_day(entry.office, entry.day)
            day.count += 1
            day.scores.append(stored.score)
            if stored.lane in ("red", "black"):
                day.red += 1
                if stored.selected_by == "rule" and mandatory.intersection(stored.rules):
                    day.forced += 1

    # -- one tick ------------------------------------------------------------

    def process(
        self,
        staged: Staged,
        received_at: datetime,
        *,
        claimed: Sequence[int] = (),
        tick: Tick | None = None,
    ) -> TickResult:
        """Decide and write ``staged`` (one tick). ``claimed``: the intake
        queue ids it came from; ``tick``: an open tick (else one is opened)."""
        if tick is None:
            with self.store.tick() as opened:
                return self.process(staged, received_at, claimed=claimed, tick=opened)
        try:
            if tick.generation() != self.generation:
                self._reload(tick)
            self._officers(tick)
            plan = tick.plan(staged.batch, received_at)
            decisions, raises, events = self._decide(plan, staged, received_at)
            counts = tick.write(
                plan,
                duty=staged.duty,
                ledger=self.stages.ledger,
                parties=staged.parties,
                classified=staged.classified,
                decisions=decisions if self.stages.risk is not None else None,
                events=events,
            )
            tick.raise_lanes(raises)
            generation = tick.finish(claimed, len(plan.houses), len(raises))
        except BaseException:
            # What was decided in memory may not be stored: rebuild it.
            self.generation = None
            raise
        self.generation = generation
        self.ticks += 1
        if self.ticks % 64 == 0:
            self.state.evict()
        return TickResult(counts, self._answers(staged, plan, decisions), len(raises))

    # -- a list changed: rescreen ------------------------------------------------

    def rescreen(self, request: RescreenRequest, tick: Tick | None = None) -> RescreenResult:
        """Screen stored parties against changed list entries (see
        :mod:`clearway.clearance.rescreen`) in one tick: new hits are
        stored, alerted and put on the ledger; lanes are raised by the rules
        intake decides with, through the store's ``raise_lanes``."""
        if tick is None:
            with self.store.tick() as opened:
                return self.rescreen(request, opened)
        try:
            result, raises = apply_rescreen(tick, request, self._rescreen_lanes, self.stages.ledger)
            tick.raise_lanes(raises)
            tick.finish((), 0, len(raises))
        finally:
            # Lanes changed that the in-memory state holds: rebuild it at
            # the next tick (a rescreen is rare; a reload is cheap enough).
            self.generation = None
        return result

    def _rescreen_lanes(
        self,
        rows: list[dict[str, Any]],
        found: Mapping[int, list[tuple[str, ScreeningHit]]],
        why: str,
        when: datetime,
    ) -> dict[int, tuple[dict[str, Any], Event]]:
        """The raised decision and its ``risk.raised`` event per declaration
        whose lane the new hits raise: decided, not released, not decided
        by an officer (as :meth:`_raise`: officers' lanes are final)."""
        if self.stages.risk is None:
            return {}
        open_rows = [
            r for r in rows
            if r["lane"] is not None and r["features"] and not r["released"]
            and r["selected_by"] != "officer"
        ]  # fmt: skip
        if not open_rows:
            return {}
        features = [dict(orjson.loads(r["features"])) for r in open_rows]
        for feats, row in zip(features, open_rows, strict=True):
            best = max(hit.score for _role, hit in found[int(row["id"])])
            feats["screening_score"] = max(float(feats.get("screening_score") or 0.0), best)
        names = list(dict.fromkeys(name for feats in features for name in feats))
        frame = {name: np.array([f.get(name, 0.0) for f in features]) for name in names}
        scored = self._score(frame, [str(r["filer_id"]) for r in open_rows])
        rules_version, model = self._versions()
        out: dict[int, tuple[dict[str, Any], Event]] = {}
        for n, row in enumerate(open_rows):
            mandatory = scored.mandatory is not None and bool(scored.mandatory[n])
            minimum = min(int(scored.minimum[n]), RANK["red"])
            if minimum >= RANK["red"] and not mandatory:
                # As in _raise: only mandatory rules take red capacity after the fact.
                minimum = RANK["yellow"]
            rank = max(
                minimum, RANK["yellow"] if scored.score[n] >= self.policy.yellow_score else 0
            )
            if rank <= RANK.get(row["lane"], 0):
                continue
            lane = next(name for name, r in RANK.items() if r == rank)
            note = f"lane raised from {row['lane']} to {lane}: {why}"
            entry = Entry(
                int(row["id"]), str(row["filer_id"]), str(row["ref"]), 0.0, "", 0.0, ("", ""),
                features[n], lane, float(scored.score[n]),
                "rule" if minimum >= rank else "score", scored.fired[n],
                (*scored.reasons[n], note),
            )  # fmt: skip
            out[entry.row_id] = (
                self._row(entry, rules_version, model, when),
                self._event("risk.raised", entry, when, note),
            )
        return out

    def _answers(
        self, staged: Staged, plan: Plan, decisions: list[dict[str, Any]]
    ) -> list[Decided]:
        by_source = {source: n for n, source in enumerate(plan.sources)}
        out = []
        for index, house in enumerate(staged.batch.houses):
            n = by_source.get(index)
            office = str(house.columns.get("arrival_office") or "")
            if n is None:
                out.append(Decided(house.filer_id, house.ref, "duplicate", office=office))
                continue
            row = plan.houses[n]
            if self.stages.risk is None:
                out.append(
                    Decided(
                        house.filer_id, house.ref, plan.status[index], row["version"], office=office
                    )
                )
                continue
            d = decisions[n]
            out.append(
                Decided(
                    house.filer_id,
                    house.ref,
                    plan.status[index],
                    row["version"],
                    d["lane"],
                    d["score"],
                    d["selected_by"],
                    tuple(d["reasons"]),
                    office,
                )
            )
        return out

    def _frame(self, staged: Staged, sources: list[int]) -> dict[str, npt.NDArray[Any]]:
        if staged.frame is None:
            return {}
        index = np.array(sources, dtype=np.intp)
        return {name: np.array(column[index]) for name, column in staged.frame.items()}

    def _decide(
        self, plan: Plan, staged: Staged, received_at: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[Event, int | None]]]:
        if self.stages.risk is None or not plan.houses:
            return [], [], []
        state = self.state
        houses = staged.batch.houses
        frame = self._frame(staged, plan.sources)
        entries: list[Entry] = []
        for n, (row, source) in enumerate(zip(plan.houses, plan.sources, strict=True)):
            house = houses[source]
            entry = Entry(
                row["id"],
                house.filer_id,
                house.ref,
                window_time(house.columns.get("filed_at"), received_at),
                str(house.columns.get("arrival_office") or ""),
                float(house.columns.get("total_value") or 0.0),
                party_keys(house.columns),
                {},
                "green",
                0.0,
                "",
                (),
                (),
            )
            state.add(entry)
            for name, value in state.window_features(entry).items():
                frame[name][n] = value
            seller = str(house.columns.get("seller_name") or "")
            keys = [item_keys(item, seller) for item in house.items]
            measured = [item_measures(item) for item in house.items]
            measures = np.array(measured).reshape(-1, 2)
            z = state.reference(entry.day).zscores(keys, measures)
            for column, name in enumerate(("value_z", "unit_value_z")):
                finite = z[:, column][np.isfinite(z[:, column])]
                frame[name][n] = float(finite.min()) if len(finite) else 0.0
            # The keys and measures just computed: what add_items would compute again.
            state.add_measured(entry.day, keys, measured)
            previous = plan.previous.get(entry.row_id)
            if previous is not None:
                before = float(previous["features"].get("description_changes", 0.0))
                changed = previous["descriptions"] != [i["description"] for i in house.items]
                frame["description_changes"][n] = before + changed
            entries.append(entry)
        scored = self._score(frame, [e.filer_id for e in entries])
        benefits = self._benefits()
        rules_version, model_name = self._versions()
        decided_at = datetime.now(UTC)
        columns = _plain_columns(frame)
        decisions: list[dict[str, Any]] = []
        events: list[tuple[Event, int | None]] = []
        for n, entry in enumerate(entries):
            day = state.office_day(entry.office, entry.day)
            lane, selected, extra = choose_lane(
                day,
                self.policy,
                score=float(scored.score[n]),
                minimum=int(scored.minimum[n]),
                black=bool(scored.black[n]),
                draw=exploration_draw(self.policy.key, entry.filer_id, entry.ref),
                mandatory=bool(scored.mandatory[n]) if scored.mandatory is not None else False,
                random_factor=benefits.get(entry.filer_id, (0.0, 1.0))[1],
            )
            reasons = scored.reasons[n] + ((extra,) if extra else ())
            previous = plan.previous.get(entry.row_id)
            if (
                previous is not None
                and previous["selected_by"] in ("officer", "rule")
                and RANK.get(previous["lane"], 0) > RANK[lane]
            ):
                who = "an officer" if previous["selected_by"] == "officer" else "a mandatory rule"
                reasons = (
                    *reasons,
                    f"lane kept at {previous['lane']} from the previous version, set by {who}: "
                    "an amendment never lowers it",
                )
                if previous["lane"] in ("red", "black") and lane not in ("red", "black"):
                    day.red += 1
                lane, selected = previous["lane"], previous["selected_by"]
            entry.lane, entry.selected_by = lane, selected
            entry.score, entry.fired, entry.reasons = (
                float(scored.score[n]),
                scored.fired[n],
                reasons,
            )
            entry.features = {name: values[n] for name, values in columns.items()}
            decisions.append(self._row(entry, rules_version, model_name, decided_at))
            events.append((self._event("risk.decided", entry, decided_at), entry.row_id))
        raises = self._raise(entries, rules_version, model_name, decided_at, events)
        return decisions, raises, events

    def _row(
        self, entry: Entry, rules_version: int, model: str, decided_at: datetime
    ) -> dict[str, Any]:
        return {
            "declaration_id": entry.row_id,
            "score": entry.score,
            "lane": entry.lane,
            "selected_by": entry.selected_by,
            "rules": entry.fired,
            "reasons": entry.reasons,
            "rules_version": rules_version,
            "model": model,
            "decided_at": decided_at,
            "features": entry.features,
        }

    def _event(self, kind: str, entry: Entry, when: datetime, note: str = "") -> Event:
        suffix = f":{entry.lane}" if kind == "risk.raised" else ""
        fields: dict[str, Any] = {
            "lane": entry.lane,
            "score": round(entry.score, 4),
            "selected_by": entry.selected_by,
            "reasons": list(entry.reasons),
        }
        if note:
            fields["why"] = note
        return Event(
            event_id=f"{kind}:{entry.row_id}{suffix}",
            type=kind,
            time=when.isoformat(),
            actors=("clearway",),
            subject=f"{entry.filer_id}/{entry.ref}",
            fields=fields,
        )

    def _raise(
        self,
        entries: list[Entry],
        rules_version: int,
        model: str,
        when: datetime,
        events: list[tuple[Event, int | None]],
    ) -> list[dict[str, Any]]:
        """Raise the lanes of earlier related declarations (the tick's own
        included) that the tick's filings change, by rule: later filings
        never take red capacity from the day they land in."""
        affected: dict[int, Entry] = {}
        for entry in entries:
            for other in self.state.related(entry):
                # Windows only feed rules that ask for documents (red after
                # the fact is for mandatory rules, whose features are the
                # filing's own): only a green lane can rise.
                if other.alive and other.lane == "green" and not other.final:
                    affected[other.row_id] = other
        if not affected:
            return []
        rows = sorted(affected.values(), key=lambda e: e.row_id)
        rows = [e for e in rows if e.features]
        if not rows:
            return []
        names = list(rows[0].features)
        features = [e.features for e in rows]
        # dict.get mapped in C over the rows: what a comprehension of
        # e.features.get(name) gives, for thousands of related rows a tick.
        frame = {name: np.array(list(map(dict.get, features, repeat(name)))) for name in names}
        for n, entry in enumerate(rows):
            for name, value in self.state.window_features(entry).items():
                if name in frame:
                    frame[name][n] = value
        scored = self._score(frame, [e.filer_id for e in rows])
        raises = []
        for n, entry in enumerate(rows):
            minimum = min(int(scored.minimum[n]), RANK["red"])
            if minimum >= RANK["red"] and not (
                scored.mandatory is not None and scored.mandatory[n]
            ):
                # Only mandatory rules take red capacity after the fact.
                minimum = RANK["yellow"]
            rank = max(
                minimum, RANK["yellow"] if scored.score[n] >= self.policy.yellow_score else 0
            )
            if rank <= RANK[entry.lane]:
                continue
            old = entry.lane
            entry.lane = next(lane for lane, r in RANK.items() if r == rank)
            if rank >= RANK["red"]:
                self.state.office_day(entry.office, entry.day).red += 1
            entry.selected_by = "rule" if minimum >= rank else "score"
            entry.score, entry.fired = float(scored.score[n]), scored.fired[n]
            why = (
                f"lane raised from {old} to {entry.lane}: later filings to the same consignee "
                "change what this one is part of"
            )
            entry.reasons = (*scored.reasons[n], why)
            entry.features = {name: _plain(column[n]) for name, column in frame.items()}
            raises.append(self._row(entry, rules_version, model, when))
            events.append((self._event("risk.raised", entry, when, why), entry.row_id))
        return raises

    def _rules(self) -> RuleSet:
        risk = self.stages.risk
        return rules_for(risk.rules_file if risk else None)

    def _model(self) -> RiskModel | None:
        risk = self.stages.risk
        return declaration_model_for(risk.model_file if risk else None)

    def _benefits(self) -> dict[str, tuple[float, float]]:
        risk = self.stages.risk
        if risk is None:
            return {}
        return {f: (d, r) for f, d, r in risk.operator_benefits}

    def _versions(self) -> tuple[int, str]:
        model = self._model()
        return self._rules().version, model.trained_at_ if model else ""

    def _score(self, frame: Mapping[str, npt.NDArray[Any]], filers: list[str]) -> Any:
        rules, model = self._rules(), self._model()
        scores = reasons = None
        if model is not None:
            scores, reasons = model.predict_and_explain(frame)
        benefits = self._benefits()
        discount = np.array([benefits.get(f, (0.0, 1.0))[0] for f in filers], dtype=np.float64)
        as_of = self.as_of or datetime.now(UTC).date()
        return score_rows(
            frame, rules, as_of, model_scores=scores, model_reasons=reasons, discount=discount
        )
