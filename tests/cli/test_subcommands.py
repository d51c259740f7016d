"""Every subcommand is its own module, imported explicitly: a broken one breaks the command line loudly."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sim.cli
from sim.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "sim" / "cli"
SHARED = {"__init__", "common"}


def _subcommand_names(parser) -> list[str]:
    action = next(a for a in parser._actions if a.dest == "command")
    return list(action.choices)


def test_the_parser_has_every_subcommand_module():
    modules = sorted(p.stem for p in CLI.glob("*.py") if p.stem not in SHARED)
    assert sorted(m.__name__.rsplit(".", 1)[1] for m in SUBCOMMANDS) == modules
    assert _subcommand_names(build_parser()) == ["run", "list", "compare", "sweep", "sensitivity", "robustness",
                                                  "calibrate", "game", "gather", "dashboard", "schema"]
    for module in SUBCOMMANDS:
        assert callable(module.add_parser) and callable(module.handle), module.__name__


def test_subcommand_modules_are_imported_explicitly():
    """No ``__import__``, ``importlib`` or ``try: import`` that could drop a subcommand."""
    tree = ast.parse((CLI / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):   # main() catches a handler's errors, never an import's or a parser's
            inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))
                     or (isinstance(n, ast.Attribute) and n.attr == "add_parser")]
            assert not inner, "sim/cli/__init__.py must not catch errors around imports or parser building"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "__import__"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            assert not any(n.startswith("importlib") for n in names)
    imported = {a.name for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "sim.cli"
                for a in node.names}
    assert imported == {m.__name__.rsplit(".", 1)[1] for m in SUBCOMMANDS}


@pytest.mark.slow  # a python -m sim subprocess
def test_a_subcommand_that_fails_to_import_makes_python_m_sim_fail():
    """Simulate a broken ``compare`` module: ``python -m sim list`` must fail with the ImportError."""
    code = ("import sys, runpy\n"
            "sys.modules['sim.cli.compare'] = None\n"   # makes `from sim.cli import compare` raise ImportError
            "sys.argv = ['sim', 'list', '--directory', 'scenarios']\n"
            "runpy.run_module('sim', run_name='__main__')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(("ImportError", "ModuleNotFoundError")) and "sim.cli.compare" in last
    assert "baseline" not in done.stdout


def test_the_bpsim_entry_point_is_the_package_main():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'bpsim = "sim.cli:main"' in text
    assert callable(sim.cli.main)
