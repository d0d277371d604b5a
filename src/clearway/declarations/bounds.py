"""Rules over a validated filing that its types cannot say: times within a
plausible window around receipt, identifiers that can be read back in a
URL path, and no NUL character anywhere (PostgreSQL text cannot hold one).

Both decoders (pydantic and the msgspec fast path) produce the same
objects, so these checks run once, after either, and the two paths agree
by construction. Each is one pass over a few fields: they sit on intake's
hot path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from clearway.declarations.models import Declaration, MasterFiling
from clearway.errors import ErrorDetail, format_value

__all__ = ["INTAKE_WINDOW", "TimeWindow", "identifier_problems", "nul_problems", "time_problems"]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """How far from its receipt a filing's times may lie.

    ``max_past`` bounds every time into the past; ``max_future`` bounds the
    filing time into the future (clock skew of the filer's system);
    ``arrival_max_future`` bounds the expected arrival (a voyage filed
    before departure). Settings: ``filed_at_max_past_days``,
    ``filed_at_max_future_minutes``, ``expected_arrival_max_future_days``.
    """

    max_past: timedelta = timedelta(days=1825)
    max_future: timedelta = timedelta(minutes=1440)
    arrival_max_future: timedelta = timedelta(days=180)


# The window of the settings' defaults.
INTAKE_WINDOW = TimeWindow()


def _days(span: timedelta) -> str:
    if span % timedelta(days=1):
        return f"{span.total_seconds() / 3600:g} hours"
    return "1 day" if span.days == 1 else f"{span.days} days"


def _times(filing: Declaration | MasterFiling) -> Iterator[tuple[str, datetime | None, bool]]:
    """(field, time, is an arrival) for every time a filing carries."""
    yield "filed_at", filing.filed_at, False
    if isinstance(filing, MasterFiling):
        yield "expected_arrival", filing.expected_arrival, True
    else:
        yield "transport.expected_arrival", filing.transport.expected_arrival, True


def time_problems(
    filing: Declaration | MasterFiling, window: TimeWindow, received: datetime
) -> list[ErrorDetail]:
    """Every time of ``filing`` outside ``window`` around ``received``."""
    problems: list[ErrorDetail] = []
    earliest = received - window.max_past
    for field, moment, arrival in _times(filing):
        if moment is None:
            continue
        ahead = window.arrival_max_future if arrival else window.max_future
        # Aware datetimes compare across offsets without converting, so a
        # year-1 or year-9999 value cannot overflow here.
        if earliest <= moment <= received + ahead:
            continue
        setting = "expected_arrival_max_future_days" if arrival else "filed_at_max_future_minutes"
        problems.append(
            ErrorDetail(
                field,
                "time_out_of_window",
                f"must be at most {_days(window.max_past)} before and {_days(ahead)} after "
                f"receipt (settings filed_at_max_past_days, {setting}). "
                f"Got {format_value(moment.isoformat())}.",
            )
        )
    return problems


def _identifiers(filing: Declaration | MasterFiling) -> Iterator[tuple[str, str | None]]:
    yield "filer.id", filing.filer.id
    if isinstance(filing, MasterFiling):
        yield "master_ref", filing.master_ref
        for n, ref in enumerate(filing.house_refs):
            yield f"house_refs[{n}]", ref
        return
    yield "declaration_id", filing.declaration_id
    yield "transport.tracking_number", filing.transport.tracking_number
    yield "transport.master_ref", filing.transport.master_ref
    yield "seller.marketplace_seller_id", filing.seller.marketplace_seller_id
    yield "consignee.id", filing.consignee.id
    if filing.marketplace is not None:
        yield "marketplace.id", filing.marketplace.id


def identifier_problems(filing: Declaration | MasterFiling) -> list[ErrorDetail]:
    """Every identifier of ``filing`` holding a '/': identifiers are read
    back as one URL path segment, which a '/' would split."""
    return [
        ErrorDetail(
            field,
            "identifier_slash",
            f"must not contain '/' (identifiers are one segment of a URL path). "
            f"Got {format_value(value)}.",
        )
        for field, value in _identifiers(filing)
        if value is not None and "/" in value
    ]


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                yield where, key
            else:
                yield from _walk(child, where)
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from _walk(child, f"{path}[{n}]")


def nul_problems(raw: bytes | str | dict[str, Any]) -> list[ErrorDetail]:
    """Every field of a raw record whose name or text holds a NUL character.

    JSON can only carry one escaped, so text without ``\\u0000`` is clean
    (one byte search); only a record that has it is parsed and walked."""
    if isinstance(raw, bytes | str):
        needle: Any = b"\\u0000" if isinstance(raw, bytes) else "\\u0000"
        if needle not in raw:
            return []
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return []  # the decoder reports it
    return [
        ErrorDetail(
            path.replace("\x00", "\\x00"),
            "nul_character",
            f"must not contain the NUL character (\\u0000). Got {format_value(value)}.",
        )
        for path, value in _walk(raw, "")
    ]
