"""The house rules of docs/architecture.md, read from the code (no Django needed):

- the apps stand in layers: salesops at the bottom imports no app; pipeline imports only
  salesops; demo, at the top, is imported by none; and no two apps import each other,
  directly or round a longer loop — an import inside a function counts too (hiding one
  there is how cycles used to be dodged). A lower app that needs a fact of a higher one
  gets it through a provider the higher app registers (pipeline/providers.py);
- no module imports another module's private (`_name`) names, nor reads them as
  `module._name`: what crosses a module boundary has a public name;
- another app is imported at the top of a module, never inside a function (but in
  `AppConfig.ready`, where Django wants the registrations made);
- a module stays under MODULE_LINES lines (past it, it becomes a package by entity) and a
  function under FUNCTION_LINES (past it, it is split into steps that read top-down).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = (
    "salesops", "pipeline", "proposals", "coaching", "forecasting", "hiring", "insights",
    "exchange", "demo",
)  # fmt: skip
# What each of the bottom apps may import (the others: any app but demo, without a cycle).
ALLOWED = {"salesops": set(), "pipeline": {"salesops"}}


def modules() -> Iterator[tuple[str, str, ast.Module]]:
    """(app, dotted module name, syntax tree) of every module of the apps but migrations."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield app, name.removesuffix(".__init__"), ast.parse(path.read_text(), str(path))


def imported_modules(tree: ast.Module) -> Iterator[tuple[str, list[str], int]]:
    """(module, names imported from it, line) for every import, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno


def app_graph() -> dict[str, dict[str, list[str]]]:
    """app → app it imports → where (module:line), over every import in the apps."""
    graph: dict[str, dict[str, list[str]]] = {app: {} for app in APPS}
    for app, name, tree in modules():
        for module, _names, line in imported_modules(tree):
            target = module.split(".")[0]
            if target in APPS and target != app:
                graph[app].setdefault(target, []).append(f"{name}:{line}")
    return graph


def test_the_bottom_apps_import_only_what_is_below_them():
    graph = app_graph()
    for app, allowed in ALLOWED.items():
        extra = {t: where[:3] for t, where in graph[app].items() if t not in allowed}
        assert not extra, f"{app} imports apps above it: {extra}"


def test_no_app_imports_demo():
    importers = {
        app: targets["demo"][:3] for app, targets in app_graph().items() if "demo" in targets
    }
    assert not importers, f"demo is the top app; imported by {importers}"


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One loop of imports between apps, as the apps in order, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(app: str) -> list[str] | None:
        state[app] = "open"
        stack.append(app)
        for target in sorted(graph[app]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (loop := visit(target)):
                return loop
        stack.pop()
        state[app] = "done"
        return None

    for app in graph:
        if app not in state and (loop := visit(app)):
            return loop
    return None


def test_no_cycle_between_apps():
    graph = app_graph()
    loop = find_cycle(graph)
    where = {f"{a} → {b}": graph[a][b][:3] for a, b in itertools.pairwise(loop)} if loop else {}
    assert loop is None, f"apps import each other round a loop: {' → '.join(loop)}; {where}"


def test_the_cycle_check_finds_a_loop():
    """The check itself: a loop of three, and a graph without one."""
    graph = {"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {}, "c": {"a": []}}) is None


def _module_names() -> set[str]:
    return {name for _app, name, _tree in modules()}


def test_no_module_uses_another_modules_private_names():
    known = _module_names()
    found = []
    for _app, name, tree in modules():
        aliases: dict[str, str] = {}  # local name → module it stands for
        for module, names, line in imported_modules(tree):
            if module.split(".")[0] not in APPS or module == name:
                continue
            for imported in names:
                if f"{module}.{imported}" in known:
                    aliases[imported] = f"{module}.{imported}"
                elif imported.startswith("_"):
                    found.append(f"{name}:{line} imports {module}.{imported}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{name}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    assert not found, "private names used across modules:\n" + "\n".join(found)


MODULE_LINES = 800
FUNCTION_LINES = 150


def test_another_app_is_imported_at_the_top_of_a_module():
    found = []
    for app, name, tree in modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or (
                node.name == "ready" and name.endswith(".apps")
            ):
                continue
            for module, _names, line in imported_modules(node):
                target = module.split(".")[0]
                if target in APPS and target != app:
                    found.append(f"{name}:{line} imports {module} inside {node.name}()")
    assert not found, "imports of another app inside a function:\n" + "\n".join(sorted(set(found)))


def test_modules_and_functions_stay_readable_in_one_sitting():
    too_long = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            where = path.relative_to(ROOT)
            if (lines := text.count("\n")) > MODULE_LINES:
                too_long.append(f"{where}: {lines} lines (a package by entity past {MODULE_LINES})")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    if length > FUNCTION_LINES:
                        too_long.append(f"{where}:{node.lineno} {node.name}() is {length} lines")
    assert not too_long, "\n".join(too_long)
