"""Imports of the tooling flow one way: experiments <- outputs <- cli / dashboard, never back.

Every ``import`` and ``from ... import`` counts, also inside functions.  The
layers below experiments (scenario, network, core, model) are checked only
for not importing the tooling; their own order is their owners' concern.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

#: Rank of each top-level package; a module may import only its own rank or lower.
RANKS = {"errors": 0, "version": 0, "scenario": 1, "network": 2, "core": 3, "mechanisms": 3, "model": 4,
         "metrics": 4, "experiments": 5, "outputs": 6, "dashboard": 7, "cli": 8}
TOOLING = {"experiments", "outputs", "dashboard", "cli"}


def _modules() -> list[Path]:
    return sorted(p for p in SIM.rglob("*.py") if p.name != "__main__.py" and p.parent != SIM or
                  p.name in ("errors.py", "version.py"))


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return [(module, names) for module, names in found if module == "sim" or module.startswith("sim.")]


def _package(path: Path) -> str:
    return path.relative_to(SIM).parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SIM)))
def test_no_upward_import(path):
    mine = _package(path)
    for module, _ in _imports(path):
        assert module != "sim", f"{path.relative_to(SIM)} imports the package root; import the module it needs"
        other = module.split(".")[1]
        if other not in RANKS or (mine not in TOOLING and other not in TOOLING):
            continue
        if mine == "cli" and module == "sim.dashboard.server":
            continue        # the dashboard subcommand
        assert RANKS[other] <= RANKS[mine], f"{path.relative_to(SIM)} ({mine}) imports {module} from a layer above"


@pytest.mark.parametrize("path", [p for p in _modules() if _package(p) in TOOLING],
                         ids=lambda p: str(p.relative_to(SIM)))
def test_no_private_name_from_another_module(path):
    """``from sim.x import _name`` is refused; a private module is used only inside its own package."""
    package = ".".join(("sim", *path.relative_to(SIM).parent.parts))
    for module, names in _imports(path):
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.relative_to(SIM)} imports private {private} from {module}"
        parent, _, leaf = module.rpartition(".")
        if leaf.startswith("_"):
            assert parent == package, f"{path.relative_to(SIM)} imports the private module {module}"


def test_no_import_cycle_in_the_tooling():
    paths = {".".join(("sim", *p.relative_to(SIM).with_suffix("").parts)).removesuffix(".__init__"): p
             for p in _modules() if _package(p) in TOOLING}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges = set()
        for module, names in _imports(path):
            # ``from sim.cli import run`` imports the module sim.cli.run, not only the package.
            edges |= {f"{module}.{n}" for n in names if f"{module}.{n}" in paths} or {module}
        graph[name] = {m for m in edges if m in paths and m != name}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if nxt not in graph or nxt.startswith(node + "."):
                continue    # a package importing its own modules (``sim.outputs`` re-exports) is not a cycle
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
