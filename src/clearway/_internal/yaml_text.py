"""Reading YAML that users supply (rules, sharing policies, duty regimes):
every way the text can be unreadable becomes one clearway error naming the
source, never a stray exception.

YAML aliases let a few hundred bytes stand for billions of values ("billion
laughs"): whatever then walks the document (validation, the rules) works
for minutes. So the text is limited in size, in nesting depth and in
aliases, and the document's size *with every alias expanded* is counted
from the composed node graph (each shared node once) before anything is
built from it.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from clearway.errors import ClearwayError, InputError

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_NODES", "MAX_YAML_BYTES", "parse_yaml"]

MAX_YAML_BYTES = 1_048_576
MAX_DEPTH = 64
MAX_ALIASES = 100
# Values in the document as a reader sees it, aliases expanded: the
# built-in duty regimes have about a thousand.
MAX_NODES = 100_000


class _TooBig(Exception):
    """The text goes past one of the limits; the message says which."""


class _Loader(yaml.SafeLoader):
    """The safe loader, counting depth and aliases as it composes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _TooBig(f"more than {MAX_ALIASES} aliases (*name)")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(root: Node) -> int:
    """Values in the document under ``root`` with aliases expanded, counted
    over the node graph with each shared node sized once; :class:`_TooBig`
    for a node that contains itself."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in busy:
            raise _TooBig("an alias refers to a value that contains it")
        busy.add(id(node))
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        busy.discard(id(node))
        # Capped so that sums stay small numbers whatever the nesting.
        sizes[id(node)] = min(total, MAX_NODES + 1)
        return sizes[id(node)]

    return size(root)


def parse_yaml(
    text: str,
    source: str,
    error: type[ClearwayError] = InputError,
    *,
    max_bytes: int = MAX_YAML_BYTES,
) -> Any:
    """``text`` parsed as YAML; ``error`` naming ``source`` when it cannot be,
    or when it is longer than ``max_bytes``, deeper than :data:`MAX_DEPTH`,
    has more than :data:`MAX_ALIASES` aliases or more than
    :data:`MAX_NODES` values once its aliases are expanded."""
    prefix = f"{source}: cannot be read as YAML"
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise error(f"{prefix}: {size} bytes, at most {max_bytes}")
    loader: _Loader | None = None
    try:
        # The reader checks every character as the loader is made.
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_NODES:
            raise _TooBig(f"more than {MAX_NODES} values once its aliases are expanded")
        return loader.construct_document(node)
    except _TooBig as exc:
        raise error(f"{prefix}: {exc}") from None
    except yaml.YAMLError as exc:
        raise error(f"{prefix}: {exc}") from None
    except ValueError as exc:
        # PyYAML builds dates and numbers itself: 2026-02-30 raises here.
        raise error(f"{prefix}: {exc}") from None
    except RecursionError:
        raise error(f"{prefix}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
