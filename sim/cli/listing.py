"""``python -m sim list``: the scenario library with one-line descriptions."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Add ``list`` to the subcommands."""
    listing = subparsers.add_parser("list", help="list the scenario library with one-line descriptions")
    listing.add_argument("--directory", default="scenarios", help="folder of scenario files")
    listing.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print one line per scenario file: name and description."""
    from sim.errors import ScenarioError
    from sim.scenario.library import list_scenarios

    directory = Path(args.directory)
    if not directory.is_dir():
        raise ScenarioError.single("--directory", str(directory), "does not exist" if not directory.exists()
                                   else "is not a folder", "a folder of scenario .yaml files")
    rows = list_scenarios(directory)
    if not rows:
        raise ScenarioError.single("--directory", str(directory), "holds no scenario files (*.yaml)",
                                   "a folder of scenario .yaml files")
    width = max((len(name) for name, _ in rows), default=4)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0
