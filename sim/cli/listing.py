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
    from sim.scenario.library import list_scenarios

    rows = list_scenarios(Path(args.directory))
    width = max((len(name) for name, _ in rows), default=4)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    print("\nThe SF and EF ids the scenarios cite are explained, with their sources, in docs/sources.md.")
    return 0
