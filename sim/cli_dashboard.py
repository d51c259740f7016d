"""``python -m sim dashboard SCENARIO.yaml [--port P] [--host H]``: the interactive dashboard.

Kept apart from :mod:`sim.cli` so that the command line does not import
Solara, Mesa's visualisation or uvicorn unless this command runs.
"""

from __future__ import annotations

import argparse


def cmd_dashboard(args: argparse.Namespace) -> int:
    from sim.dashboard.server import serve

    try:
        serve(args.scenario, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0


def add_dashboard_command(subparsers) -> None:
    """Add the ``dashboard`` subcommand to ``python -m sim``'s subparsers."""
    from sim.dashboard.server import add_arguments

    parser = subparsers.add_parser(
        "dashboard", help="serve a scenario's interactive dashboard (levers, live charts) in the browser",
        description="Serve a scenario's dashboard on this machine and print its address. "
                    "Binds to 127.0.0.1 unless --host says otherwise.")
    add_arguments(parser)
    parser.set_defaults(handler=cmd_dashboard)
