"""A sweep folder's finished runs and failures, and gathering its parts into tables.

See :mod:`sim.experiments.sweep` for the folder layout.  Gathering reads only
the folder (its manifest and parts), so it works on a sweep that is still
running, was interrupted, or ran on other machines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.codes import TABLE_NAMES
from sim.errors import Problem, ScenarioError
from sim.experiments import store
from sim.inputs import read_text

#: What a run id looks like (see :func:`run_id`).
RUN_ID_PATTERN = re.compile(r"p(\d{6,})-r(\d{4,})")

#: What to do about a damaged manifest, in the messages.
_MANIFEST_FIX = ("the manifest.json the sweep wrote (restore it from a copy), "
                 "or delete the folder and run the sweep again")


def run_id(point: int, replication: int) -> str:
    """The name of run ``(point, replication)``: ``p000003-r0001``."""
    return f"p{point:06d}-r{replication:04d}"


def parse_run_id(name: str) -> tuple[int, int]:
    """Inverse of :func:`run_id`; a ValueError for a name that is not a run id."""
    match = RUN_ID_PATTERN.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not a run id (like p000003-r0001)")
    return int(match[1]), int(match[2])


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep folder, checked for what gathering and resuming need.

    Parameters
    ----------
    out : path
        The sweep folder.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    ScenarioError
        Naming ``manifest.json`` when it is missing, is not JSON, or lacks the
        design (parameters and points), the replications or the run count.
    """
    path = Path(out) / store.MANIFEST_NAME
    try:
        manifest = store.read_manifest(out)
    except ScenarioError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError, UnicodeDecodeError
        raise ScenarioError.single(path, "", f"cannot be read as JSON ({exc}); the sweep folder is damaged",
                                   _MANIFEST_FIX) from None
    problem = _manifest_problem(manifest)
    if problem:
        raise ScenarioError.single(path, problem[0], f"{problem[1]}; the sweep folder is damaged", _MANIFEST_FIX)
    return manifest


def _manifest_problem(manifest: Any) -> tuple[str, str] | None:
    """The first (key, what is wrong) of a manifest that gathering or resuming cannot use, or None."""
    if not isinstance(manifest, Mapping):
        return "", f"is a JSON {type(manifest).__name__}, not an object with the sweep's design"
    for key in ("replications", "runs"):
        value = manifest.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return key, f"is {value!r}, not a count"
    design = manifest.get("design")
    if not isinstance(design, Mapping):
        return "design", f"is {design!r}, not an object with parameters and points"
    parameters, points = design.get("parameters"), design.get("points")
    if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
        return "design.parameters", f"is {parameters!r}, not a list of parameter paths"
    if not isinstance(points, list) or not all(isinstance(p, Mapping) for p in points):
        return "design.points", "is not a list of points (objects of parameter to value)"
    return None


