"""The code's structure, checked: surfaces stay thin and the parts do not import in circles."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
SURFACES = ("cli", "web")
UI_LIBRARIES = ("typer", "rich", "click")


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((SRC / "corral").rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        yield name.removesuffix(".__init__"), ast.parse(path.read_text(), str(path))


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "corral" and len(parts) > 1 else None


def imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def part_graph(mods: list[tuple[str, ast.Module]]) -> dict[str, dict[str, str]]:
    """part -> {imported part: one module that imports it}."""
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for module, tree in mods:
        source = part_of(module)
        for name in imported(tree):
            target = part_of(name)
            if source and target and target != source:
                graph[source].setdefault(target, module)
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_parts() -> None:
    graph = part_graph(list(modules()))
    found = cycles(graph)
    detail = [f"{a} -> {b} ({graph[a][b]})" for c in found for a in c for b in graph[a] if b in c]
    assert not found, "import cycles between parts:\n" + "\n".join(detail)


def test_cycle_finder_sees_a_cycle() -> None:
    fake = [
        ("corral.a.x", ast.parse("from corral.b import y")),
        ("corral.b.y", ast.parse("import corral.a.x")),
    ]
    assert cycles(part_graph(fake)) == [["a", "b"]]


def ui_violations(module: str, tree: ast.Module) -> list[str]:
    if part_of(module) in SURFACES:
        return []
    found = [
        f"{module} imports {name}" for name in imported(tree) if name.split(".")[0] in UI_LIBRARIES
    ]
    found += [
        f"{module}:{node.lineno} calls print()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]
    return found


def test_only_surfaces_print_or_use_typer_and_rich() -> None:
    found = [v for module, tree in modules() for v in ui_violations(module, tree)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "code",
    ["import rich.console", "from typer import Typer", "print('hello')"],
)
def test_ui_check_catches(code: str) -> None:
    assert ui_violations("corral.gate.x", ast.parse(code))
    assert not ui_violations("corral.cli.x", ast.parse(code))
