"""The sequencer's state: what it needs of history to decide the next
filing, kept in memory and rebuilt from the store when another process
wrote (or at start).

- windows: recent decided declarations by consignee and by seller and
  consignee (both sides of the filing time), to count parcels and value;
- value references per day, fitted on the items of the days before;
- each office's days: filings, red lanes, scores, the threshold and
  capacity its day decides under.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from clearway.risk.references import LayeredReference, item_keys, item_measures
from clearway.risk.streaming import OfficeDay, StreamPolicy, learn_day

__all__ = ["DAY", "Entry", "RiskState", "party_keys", "window_time"]

DAY = 86_400.0


def _norm(text: Any) -> str:
    return " ".join(str(text or "").lower().split())


def party_keys(columns: Mapping[str, Any]) -> tuple[str, str]:
    """The consignee's key, and the seller and consignee pair's."""
    consignee = f"{_norm(columns.get('consignee_name'))}|{columns.get('consignee_country') or ''}"
    return consignee, f"{consignee}|{_norm(columns.get('seller_name'))}"


def window_time(filed_at: datetime | None, received_at: datetime) -> float:
    """When a filing counts in the windows: its filing time, else receipt."""
    moment = filed_at or received_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(slots=True)
class Entry:
    """A decided declaration in the state."""

    row_id: int
    filer_id: str
    ref: str
    time: float
    office: str
    value: float
    keys: tuple[str, str]
    features: dict[str, Any]
    lane: str
    score: float
    selected_by: str
    fired: tuple[str, ...]
    reasons: tuple[str, ...]
    alive: bool = True

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.time, UTC).date()

    @property
    def final(self) -> bool:
        # An officer's decision (release included) is never raised by the
        # sequencer: the lane is final at release.
        return self.selected_by == "officer"


@dataclass
class RiskState:
    """All of the sequencer's state; ``horizon`` bounds what is kept."""

    policy: StreamPolicy
    horizon: timedelta = timedelta(days=8)
    windows: dict[str, list[Entry]] = field(default_factory=dict)
    current: dict[tuple[str, str], Entry] = field(default_factory=dict)
    rows: dict[int, Entry] = field(default_factory=dict)
    days: dict[tuple[str, date], OfficeDay] = field(default_factory=dict)
    items: dict[date, list[tuple[tuple[str, str, str], tuple[float, float]]]] = field(
        default_factory=dict
    )
    references: dict[date, LayeredReference] = field(default_factory=dict)
    latest: float = float("-inf")

    # -- windows --------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Put a newly decided declaration in the windows; its earlier
        version (an amendment) leaves them."""
        before = self.current.get((entry.filer_id, entry.ref))
        if before is not None:
            before.alive = False
            for key in before.keys:
                bucket = self.windows.get(key)
                if bucket is not None and before in bucket:
                    bucket.remove(before)
            self.rows.pop(before.row_id, None)
        self.current[(entry.filer_id, entry.ref)] = entry
        self.rows[entry.row_id] = entry
        for key in entry.keys:
            self.windows.setdefault(key, []).append(entry)
        self.latest = max(self.latest, entry.time)

    def around(self, key: str, time: float, span: float) -> list[Entry]:
        return [e for e in self.windows.get(key, ()) if abs(e.time - time) <= span]

    def window_features(self, entry: Entry) -> dict[str, float]:
        """The window features of ``entry`` over what the state holds now
        (itself included)."""
        consignee, pair = entry.keys
        near = self.around(consignee, entry.time, 3 * DAY)
        same_day = [e for e in near if abs(e.time - entry.time) <= DAY]
        pairs = self.around(pair, entry.time, DAY)
        return {
            "consignee_parcels_24h": float(len(same_day)),
            "consignee_parcels_72h": float(len(near)),
            "consignee_value_72h": float(sum(e.value for e in near)),
            "consignee_seller_parcels_24h": float(len(pairs)),
            "consignee_seller_value_24h": float(sum(e.value for e in pairs)),
        }

    def related(self, entry: Entry) -> list[Entry]:
        """Other live entries whose window features ``entry`` changes."""
        consignee, pair = entry.keys
        found = {id(e): e for e in self.around(consignee, entry.time, 3 * DAY)}
        found.update((id(e), e) for e in self.around(pair, entry.time, DAY))
        found.pop(id(entry), None)
        return list(found.values())

    # -- value references ----------------------------------------------------

    def add_items(self, day: date, seller: str, items: Sequence[Mapping[str, Any]]) -> None:
        self.add_measured(
            day,
            [item_keys(dict(item), seller) for item in items],
            [item_measures(dict(item)) for item in items],
        )

    def add_measured(
        self,
        day: date,
        keys: Sequence[tuple[str, str, str]],
        measures: Sequence[tuple[float, float]],
    ) -> None:
        """Items of ``day`` whose keys and measures are computed already."""
        self.items.setdefault(day, []).extend(zip(keys, measures, strict=True))

    def reference(self, day: date) -> LayeredReference:
        """Fitted on the items of the days before ``day`` (a week), once."""
        found = self.references.get(day)
        if found is None:
            rows = [
                row
                for offset in range(1, self.policy.history_days + 1)
                for row in self.items.get(day - timedelta(days=offset), ())
            ]
            keys = [k for k, _ in rows]
            measures = np.array([m for _, m in rows], dtype=np.float64).reshape(-1, 2)
            found = self.references[day] = LayeredReference().fit(keys, measures)
        return found

    # -- offices' days -------------------------------------------------------

    def office_day(self, office: str, day: date) -> OfficeDay:
        found = self.days.get((office, day))
        if found is None:
            first = day - timedelta(days=self.policy.history_days)
            recent = sorted((d, key) for key in self.days for d in (key[1],) if first <= d < day)
            history = [self.days[key] for _, key in recent if key[0] == office]
            pooled = [self.days[key] for _, key in recent]
            found = self.days[(office, day)] = learn_day(history, pooled, self.policy)
        return found

    def evict(self) -> None:
        """Forget what is older than the horizon before the newest filing."""
        oldest = self.latest - self.horizon.total_seconds()
        stale = [k for k, bucket in self.windows.items() if any(e.time < oldest for e in bucket)]
        for name in stale:
            kept = [e for e in self.windows[name] if e.time >= oldest]
            if kept:
                self.windows[name] = kept
            else:
                del self.windows[name]
        first = datetime.fromtimestamp(oldest, UTC).date() if oldest > 0 else date.min
        for day in [d for d in self.items if d < first]:
            del self.items[day]
        for day in [d for d in self.references if d < first]:
            del self.references[day]
        for office_day in [k for k in self.days if k[1] < first]:
            del self.days[office_day]
        for filing in [k for k, e in self.current.items() if e.time < oldest]:
            self.rows.pop(self.current.pop(filing).row_id, None)
