"""pydantic's validation errors in clearway's wording: field path, code, and
"must <rule>. Got <value>." (the house template, see STYLE.md #7)."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from clearway.errors import ErrorDetail, format_value

__all__ = ["error_details", "field_path"]

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must have at most {max_length} characters",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must have at least {min_length} element(s)",
    "too_long": "must have at most {max_length} elements",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("items", 2, "hs_code")`` as ``items[2].hs_code``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _detail(err: ErrorDetails, skip_tags: frozenset[str]) -> ErrorDetail:
    loc = err["loc"]
    # The first element of a tagged union's location is the tag.
    if loc and loc[0] in skip_tags:
        loc = loc[1:]
    code = err["type"]
    template = _MESSAGES.get(code)
    if template is not None:
        try:
            rule = template.format(**err.get("ctx", {}))
        except (KeyError, IndexError):
            rule = err["msg"]
    else:
        rule = err["msg"][0].lower() + err["msg"][1:] if err["msg"] else code
        rule = rule.removeprefix("value error, ")
    if code == "missing" or "Got " in rule:
        message = rule
    else:
        message = f"{rule}. Got {format_value(err.get('input'))}."
    return ErrorDetail(field=field_path(loc), code=code, message=message)


def error_details(
    exc: ValidationError, skip_tags: frozenset[str] = frozenset()
) -> list[ErrorDetail]:
    """Every problem of ``exc`` as an :class:`ErrorDetail`."""
    return [_detail(e, skip_tags) for e in exc.errors(include_url=False)]
