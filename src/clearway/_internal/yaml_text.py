"""Reading YAML that users supply (rules, sharing policies, duty regimes):
every way the text can be unreadable becomes one clearway error naming the
source, never a stray exception."""

from __future__ import annotations

from typing import Any

import yaml

from clearway.errors import ClearwayError, InputError

__all__ = ["parse_yaml"]


def parse_yaml(text: str, source: str, error: type[ClearwayError] = InputError) -> Any:
    """``text`` parsed as YAML; ``error`` naming ``source`` when it cannot be."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{source}: cannot be read as YAML: {exc}") from None
    except ValueError as exc:
        # PyYAML builds dates and numbers itself: 2026-02-30 raises here.
        raise error(f"{source}: cannot be read as YAML: {exc}") from None
    except RecursionError:
        raise error(f"{source}: cannot be read as YAML: nested too deeply") from None
