"""Imports point one way: no cycle among the project's modules, no import up a layer.

import-linter (``./scripts/test``) enforces the ``layers`` and ``forbidden`` contracts in
pyproject.toml. This test reads the sources itself so that nothing hides from it: imports at
any depth count, function-level ones included (a function-level import is the usual way to
dodge a cycle); only ``if TYPE_CHECKING:`` imports are left out, as they never run.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("node", "gossip", "cluster", "proxy")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> set[tuple[str, int]]:
    """(imported project module, line) for every import that can run."""
    is_package = path.name == "__init__.py"
    out: set[tuple[str, int]] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target:
                    out.add((target, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                up = here[: len(here) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                target = full if full in MODULES else _resolve(base)
                if target:
                    out.add((target, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    # A package importing its own submodules (re-exports) is not an edge of a cycle.
    return {(t, line) for t, line in out if t != name and not name.startswith(t + ".")}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    edges = {n: sorted({t for t, _ in targets}) for n, targets in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for root in sorted(edges):
        if root not in index:
            strong(root)
    return result


def test_no_import_cycle_among_project_modules():
    assert _cycles() == []


def _layer_contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return [c for c in contracts if c["type"] == "layers"]


def _layer_of(contract: dict) -> dict[str, tuple[int, int]]:
    """Module prefix -> (layer index from the top, sibling group id)."""
    containers = contract.get("containers") or [""]
    out: dict[str, tuple[int, int]] = {}
    for container in containers:
        for depth, layer in enumerate(contract["layers"]):
            independent = "|" in layer
            for k, member in enumerate(m.strip() for m in layer.replace(":", "|").split("|")):
                full = f"{container}.{member}" if container else member
                out[full] = (depth, k if independent else 0)
    return out


def _find_layer(module: str, layers: dict[str, tuple[int, int]]) -> tuple[str, int, int] | None:
    name = module
    while name:
        if name in layers:
            depth, group = layers[name]
            return name, depth, group
        name = name.rpartition(".")[0]
    return None


@pytest.mark.parametrize("contract", _layer_contracts(), ids=lambda c: c["name"])
def test_no_import_goes_up_a_layer_function_level_included(contract):
    layers = _layer_of(contract)
    upward = []
    for source, targets in GRAPH.items():
        here = _find_layer(source, layers)
        if here is None:
            continue
        for target, line in targets:
            there = _find_layer(target, layers)
            if there is None or there[0] == here[0]:
                continue
            if there[1] < here[1] or (there[1] == here[1] and there[2] != here[2]):
                upward.append(f"{source}:{line} imports {target}")
    assert upward == []


def test_every_module_sits_in_a_layer():
    """A new module is covered by default: it fails here until it is given its layer."""
    contracts = [_layer_of(c) for c in _layer_contracts()]
    containers = {c for contract in _layer_contracts() for c in contract.get("containers", [])}
    unplaced = [
        name
        for name in MODULES
        if name.split(".")[0] in ("node", "gossip", "cluster")
        and name not in containers
        and not any(_find_layer(name, layers) for layers in contracts)
    ]
    assert unplaced == []
