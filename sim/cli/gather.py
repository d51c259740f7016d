"""``python -m sim gather FOLDER``: a sweep folder's parts gathered into one table per metric table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.errors import ScenarioError


def add_parser(subparsers) -> None:
    """Add ``gather`` to the subcommands."""
    gather = subparsers.add_parser("gather", help="gather a sweep folder's parts into one table per metric table")
    gather.add_argument("folder", type=Path, help="a sweep folder (has manifest.json)")
    gather.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Write one table per metric table and summary.csv into the sweep folder; report rows and failures.

    The tables, ``summary.csv`` and the charts of an earlier gather are
    replaced; with no finished run left in ``parts/`` they are removed (they
    would no longer match the parts) and the command fails with status 2.
    """
    from sim.experiments.gather import finished_runs
    from sim.experiments.sweep import failures, gather, read_manifest
    from sim.outputs.sweep_summary import write_sweep_summary

    manifest = read_manifest(args.folder)
    if not finished_runs(args.folder):
        gather(args.folder, write=True)   # removes the tables of an earlier gather
        removed = _remove_summary(args.folder, manifest["design"]["parameters"])
        raise ScenarioError.single(
            args.folder, "parts", f"has no finished run (0 of {manifest['runs']}); nothing gathered"
            + ("; the tables and summary.csv of an earlier gather were removed" if removed else ""),
            "a sweep folder with finished runs: run the same sweep again to re-run them")
    tables = gather(args.folder, write=True)
    write_sweep_summary(args.folder, tables)   # summary.csv and charts match the tables just gathered
    rows = {name: len(frame) for name, frame in tables.items()}
    runs = tables[next(iter(tables))][["point", "replication"]].drop_duplicates().shape[0] if tables else 0
    print(f"{runs} of {manifest['runs']} runs gathered into {args.folder}/: "
          + ", ".join(f"{name}.parquet ({n} rows)" for name, n in rows.items()))
    failed = failures(args.folder)
    if len(failed):
        print(f"{len(failed)} failed run(s) in {args.folder}/failures.csv", file=sys.stderr)
    return 0


def _remove_summary(folder: Path, parameters: Sequence[str]) -> bool:
    """Remove the summary.csv a sweep wrote (recognised by its header); whether there was one.

    The charts beside it, ``plots/<parameter>.png``, are left: they are
    overwritten by the next sweep or gather.
    """
    path = folder / "summary.csv"
    try:
        with path.open(encoding="utf-8") as handle:
            header = handle.readline().strip().split(",")
    except (OSError, UnicodeDecodeError):
        return False
    if header[: len(parameters) + 2] != ["point", *parameters, "metric"]:
        return False
    path.unlink()
    return True
