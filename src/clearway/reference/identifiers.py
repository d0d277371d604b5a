"""Product and party identifiers, checked with ``python-stdnum``."""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import ean
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

__all__ = ["gtin_problem", "is_sha256_hex"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


# Parcels from one catalogue repeat the same GTINs all day; the check digit
# computation is ~10 us, a cache hit ~0.1 us.
@lru_cache(maxsize=131_072)
def gtin_problem(value: str) -> str | None:
    """Why ``value`` is not a GTIN-8/12/13/14, or None when it is one."""
    try:
        ean.validate(value)
    except InvalidChecksum:
        return "has a wrong check digit"
    except InvalidLength:
        return "must have 8, 12, 13 or 14 digits"
    except InvalidFormat:
        return "must contain digits only"
    except ValidationError:
        return "is not a valid GTIN"
    if len(value) not in (8, 12, 13, 14):
        return "must have 8, 12, 13 or 14 digits"
    return None


def is_sha256_hex(value: str) -> bool:
    """True for a lower-case hex SHA-256 digest (how contact details are shared)."""
    return _SHA256.fullmatch(value) is not None
