"""``python -m sim schema [PATH]``: every scenario key under PATH, with type, default, range and meaning."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    """Add ``schema`` to the subcommands."""
    schema = subparsers.add_parser(
        "schema", help="print the scenario keys under PATH with type, default, allowed range and meaning",
        description="Print every scenario key under PATH (e.g. banks.<id>.referral; any id works in place of "
                    "<id>) with its type, default, allowed range and meaning, read from the schema.")
    schema.add_argument("path", nargs="?", default="", metavar="PATH",
                        help="dotted path of a key or block; default: the whole scenario")
    schema.add_argument("--markdown", action="store_true",
                        help="print the whole reference as Markdown (docs/scenario-reference.md)")
    schema.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the selected keys; a PATH that names no key is a ScenarioError (exit 2, allowed keys listed)."""
    from sim.scenario.reference import render_markdown, render_text, select

    if args.markdown:
        print(render_markdown(select(args.path)), end="")
    else:
        print(render_text(select(args.path)), end="")
    return 0
