"""Which service functions write, and which of them leave an audit event — read from their
source, so that a new write without an audit fails tests/salesops/test_audit_coverage.py.

A function *records* an audit event when its body calls `audit_record` / `audit_records`,
or calls a function that does (followed through the names the module binds: `services.x`,
`bulk.x`, a local helper `_record_move`, …). Resolving the calls through the imported
module's globals (not by matching names) means a helper of the same name elsewhere never
counts, and an alias (`from pipeline import services as pipeline_services`) still does.

A function *writes* when it is public, defined in the module (not imported into it) and
either runs in a transaction of its own (`@transaction.atomic`), is named for a write
(`…_create`, `…_set_done`, `…_import_undo`: a verb of WRITE_VERBS as one of its words;
`can_…`, `is_…`, `has_…` are questions) or
calls an ORM or SQL write itself (`.save(`, `.create(`, `.update(` on a queryset, raw SQL
with INSERT/UPDATE/DELETE…). The criteria overlap on purpose: a helper that writes without
a transaction of its own is still caught by its calls, a write named oddly by its decorator.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# The audit services, and AuditEvent built for a bulk_create (its path comes from the
# model's defaults all the same: salesops.audit_context).
AUDIT_FUNCTIONS = frozenset({"audit_record", "audit_records", "AuditEvent"})

# Words that name a write when they are one of a function's `_`-separated words.
WRITE_VERBS = frozenset(
    {
        "create", "update", "delete", "set", "submit", "add", "remove", "move", "save",
        "upsert", "import", "undo", "erase", "anonymise", "approve", "accept", "dismiss",
        "advance", "complete", "uncomplete", "revoke", "invite", "send", "mark", "close",
        "schedule", "start", "hire", "configure", "upload", "run", "take", "refresh",
        "rebuild", "purge", "record", "log", "sign",
    }
)  # fmt: skip
# ORM methods that write whatever object they are called on.
ORM_WRITE_METHODS = frozenset(
    {"save", "bulk_create", "bulk_update", "get_or_create", "update_or_create", "create"}
)
# Methods that write when called on a queryset (`.objects…update()`), not on a dict or set.
QUERYSET_WRITE_METHODS = frozenset({"update", "delete"})
QUERYSET_HINTS = frozenset({"objects", "filter", "exclude", "all", "select_for_update"})
SQL_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ServiceFunction:
    module: str
    name: str
    function: types.FunctionType

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


def modules_of(names: list[str]) -> Iterator[types.ModuleType]:
    """Each named module, and every submodule of those that are packages."""
    for name in names:
        module = importlib.import_module(name)
        yield module
        if hasattr(module, "__path__"):
            for info in pkgutil.iter_modules(module.__path__, prefix=f"{name}."):
                yield importlib.import_module(info.name)


@cache
def _tree(function: types.FunctionType) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _unwrap(obj: object) -> object:
    return inspect.unwrap(obj) if callable(obj) else obj


def _resolve(call: ast.Call, namespace: dict) -> object | None:
    """The object a call names, through the function's module globals: `f(...)`,
    `module.f(...)`, `package.module.f(...)`."""
    parts: list[str] = []
    node = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    obj = namespace.get(node.id)
    for attr in reversed(parts):
        if not isinstance(obj, types.ModuleType):
            return None
        obj = getattr(obj, attr, None)
    return _unwrap(obj)


def _calls(function: types.FunctionType) -> list[ast.Call]:
    tree = _tree(function)
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)] if tree else []


def _called_functions(function: types.FunctionType) -> Iterator[types.FunctionType]:
    namespace = function.__globals__
    for call in _calls(function):
        target = _resolve(call, namespace)
        if isinstance(target, types.FunctionType) and _ours(target):
            yield target


def _ours(function: types.FunctionType) -> bool:
    # Calls are followed into our apps only (and the samples the check is tested on).
    module = function.__module__ or ""
    return module.split(".")[0] in OUR_PACKAGES or module.startswith("tests.")


OUR_PACKAGES = frozenset(
    {"salesops", "pipeline", "proposals", "coaching", "forecasting", "hiring", "insights",
     "exchange", "demo"}
)  # fmt: skip


def _reaches(function: types.FunctionType, direct: Callable[[types.FunctionType], bool]) -> bool:
    """Whether `direct` holds for the function or any function it calls, transitively."""
    seen: set[types.FunctionType] = set()
    stack = [function]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if direct(current):
            return True
        stack.extend(_called_functions(current))
    return False


def _calls_audit(function: types.FunctionType) -> bool:
    for call in _calls(function):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if isinstance(call.func, ast.Name):
            name = call.func.id
        if name in AUDIT_FUNCTIONS:
            return True
    return False


def records_audit(function: types.FunctionType) -> bool:
    return _reaches(_unwrap(function), _calls_audit)


def _receiver_names(node: ast.expr) -> set[str]:
    names = set()
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            node = node.value
    if isinstance(node, ast.Name):
        names.add(node.id)
    return names


def _writes_directly(function: types.FunctionType) -> bool:
    for call in _calls(function):
        if not isinstance(call.func, ast.Attribute):
            continue
        method = call.func.attr
        if method in ORM_WRITE_METHODS:
            return True
        if method in QUERYSET_WRITE_METHODS and QUERYSET_HINTS & _receiver_names(call.func.value):
            return True
        if method == "execute" and call.args:
            sql = call.args[0]
            text = sql.value if isinstance(sql, ast.Constant) else ast.unparse(sql)
            if isinstance(text, str) and SQL_WRITE.search(text):
                return True
    return False


def _atomic(function: types.FunctionType) -> bool:
    tree = _tree(function)
    return bool(tree) and any("atomic" in ast.unparse(d) for d in tree.decorator_list)


# Questions, not writes, whatever verb follows (`can_complete_action_item`).
PREDICATE_PREFIXES = ("can_", "is_", "has_")


def _named_for_a_write(name: str) -> bool:
    return not name.startswith(PREDICATE_PREFIXES) and bool(WRITE_VERBS & set(name.split("_")))


def writes(function: types.FunctionType) -> bool:
    plain = _unwrap(function)
    return (
        _atomic(plain)
        or _named_for_a_write(plain.__name__)
        or _writes_directly(plain)
        # A write one helper down (`_record_move`) still makes the caller a write.
        or any(_writes_directly(f) for f in _called_functions(plain) if f.__name__[0] == "_")
    )


def public_functions(module: types.ModuleType) -> Iterator[ServiceFunction]:
    """The public functions the module defines (not those it imports)."""
    for name, obj in vars(module).items():
        if name.startswith("_") or not isinstance(obj, types.FunctionType):
            continue
        if _unwrap(obj).__module__ != module.__name__:
            continue
        yield ServiceFunction(module.__name__, name, obj)


def write_functions(module_names: list[str]) -> list[ServiceFunction]:
    return [
        f
        for module in modules_of(module_names)
        for f in public_functions(module)
        if writes(f.function)
    ]


def modules_with_transactions(root: Path) -> set[str]:
    """Dotted names of our modules (no migrations, no tests) that open a transaction: where
    writes live. A new one must be checked for audits or said to need none."""
    found = set()
    for package in OUR_PACKAGES:
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            if "transaction.atomic" in path.read_text(encoding="utf-8"):
                found.add(".".join(relative.with_suffix("").parts))
    return found
