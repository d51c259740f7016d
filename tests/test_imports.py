"""Imports flow one way: the layers of docs/architecture.md, no cycles, no private names across packages.

Every ``import`` and ``from … import`` in the package is read with :mod:`ast`,
at module level and inside functions alike, so a late import cannot hide an
upward dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sim"

#: Layers from the bottom up; a module may import its own layer and those below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("sim.errors", "sim.version", "sim.inputs"),
    ("sim.network",),
    ("sim.scenario",),
    ("sim.core",),
    ("sim.model",),
    ("sim.experiments",),
    ("sim.outputs",),
    ("sim.dashboard",),
    ("sim.cli",),
)
#: The public API and the entry point sit above every layer.
TOP = ("sim", "sim.__main__")


def layer_of(module: str) -> int:
    """Index of the layer holding ``module`` (``len(LAYERS)`` for the top); AssertionError if none."""
    if module in TOP:
        return len(LAYERS)
    for level, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return level
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and to docs/architecture.md)")


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(text: str, module: str, is_package: bool) -> Iterator[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import of a ``sim`` module in ``text``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found = [(target, [alias.name for alias in node.names])]
        else:
            continue
        for target, names in found:
            if target == "sim" or target.startswith("sim."):
                yield target, names, node.lineno


def package_edges(root: Path = PACKAGE) -> list[tuple[str, str, list[str], int, bool]]:
    """(module, imported module, names, line, importer is a package) for the whole package."""
    rows = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        is_package = path.name == "__init__.py"
        rows += [(module, target, names, line, is_package)
                 for target, names, line in imports_in(path.read_text(encoding="utf-8"), module, is_package)]
    return rows


def find_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every back edge of a depth-first search, as the cycle it closes."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def module_graph(rows, modules: set[str]) -> dict[str, set[str]]:
    """Module → modules it loads; ``from pkg import mod`` loads ``pkg.mod``; a package re-exporting its own
    submodules is not a cycle."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, target, names, _, is_package in rows:
        for loaded in [target, *(f"{target}.{name}" for name in names)]:
            if loaded in modules and loaded != module and not (is_package and loaded.startswith(module + ".")):
                graph[module].add(loaded)
    return graph


def private_crossings(rows, packages: set[str]) -> list[str]:
    """Imports of a ``_private`` module or name from outside the package that holds it."""
    crossing = []
    for module, target, names, line, is_package in rows:
        here = module if is_package else module.rpartition(".")[0]
        there = target if target in packages else target.rpartition(".")[0]
        private = [name for name in names if name.startswith("_") and not name.startswith("__")]
        private_module = any(part.startswith("_") and not part.startswith("__") for part in target.split("."))
        if there != here and (private or private_module):
            crossing.append(f"{module}:{line} takes {', '.join(private) or target} from {target}")
    return crossing


ROWS = package_edges()
MODULES = {module_name(path) for path in PACKAGE.rglob("*.py")}
PACKAGES = {module_name(path) for path in PACKAGE.rglob("__init__.py")}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_upward_import():
    upward = [f"{module}:{line} imports {target}" for module, target, _, line, _ in ROWS
              if layer_of(target) > layer_of(module)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycle():
    cycles = find_cycles(module_graph(ROWS, MODULES))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_private_name_across_packages():
    crossing = private_crossings(ROWS, PACKAGES)
    assert not crossing, "private names imported across packages:\n" + "\n".join(crossing)


def test_the_checks_catch_what_they_are_for():
    rows = [
        ("sim.core.a", "sim.outputs.plots", ["plot_all"], 3, False),      # upward
        ("sim.outputs.plots", "sim.outputs", ["risk_plots"], 4, False),   # cycle with the next row
        ("sim.outputs.risk_plots", "sim.outputs.plots", ["_axes"], 5, False),
        ("sim.dashboard.app", "sim.outputs._style", ["title"], 6, False),  # private module across packages
        ("sim.outputs", "sim.outputs.plots", ["plot_all"], 1, True),      # re-export: fine
    ]
    assert [m for m, t, *_ in rows if layer_of(t) > layer_of(m)] == ["sim.core.a"]
    modules = {"sim.core.a", "sim.outputs", "sim.outputs.plots", "sim.outputs.risk_plots", "sim.dashboard.app",
               "sim.outputs._style"}
    assert find_cycles(module_graph(rows, modules)) == [["sim.outputs.plots", "sim.outputs.risk_plots",
                                                        "sim.outputs.plots"]]
    assert private_crossings(rows, {"sim.outputs"}) == ["sim.dashboard.app:6 takes sim.outputs._style from "
                                                        "sim.outputs._style"]
    try:
        layer_of("sim.mechanisms.churn")
    except AssertionError:
        pass
    else:
        raise AssertionError("a module outside every layer was accepted")
