"""The package's layering, checked over the source with an ``ast`` walk.

- no import cycle among rnnlab's modules, counting imports inside functions;
- no CLI command module imports another (shared helpers live in ``rnnlab.cli.common``);
- no private name (``_x``) imported from another package;
- the shared task template never imports a task.

An edge ``a -> b`` is an ``import b`` / ``from b import name`` anywhere in ``a``
(``from pkg import sub`` counts as an edge to the submodule ``pkg.sub``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "rnnlab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """``(target module, imported name or None)`` for every import statement in the file."""
    is_package = path.name == "__init__.py"
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((sub, None) if sub in modules else (base, alias.name))
    return [(t, n) for t, n in out if t == "rnnlab" or t.startswith("rnnlab.")]


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {
        name: {t for t, _ in imports_of(name, path, modules) if t in modules and t != name}
        for name, path in modules.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_planted_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    edges = graph()
    assert len(edges) > 50  # the walk really saw the package
    assert cycles(edges) == []


def test_cli_command_modules_do_not_import_each_other() -> None:
    edges = graph()
    shared = {"rnnlab.cli", "rnnlab.cli.common"}
    commands = {m for m in edges if m.startswith("rnnlab.cli.") and m not in shared}
    assert "rnnlab.cli.classify" in commands
    bad = {(m, t) for m in commands for t in edges[m] if t in commands}
    assert bad == set()


def test_no_private_names_imported_across_packages() -> None:
    modules = all_modules()
    bad = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for target, imported in imports_of(name, path, modules):
            if imported is None or not imported.startswith("_") or imported.startswith("__"):
                continue
            target_package = (
                target
                if (target in modules and modules[target].name == "__init__.py")
                else target.rpartition(".")[0]
            )
            if target_package != package:
                bad.append(f"{name} imports {target}.{imported}")
    assert bad == []


@pytest.mark.parametrize("layer", ["rnnlab.tasks.base"])
def test_the_template_never_imports_a_task(layer: str) -> None:
    edges = graph()
    tasks = {m for m in edges if m.startswith("rnnlab.tasks.") and m != layer}
    assert edges[layer] & tasks == set()


def test_lower_layers_never_import_upper_layers() -> None:
    edges = graph()
    low = ("rnnlab.text", "rnnlab.data", "rnnlab.models", "rnnlab.training", "rnnlab.scratch",
           "rnnlab.embeddings", "rnnlab.config", "rnnlab.artifacts", "rnnlab.errors")  # fmt: skip
    bad = {
        (m, t)
        for m in edges
        if m.startswith(low)
        for t in edges[m]
        if t.startswith(("rnnlab.tasks", "rnnlab.cli", "rnnlab.explain", "rnnlab.serve"))
    }
    assert bad == set()
