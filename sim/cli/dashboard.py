"""``python -m sim dashboard SCENARIO.yaml [--port P] [--host H]``: the interactive dashboard.

Solara, Mesa's visualisation and uvicorn are imported only when this command
runs, so the rest of the command line starts without them.
"""

from __future__ import annotations

import argparse

from sim.dashboard.server import add_arguments


def add_parser(subparsers) -> None:
    """Add ``dashboard`` to the subcommands."""
    parser = subparsers.add_parser(
        "dashboard", help="serve a scenario's interactive dashboard (levers, live charts) in the browser",
        description="Serve a scenario's dashboard on this machine and print its address. "
                    "Binds to 127.0.0.1 unless --host says otherwise.")
    add_arguments(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from sim.dashboard.server import serve

    try:
        serve(args.scenario, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0
