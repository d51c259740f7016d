"""``python -m sim gather FOLDER``: a sweep folder's parts gathered into one table per metric table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    """Add ``gather`` to the subcommands."""
    gather = subparsers.add_parser("gather", help="gather a sweep folder's parts into one table per metric table")
    gather.add_argument("folder", type=Path, help="a sweep folder (has manifest.json)")
    gather.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Write one table per metric table into the sweep folder; report rows and failures."""
    from sim.experiments.sweep import failures, gather, read_manifest

    manifest = read_manifest(args.folder)
    tables = gather(args.folder, write=True)
    rows = {name: len(frame) for name, frame in tables.items()}
    runs = tables[next(iter(tables))][["point", "replication"]].drop_duplicates().shape[0] if tables else 0
    print(f"{runs} of {manifest['runs']} runs gathered into {args.folder}/: "
          + ", ".join(f"{name}.parquet ({n} rows)" for name, n in rows.items()))
    failed = failures(args.folder)
    if len(failed):
        print(f"{len(failed)} failed run(s) in {args.folder}/failures.csv", file=sys.stderr)
    return 0
