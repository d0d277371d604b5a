"""A fast decoder for clean house declarations, derived from the pydantic model.

Most filings are valid. For those, ``msgspec`` decodes and checks a JSON line
about seven times faster than pydantic does; for anything it refuses, the
caller falls back to pydantic, which reports every problem with its field
path. Correctness rests on one rule, checked by a differential property
test (``tests/test_fastpath.py``): **whatever this decoder accepts, pydantic
accepts too, with the same canonical form**. The decoder is never the source
of an error message.

The msgspec types are not written by hand: :func:`_struct_for` walks the
pydantic model's fields, types and constraints, so the model stays the one
definition of a declaration. What msgspec cannot express (bounds on
decimals, the totals cross-check) is checked here by the same rules.

The decoded objects have the model's field names and value types, so the
rest of the pipeline reads them exactly like model instances; they are
typed as :class:`Declaration` at this boundary for that reason.
"""

from __future__ import annotations

import enum
import re
import types
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

import annotated_types as at
import msgspec
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from clearway.declarations.models import (
    NOT_A_BOOLEAN,
    NOT_A_NUMBER,
    Declaration,
    MasterFiling,
    totals_mismatch,
)

__all__ = ["canonical_json", "decode_house"]

_ENCODER = msgspec.json.Encoder(decimal_format="string")


class _Bounds(msgspec.Struct, frozen=True):
    """Decimal bounds of one field, which msgspec cannot check itself."""

    name: str
    gt: Decimal | None
    ge: Decimal | None
    le: Decimal | None


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_constraints(item.metadata))
        elif isinstance(item, at.MinLen):
            found["min_length"] = item.min_length
        elif isinstance(item, at.MaxLen):
            found["max_length"] = item.max_length
        elif isinstance(item, at.Gt):
            found["gt"] = item.gt
        elif isinstance(item, at.Ge):
            found["ge"] = item.ge
        elif isinstance(item, at.Le):
            found["le"] = item.le
        elif getattr(item, "pattern", None) is not None:
            # Python's "$" also matches before a final newline; pydantic's
            # (Rust) does not. "\Z" is the end of the string in both senses.
            found["pattern"] = re.sub(r"\$$", r"\\Z", item.pattern)
        elif type(item).__name__ == "_PydanticGeneralMetadata" or isinstance(item, at.Timezone):
            continue
        elif item is NOT_A_BOOLEAN or item is NOT_A_NUMBER:
            # msgspec is strict: it never reads a boolean as an int nor a
            # number as a datetime.
            continue
        else:
            raise TypeError(f"fast path cannot express constraint {item!r}")
    return found


def _is_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _msgspec_type(annotation: Any, metadata: list[Any]) -> tuple[Any, _Bounds | None]:
    """The msgspec type for a pydantic field type, and its decimal bounds."""
    inner, optional = _is_optional(annotation)
    if get_origin(inner) is Annotated:
        base, *extra = get_args(inner)
        return _msgspec_type(base | None if optional else base, [*extra, *metadata])
    constraints = _constraints(metadata)
    bounds = None
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        result: Any = _struct_for(inner)
    elif get_origin(inner) is list:
        (element,) = get_args(inner)
        element_type, _ = _msgspec_type(element, [])
        result = Annotated[list[element_type], msgspec.Meta(**constraints)]  # type: ignore[valid-type]
    elif inner is Decimal:
        result = Decimal
        bounds = _Bounds("", constraints.get("gt"), constraints.get("ge"), constraints.get("le"))
    elif inner is AwareDatetime:
        result = Annotated[datetime, msgspec.Meta(tz=True)]
    elif inner in (str, int) and constraints:
        result = Annotated[inner, msgspec.Meta(**constraints)]
    elif (
        inner in (str, int, bool)
        or get_origin(inner) is Literal
        or (isinstance(inner, type) and issubclass(inner, enum.Enum))
    ):
        result = inner
    else:
        raise TypeError(f"fast path has no mapping for {inner!r}")
    return (result | None if optional else result), bounds


def _has_struct(mtype: Any) -> bool:
    """True when a field's values are (lists of) nested structs."""
    return any(
        (isinstance(t, type) and issubclass(t, msgspec.Struct)) or _has_struct(t)
        for t in get_args(mtype)
    ) or (isinstance(mtype, type) and issubclass(mtype, msgspec.Struct))


@cache
def _struct_for(model: type[BaseModel]) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any, Any]] = []
    bounds: list[_Bounds] = []
    nested: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if name == "kind" and not field.is_required():
            annotation = Literal["house"]
        mtype, bound = _msgspec_type(annotation, list(field.metadata))
        if bound is not None:
            bounds.append(_Bounds(name, bound.gt, bound.ge, bound.le))
        if _has_struct(mtype):
            nested.append(name)
        if field.is_required():
            fields.append((name, mtype, msgspec.NODEFAULT))
        else:
            fields.append((name, mtype, field.default))
    struct = msgspec.defstruct(
        model.__name__,
        fields,
        kw_only=True,
        forbid_unknown_fields=True,
        omit_defaults=True,
        module=__name__,
    )
    _CHECKS[struct] = (tuple(bounds), tuple(nested))
    return struct


# Per derived struct: its decimal bounds and its fields holding nested structs.
_CHECKS: dict[type[msgspec.Struct], tuple[tuple[_Bounds, ...], tuple[str, ...]]] = {}


def _in_bounds(obj: msgspec.Struct) -> bool:
    bounds, nested = _CHECKS[type(obj)]
    for bound in bounds:
        value = getattr(obj, bound.name)
        if value is None:
            continue
        if not value.is_finite():
            return False
        if bound.gt is not None and not value > bound.gt:
            return False
        if bound.ge is not None and not value >= bound.ge:
            return False
        if bound.le is not None and not value <= bound.le:
            return False
    for name in nested:
        value = getattr(obj, name)
        if value is None:
            continue
        for child in value if isinstance(value, list) else (value,):
            if not _in_bounds(child):
                return False
    return True


@cache
def _decoder() -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_struct_for(Declaration))


def decode_house(raw: bytes | str) -> Declaration | None:
    """The declaration in ``raw`` if it is a clean house filing, else None.

    None means "not decided here": the caller validates with pydantic.
    """
    # JSON carries a NUL only escaped: one byte search keeps such text
    # (refused, PostgreSQL cannot store it) off the fast path.
    if (isinstance(raw, bytes) and b"\\u0000" in raw) or (
        isinstance(raw, str) and "\\u0000" in raw
    ):
        return None
    try:
        decoded = _decoder().decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    except UnicodeDecodeError:
        # msgspec checks UTF-8 inside strings this way; the slow path
        # rejects the record with a message naming the problem.
        return None
    if not _in_bounds(decoded):
        return None
    decl = cast(Declaration, decoded)
    if totals_mismatch(decl.items, decl.totals) is not None:
        return None
    return decl


def canonical_json(filing: Declaration | MasterFiling) -> str:
    """The canonical JSON of a filing, whichever decoder produced it.

    It defines "identical content" for idempotency: field order of the model,
    absent and default fields left out, decimals as strings.
    """
    decoded: object = filing
    if isinstance(filing, BaseModel):
        decoded = msgspec.convert(filing, _struct_for(type(filing)), from_attributes=True)
    return _ENCODER.encode(decoded).decode()