def _check_run_names(folder: Path, names: set[str], what: str) -> set[str]:
    """``names`` if each is a run id; else a ScenarioError naming the ones that are not."""
    bad = sorted(n for n in names if RUN_ID_PATTERN.fullmatch(n) is None)
    if bad:
        shown = ", ".join(f"{folder.name}/{n}" for n in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ScenarioError.single(
            folder.parent, folder.name, f"holds {shown}, which {'is' if len(bad) == 1 else 'are'} not {what} "
            "(named like p000003-r0001)", f"only what the sweep wrote in {folder.name}/: move those out")
    return names


def finished_runs(out: Path) -> set[str]:
    """Run ids whose part is complete (hidden temporary folders do not count).

    A ScenarioError for a folder in ``parts/`` that is not named like a run
    (the sweep never writes one; someone put it there).
    """
    return _check_run_names(out / "parts", store.finished_parts(out / "parts"), "a run's part")


def failed_runs(out: Path) -> set[str]:
    """Run ids with a failure record (a ScenarioError for a record not named like a run)."""
    folder = out / "failures"
    if not folder.is_dir():
        return set()
    names = {p.stem for p in folder.glob("*.json") if not p.name.startswith(".")}
    return _check_run_names(folder, names, "a failure record")


def damaged_parts(out: str | Path, runs: Sequence[str] | None = None) -> dict[str, str]:
    """Files of finished parts that are not readable Parquet, with why (an empty dict when all are fine).

    Parameters
    ----------
    out : path
        The sweep folder.
    runs : list of str, optional
        Which parts (default every finished one).

    Returns
    -------
    dict of str to str
        ``parts/<run id>/<table>.parquet`` (relative to ``out``) to the reader's error.
    """
    import pyarrow.parquet as pq

    out = Path(out)
    damaged = {}
    for name in sorted(finished_runs(out) if runs is None else runs):
        for path in sorted((out / "parts" / name).glob("*.parquet")):
            try:
                pq.read_metadata(path)
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                damaged[path.relative_to(out).as_posix()] = str(exc)
    return damaged


def damaged_parts_error(out: Path, damaged: Mapping[str, str]) -> ScenarioError:
    """The error for damaged parts: each file, and that deleting its part folder has the sweep re-run it."""
    problems = [Problem(name, f"is not a readable Parquet file ({why})") for name, why in damaged.items()]
    folders = sorted({name.rsplit("/", 1)[0] for name in damaged})
    problems.append(Problem("", f"{len(folders)} damaged part(s): {', '.join(folders)}",
                            "delete those part folders; running the same sweep again re-runs them"))
    return ScenarioError(out, problems)


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
    outside = [r for r in runs if parse_run_id(r)[0] >= len(params) or parse_run_id(r)[1] >= manifest["replications"]]
    if outside:
        raise ScenarioError.single(
            out, "parts", f"holds {', '.join(outside[:3])}, outside this sweep's design "
            f"({len(params)} points x {manifest['replications']} replications)", "move those part folders out")
    damaged = damaged_parts(out, runs)
    if damaged:
        raise damaged_parts_error(out, damaged)
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
        for stale in earlier_gathered_tables(out, design["parameters"]):
            if stale.stem not in gathered:
                stale.unlink()  # from an earlier gather, and the parts no longer give it
        fails = failures(out)
        if len(fails):
            fails.to_csv(out / "failures.csv", index=False)
        else:
            (out / "failures.csv").unlink(missing_ok=True)
    return gathered


def earlier_gathered_tables(out: str | Path, parameters: Sequence[str]) -> list[Path]:
    """Tables a gather wrote into ``out``: ``<table>.parquet`` starting with ``point``, parameters, ``replication``.

    Only files named after a run's tables (:data:`~sim.core.codes.TABLE_NAMES`)
    and with the gathered layout count, so that a file of the user's is never
    taken for one.
    """
    import pyarrow.parquet as pq

    layout = ["point", *parameters, "replication"]
    found = []
    for path in sorted(Path(out).glob("*.parquet")):
        if path.stem not in TABLE_NAMES:
            continue
        try:
            names = pq.read_schema(path).names
        except (OSError, ValueError):
            continue
        if names[: len(layout)] == layout:
            found.append(path)
    return found


def failures(out: str | Path) -> pd.DataFrame:
    """The failed runs of a sweep still without a result: id, point, replication, parameters, error."""
    out = Path(out)
    done = finished_runs(out)
    rows = []
    for name in sorted(failed_runs(out) - done, key=parse_run_id):
        path = out / "failures" / f"{name}.json"
        text = read_text(path, "a failure record")
        try:
            record = json.loads(text)
            if not isinstance(record, Mapping) or not isinstance(record.get("parameters"), Mapping) \
                    or not {"run_id", "point", "replication", "error"} <= record.keys():
                raise ValueError("not a failure record with run_id, point, replication, parameters and error")
        except ValueError as exc:
            raise ScenarioError.single(path, "", f"cannot be read as a failure record ({exc})",
                                       "delete it; running the same sweep again re-runs that run") from None
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


__all__ = [
    "damaged_parts",
    "earlier_gathered_tables",
    "failed_runs",
    "failures",
    "finished_runs",
    "gather",
    "parse_run_id",
    "read_manifest",
    "run_id",
]
