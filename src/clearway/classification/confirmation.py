"""An officer's word on an item line's HS code: the rules a confirmation
must meet before it is stored, and the text the classifier learns from it.

``confirm`` and ``inspection`` keep the declared code (an inspection found
it correct); ``correct`` replaces it with another code of HS 2022 (6 to 10
digits, national digits kept). Each confirmation becomes a precedent: the
item's listing text (description, category path, material, brand) with
the confirmed code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clearway.classification.listing import listing_text
from clearway.classification.model import normalise_code
from clearway.errors import ErrorDetail, ValidationFailed, format_value

__all__ = ["CONFIRM_ACTIONS", "TEXT_LIMIT", "Confirmation", "check_confirmation"]

CONFIRM_ACTIONS = ("confirm", "correct", "inspection")
# The stored text is cut here (the column's width); descriptions are far shorter.
TEXT_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class Confirmation:
    item_line: int
    action: str
    declared_hs: str | None
    hs: str
    text: str


def _refuse(field: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[ErrorDetail(field, rule, message)])


def check_confirmation(
    ref: str,
    items: Sequence[dict[str, Any]],
    item_line: int,
    action: str,
    hs: str | None,
) -> Confirmation:
    """The confirmation of item ``item_line`` of declaration ``ref`` (its
    stored ``items``), or :class:`ValidationFailed` naming the field, the
    rule and the value received."""
    if action not in CONFIRM_ACTIONS:
        raise _refuse(
            "action",
            "confirm_action",
            f"action must be one of {', '.join(CONFIRM_ACTIONS)}. Got {format_value(action)}",
        )
    if not 0 <= item_line < len(items):
        raise _refuse(
            "item_line",
            "item_line_range",
            f"item_line must be an item line of declaration {ref!r} "
            f"(0 to {len(items) - 1}). Got {item_line}",
        )
    item = items[item_line]
    declared = str(item.get("hs_code") or "") or None
    code = (hs or "").strip().replace(".", "") or None
    if action == "correct" and code is None:
        raise _refuse("hs", "hs_required", "hs must be given to correct a code. Got None")
    if action != "correct":
        if declared is None:
            raise _refuse(
                "action",
                "nothing_declared",
                f"item {item_line} has no declared code to {action}; use correct. "
                f"Got {format_value(action)}",
            )
        if code is not None and code != declared:
            raise _refuse(
                "hs",
                "hs_is_declared",
                f"hs must be the declared code {declared!r} to {action}. Got {format_value(code)}",
            )
        code = declared
    assert code is not None
    if not (code.isdigit() and 6 <= len(code) <= 10) or normalise_code(code) is None:
        raise _refuse(
            "hs",
            "hs_code",
            f"hs must be an HS 2022 code of 6 to 10 digits. Got {format_value(code)}",
        )
    text = listing_text(
        str(item.get("description") or ""),
        item.get("category_path"),
        item.get("material"),
        item.get("brand"),
    )
    return Confirmation(item_line, action, declared, code, text[:TEXT_LIMIT])
