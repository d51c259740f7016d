"""A sweep folder's finished runs and failures, and gathering its parts into tables.

See :mod:`sim.experiments.sweep` for the folder layout.  Gathering reads only
the folder (its manifest and parts), so it works on a sweep that is still
running, was interrupted, or ran on other machines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.experiments import store
from sim.experiments.store import read_manifest
from sim.inputs import read_text


def run_id(point: int, replication: int) -> str:
    """The name of run ``(point, replication)``: ``p000003-r0001``."""
    return f"p{point:06d}-r{replication:04d}"


def parse_run_id(name: str) -> tuple[int, int]:
    """Inverse of :func:`run_id`."""
    point, replication = name.split("-")
    return int(point[1:]), int(replication[1:])


def finished_runs(out: Path) -> set[str]:
    """Run ids whose part is complete (hidden temporary folders do not count)."""
    return store.finished_parts(out / "parts")


def failed_runs(out: Path) -> set[str]:
    """Run ids with a failure record."""
    folder = out / "failures"
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.json") if not p.name.startswith(".")}


def gather(out: str | Path, tables: Sequence[str] | None = None, write: bool = False) -> dict[str, pd.DataFrame]:
    """Gather a sweep's parts into one table per metric table, with the parameters as columns.

    Parameters
    ----------
    out : path
        The sweep folder.
    tables : list of str, optional
        Which tables (default all found).
    write : bool
        Also write ``out/<table>.parquet`` and, if any run failed,
        ``out/failures.csv``.

    Returns
    -------
    dict of str to DataFrame
        Columns ``point``, the design's parameters (named by their dotted
        paths), ``replication``, then the table's own columns; rows ordered by
        point, replication and the run's own order — the same whatever
        backend, worker count or interruptions produced them.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    manifest = read_manifest(out)
    design = manifest["design"]
    params = pd.DataFrame(design["points"], columns=design["parameters"])
    params.insert(0, "point", range(len(params)))
    runs = sorted(finished_runs(out), key=parse_run_id)
    names = (
        list(tables)
        if tables is not None
        else sorted({p.stem for r in runs for p in (out / "parts" / r).glob("*.parquet")})
    )
    gathered: dict[str, pd.DataFrame] = {}
    for name in names:
        pieces = [pq.read_table(path) for r in runs if (path := out / "parts" / r / f"{name}.parquet").is_file()]
        if pieces:
            frame = pa.concat_tables(pieces, promote_options="permissive").to_pandas()
        else:
            frame = pd.DataFrame({"point": pd.Series(dtype="int64"), "replication": pd.Series(dtype="int64")})
        frame = frame.merge(params, on="point", how="left", sort=False, validate="many_to_one")
        clash = set(design["parameters"]) & (set(frame.columns) - set(design["parameters"]) - {"point"})
        assert not clash, f"parameter columns {clash} clash with columns of table {name}"
        own = [c for c in frame.columns if c not in ("point", "replication", *design["parameters"])]
        gathered[name] = frame[["point", *design["parameters"], "replication", *own]]
    if write:
        for name, frame in gathered.items():
            store.write_parquet(out / f"{name}.parquet", frame, index=False)
        fails = failures(out)
        if len(fails):
            fails.to_csv(out / "failures.csv", index=False)
        else:
            (out / "failures.csv").unlink(missing_ok=True)
    return gathered


def failures(out: str | Path) -> pd.DataFrame:
    """The failed runs of a sweep still without a result: id, point, replication, parameters, error."""
    out = Path(out)
    done = finished_runs(out)
    rows = []
    for name in sorted(failed_runs(out) - done, key=parse_run_id):
        record = json.loads(read_text(out / "failures" / f"{name}.json", "a failure record"))
        rows.append(
            {
                "run_id": record["run_id"],
                "point": record["point"],
                "replication": record["replication"],
                **{k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in record["parameters"].items()},
                "error": record["error"],
                "traceback": record.get("traceback"),
            }
        )
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "point", "replication", "error", "traceback"])


__all__ = ["failed_runs", "failures", "finished_runs", "gather", "parse_run_id", "run_id"]
