"""The command line, ``python -m sim``: run, list, compare, sweep, sensitivity, robustness, calibrate, game,
gather, dashboard, schema.

Each subcommand is a module of this package with ``add_parser(subparsers)``
and ``handle(args)``, imported explicitly below: a subcommand whose module
cannot be imported is an error of the whole command line, not a silently
missing subcommand.

Bad input of any kind (a scenario, a ``--set`` override, a design) is a
:class:`~sim.errors.ScenarioError`: it is printed in a line or two, without a
traceback, the exit status is 2, and no results directory is left behind.
Numeric options are checked by the scenario schema's rules before anything
runs, and ``--out`` never removes anything this program did not write (see
:func:`sim.experiments.store.check_out`).
"""

from __future__ import annotations

import argparse
import sys

from sim.cli import calibrate, compare, dashboard, game, gather, listing, robustness, run, schema, sensitivity, sweep
from sim.cli.common import check_number_options
from sim.errors import EXIT_BAD_INPUT, ScenarioError

#: The subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = (run, listing, compare, sweep, sensitivity, robustness, calibrate, game, gather, dashboard, schema)

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m sim`` with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m sim`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_number_options(args)
        return args.handler(args)
    except ScenarioError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


__all__ = ["SUBCOMMANDS", "build_parser", "main"]
