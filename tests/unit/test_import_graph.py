"""The import graph of src/muster: no cycle among run-time imports, and the Agent class named only by
the composition root."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "muster"

# The HTTP API sees the agent as api/parts.AgentParts; running it, as http/server.ServedAgent.
NAMES_AGENT = {
    "muster.agent",  # the package re-exports it
    "muster.agent.root",  # the composition root
}


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, runtime_only: bool) -> set[str]:
    """Modules imported at import time (top level, not under TYPE_CHECKING, not inside functions)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and not (runtime_only and _is_type_checking(node)):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try) or (not runtime_only and isinstance(node, _DEFINITIONS)):
                visit(node.body)

    visit(tree.body)
    return {name for name in found if name.startswith("muster")}


def _graph(runtime_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {
            imported
            for imported in _imports(ast.parse(path.read_text()), runtime_only)
            if imported in modules
        }
        - {name}
        for name, path in modules.items()
    }


def test_no_import_cycle_at_run_time() -> None:
    graph = _graph(runtime_only=True)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target, [*stack, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    # A package importing its own submodule (muster.agent -> muster.agent.root) is not a cycle.
    real = [cycle for cycle in cycles if not all(part.startswith(cycle[0]) for part in cycle)]
    assert [] == real


def test_only_the_listed_modules_name_the_agent_class() -> None:
    naming = set()
    for path in PACKAGE.rglob("*.py"):
        imported = _imports(ast.parse(path.read_text()), runtime_only=False)
        if {"muster.agent.Agent", "muster.agent.root.Agent"} & imported:
            naming.add(_module_name(path))

    assert set() == naming - NAMES_AGENT  # a new part takes narrow collaborators, not the Agent
    assert set() == NAMES_AGENT - naming - {"muster.agent", "muster.agent.root"}  # shrink the list
