"""The layers, read from the source: which module may import which.

Every module under ``src/clearway`` is parsed with :mod:`ast`; each
``import clearway.x`` and ``from clearway.x import y`` (at the top, inside
functions, under ``TYPE_CHECKING``) becomes an edge to the module it names:
``clearway.x.y`` when that is a module, else ``clearway.x``. Importing a
submodule is an edge to it, not to its package's ``__init__``: a package
that imports its submodules is not in a cycle with them.

The rules (docs/architecture.md):

- the core never imports the store;
- the store never imports history or the simulator (they read the store);
- nothing in the core or the store imports an edge (CLI, API, workspace);
- no cycle between modules, counting imports made inside functions (they
  run as soon as the function does) but not those made only for type
  checking (they never run).

Each test lists every violation with its file and line, not the first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

CORE = (
    "clearway.declarations",
    "clearway.reference",
    "clearway.classification",
    "clearway.parties",
    "clearway.duty",
    "clearway.risk",
    "clearway.accounts",
    "clearway.ledger",
    "clearway.federation",
    "clearway.analytics",
    "clearway.history",
    "clearway.clearance",
    "clearway.simulate",
    "clearway._internal",
    "clearway.errors",
    "clearway.settings",
    "clearway.hookspecs",
    "clearway.plugins",
)
STORE = ("clearway.store",)
EDGES = ("clearway.cli", "clearway.api", "clearway.web")
NOT_FROM_STORE = ("clearway.history", "clearway.simulate")


@dataclass(frozen=True, slots=True)
class Import:
    source: str
    target: str
    path: Path
    line: int
    typing_only: bool

    def __str__(self) -> str:
        where = self.path.relative_to(SRC.parent)
        kind = " (TYPE_CHECKING)" if self.typing_only else ""
        return f"{where}:{self.line}: {self.source} imports {self.target}{kind}"


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_name(path): path for path in sorted(SRC.joinpath("clearway").rglob("*.py"))}


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _resolve(name: str) -> str | None:
    """The module ``name`` is, or the nearest package above it that exists."""
    while name and name not in _modules():
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, typing_only: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement below ``node``, and whether it only runs for
    type checkers (under ``if TYPE_CHECKING:``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, typing_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), typing_only)
        else:
            yield from _walk(child, typing_only)


def _targets(module: str, path: Path, node: ast.stmt) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        # `from clearway.cli import filings` names the submodule when there is one.
        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in _modules() else base


@cache
def imports() -> tuple[Import, ...]:
    found = []
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, typing_only in _walk(tree):
            for name in _targets(module, path, node):
                if not within(name, ("clearway",)):
                    continue
                target = _resolve(name)
                if target is not None and target != module:
                    found.append(Import(module, target, path, node.lineno, typing_only))
    # `from x import a, b` names x once per name: one edge per line is enough.
    return tuple(dict.fromkeys(found))


def _report(problems: list[Import], rule: str) -> str:
    return f"{len(problems)} import(s) break the rule that {rule}:\n" + "\n".join(
        f"  {p}" for p in problems
    )


def test_the_graph_is_read() -> None:
    # A guard against a test that passes because it read nothing.
    edges = {(i.source, i.target) for i in imports()}
    assert ("clearway.wiring", "clearway.store.clearance") in edges
    assert ("clearway.cli", "clearway.cli.filings") in edges


def test_the_core_does_not_import_the_store() -> None:
    problems = [i for i in imports() if within(i.source, CORE) and within(i.target, STORE)]
    if problems:
        pytest.fail(_report(problems, "the core never imports clearway.store"), pytrace=False)


def test_the_store_does_not_import_history_or_the_simulator() -> None:
    problems = [
        i for i in imports() if within(i.source, STORE) and within(i.target, NOT_FROM_STORE)
    ]
    if problems:
        rule = "clearway.store never imports clearway.history or clearway.simulate"
        pytest.fail(_report(problems, rule), pytrace=False)


def test_only_edges_import_edges() -> None:
    problems = [i for i in imports() if within(i.source, CORE + STORE) and within(i.target, EDGES)]
    if problems:
        pytest.fail(_report(problems, "the core and the store never import an edge"), pytrace=False)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    runtime = [i for i in imports() if not i.typing_only]
    edges: dict[str, set[str]] = {}
    for i in runtime:
        edges.setdefault(i.source, set()).add(i.target)
    cycles = _cycles(edges)
    lines = []
    for component in cycles:
        members = set(component)
        lines.append(f"cycle between {', '.join(component)}:")
        lines += [f"  {i}" for i in runtime if i.source in members and i.target in members]
    if cycles:
        pytest.fail(f"{len(cycles)} import cycle(s):\n" + "\n".join(lines), pytrace=False)


@pytest.mark.parametrize("module", sorted(set(CORE + STORE + EDGES + NOT_FROM_STORE)))
def test_every_layer_named_exists(module: str) -> None:
    # A misspelt name would make its rule pass without checking anything.
    assert module in _modules()
