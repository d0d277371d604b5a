"""Daily counts per dimension, computed from a written batch: what the
trends read instead of scanning declarations (a window of a million
filings is a few thousand rows here).

Each declaration counts once, on its filing day (UTC), with what its first
version said and the lane decided at intake; amendments do not count again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = ["MEASURES", "Cell", "add_outcomes", "day_cells", "day_of"]

MEASURES = ("declarations", "value", "duty", "vat", "total", "due_at_sale", "shortfall", "score",
            "red")  # fmt: skip
# (day, dimension, key) -> measure -> amount
Cell = tuple[str, str, str]


def day_of(moment: Any) -> str | None:
    if isinstance(moment, datetime):
        return moment.date().isoformat()
    if isinstance(moment, str) and len(moment) >= 10:
        return moment[:10]
    return None


def day_cells(
    houses: Sequence[Mapping[str, Any]],
    chapters: Mapping[int, Sequence[str]],
    decisions: Mapping[int, Mapping[str, Any]],
    duty: Mapping[int, Mapping[str, Any]],
    carriers: Mapping[int, str | None],
    consignees: Mapping[int, str],
) -> dict[Cell, dict[str, float]]:
    """The counts a batch of first versions adds, by (day, dimension, key).

    ``chapters``: HS chapters of each declaration's items; ``decisions``:
    its lane and score; ``duty``: its assessment; ``carriers``: its carrier;
    ``consignees``: its consignee entity as a key."""
    cells: dict[Cell, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0.0))
    for house in houses:
        day = day_of(house.get("filed_at")) or day_of(house.get("received_at"))
        if day is None or house.get("version", 1) != 1:
            continue
        row_id = int(house["id"])
        value = float(house.get("total_value") or 0.0)
        decision = decisions.get(row_id)
        score = float(decision["score"]) if decision else 0.0
        red = 1.0 if decision and decision["lane"] in ("red", "black") else 0.0
        keys = {
            "origin": house.get("departure_country"),
            "marketplace": house.get("marketplace_name") or house.get("filer_id"),
            "carrier": carriers.get(row_id),
            "route": f"{house.get('departure_country')} > {house.get('destination_country')}",
            "seller": house.get("seller_name"),
            "lane": decision["lane"] if decision else None,
            "consignee": consignees.get(row_id),
        }
        for dimension, key in keys.items():
            if not key:
                continue
            cell = cells[(day, dimension, str(key)[:512])]
            cell["declarations"] += 1
            cell["value"] += value
            cell["score"] += score
            cell["red"] += red
        for chapter in chapters.get(row_id, ()):
            cells[(day, "chapter", chapter or "unknown")]["declarations"] += 1
        assessment = duty.get(row_id)
        if assessment and assessment.get("currency"):
            cell = cells[(day, "duty", str(assessment["currency"]))]
            cell["declarations"] += 1
            for measure in ("value", "duty", "vat", "total", "due_at_sale", "shortfall"):
                cell[measure] += float(assessment.get(measure) or 0.0)
    return dict(cells)


def add_outcomes(
    changes: Iterable[tuple[str, Sequence[str], str, str | None, str]],
) -> dict[Cell, dict[str, float]]:
    """Hit-rate counts from recorded outcomes: (filing day, rules fired,
    selected by, previous outcome or None, new outcome). An inspection counts
    once; a replaced outcome moves its hit, not its inspection."""
    cells: dict[Cell, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0.0))
    for day, fired, selected_by, before, after in changes:
        selectors = [f"rule {rule}" for rule in fired]
        if selected_by in ("score", "exploration"):
            selectors.append("model score" if selected_by == "score" else "random selection")
        hit = (after != "cleared") - (before is not None and before != "cleared")
        for selector in selectors:
            cell = cells[(day, "hits", selector)]
            cell["declarations"] += 0 if before is not None else 1
            cell["red"] += hit
    return dict(cells)
