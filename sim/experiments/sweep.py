"""Parameter sweeps: every (design point, replication) one run, results on disk as they finish.

A sweep takes a scenario and a :class:`~sim.experiments.design.Design` and runs
each point ``R`` times.  Run ``(d, k)`` uses the scenario with point ``d``'s
overrides and the random stream ``SeedSequence(entropy=seed, spawn_key=(k,))``
— the same stream for replication ``k`` of every point (common random
numbers), so point ``d`` equals ``sim.run`` of its scenario with the same seed,
and differences between points are not blurred by different draws.

Layout of a sweep folder::

    OUT/
      .bpsim-results.json      the marker: this folder was written by a sweep (see sim.experiments.store)
      manifest.json            design, seeds, scenario hash, version (the sweep's identity)
      scenario.resolved.yaml   the base scenario with every default filled in
      parts/p000003-r0001/     one folder per finished run, renamed into place atomically,
          market.parquet       holding each metric table with a ``point`` column
          institutions.parquet
          ...
      failures/p000007-r0000.json   a run that raised: error and traceback
      market.parquet, institutions.parquet, ...   gathered tables (parameters as columns)
      failures.csv             gathered failures, when there are any

Running the same sweep again resumes it: finished runs are skipped, a run is
never written twice, and a different design in the same folder is an error,
as is a folder that holds anything a sweep did not write (it is refused, not
emptied).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.experiments import store
from sim.experiments.backends import Backend, make_backend
from sim.experiments.design import Design, check_scenario_number, grid_design, resolve_design
from sim.experiments.gather import (
    damaged_parts,
    damaged_parts_error,
    failed_runs,
    failures,
    finished_runs,
    gather,
    read_manifest,
    run_id,
)
from sim.inputs import read_text
from sim.scenario import Scenario, load_scenario
from sim.scenario.loader import dump_resolved

#: Version of the folder layout and manifest, checked on resume.
MANIFEST_FORMAT = "bankplatform-sim sweep v1"

#: Manifest entries that define *which* runs a sweep holds; any difference on resume is an error.
IDENTITY_KEYS = ("package_version", "scenario_hash", "seed", "replications", "design", "run_function")

RunFunction = Callable[[Scenario, int, int], Mapping[str, pd.DataFrame]]


# --------------------------------------------------------------------------- identity
def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (sorted JSON): equal iff every parameter is equal."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def function_name(fn: Callable) -> str:
    """``module:qualname`` of a run function, as recorded in the manifest."""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def _package_version() -> str:
    from sim.version import __version__

    return __version__


def default_run_function() -> RunFunction:
    from sim.experiments.replicate import run_replication

    return run_replication


def build_manifest(scenario: Scenario, design: Design, seed: int, replications: int,
                   run_function: RunFunction, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to reproduce a sweep, and to recognise it on resume."""
    source = getattr(scenario, "_source", None)
    return {
        "format": MANIFEST_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_version": _package_version(),
        "scenario": {"name": scenario.name, "source": str(source) if source else None},
        "scenario_hash": scenario_hash(scenario),
        "seed": int(seed),
        "replications": int(replications),
        "seeds": {
            "scheme": "replication k of every point draws from numpy.random.SeedSequence(entropy=seed, spawn_key=(k,))",
            "entropy": int(seed),
            "spawn_keys": [[k] for k in range(replications)],
        },
        "design": json.loads(json.dumps(design.to_json())),
        "runs": len(design) * int(replications),
        "run_function": function_name(run_function),
        "metric": (extra or {}).get("metric"),
        **{k: v for k, v in (extra or {}).items() if k != "metric"},
    }


def default_out(scenario: Scenario, design: Design, seed: int, replications: int,
                root: str | Path = Path("results") / "sweeps") -> Path:
    """A folder name that the same sweep always gets, so re-running the command resumes it."""
    key = json.dumps([scenario_hash(scenario), design.to_json()["points"], design.parameters, seed, replications],
                     sort_keys=True, default=str)
    return Path(root) / f"{scenario.name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def _check_same_sweep(old: Mapping[str, Any], new: Mapping[str, Any], path: Path) -> None:
    """Raise a ScenarioError naming every way ``old`` and ``new`` manifests differ."""
    problems = []
    if old.get("format") != new["format"]:
        problems.append(Problem("format", f"folder written as {old.get('format')!r}", new["format"]))
    for key in IDENTITY_KEYS:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "design":
            before_d, after_d = before or {}, after or {}
            if before_d.get("parameters") != after_d.get("parameters"):
                text = f"parameters were {before_d.get('parameters')}, now {after_d.get('parameters')}"
            elif len(before_d.get("points", [])) != len(after_d.get("points", [])):
                text = f"had {len(before_d.get('points', []))} points, now {len(after_d.get('points', []))}"
            else:
                first = None
                if before_d.get("points") != after_d.get("points"):
                    pairs = zip(before_d["points"], after_d["points"], strict=True)
                    first = next(i for i, (a, b) in enumerate(pairs) if a != b)
                text = (
                    f"point {first} was {before_d['points'][first]}, now {after_d['points'][first]}"
                    if first is not None
                    else f"kind was {before_d.get('kind')}, now {after_d.get('kind')}"
                )
            problems.append(Problem("design", text))
        elif key == "scenario_hash":
            problems.append(
                Problem("scenario", "the scenario's parameters differ from the ones this folder was swept with")
            )
        else:
            problems.append(Problem(key, f"was {before!r}, now {after!r}"))
    if problems:
        problems.append(
            Problem("", "this folder holds a different sweep", "a new --out folder, or delete this one to start over")
        )
        raise ScenarioError(path / "manifest.json", problems)


# --------------------------------------------------------------------------- runs (in workers)
@dataclass(frozen=True)
class RunTask:
    """One run to do: the point's validated scenario, its seed and replication."""

    run_id: str
    point: int
    replication: int
    seed: int
    scenario: Scenario
    run_function: RunFunction


@dataclass
class RunOutcome:
    """What a run gave: its tables encoded as Parquet, or the error it raised."""

    run_id: str
    point: int
    replication: int
    parts: dict[str, bytes] | None = None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    host: str = ""


def encode_table(table: pd.DataFrame, point: int, replication: int) -> bytes:
    """One run's table as Parquet bytes, with ``point`` and ``replication`` as its first columns.

    Done in the worker, so that the process collecting results only writes
    bytes to disk: encoding is most of the cost of saving a run.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "replication" in table.columns:
        assert (table["replication"] == replication).all(), f"table has replications other than {replication}"
    else:
        table = table.assign(replication=replication)
    # One thread: the tables are small, and the worker's core is already busy (threads only add overhead).
    arrow = pa.Table.from_pandas(table, preserve_index=False, nthreads=1)
    if arrow.schema.get_field_index("replication") != 0:
        column = arrow.column("replication")
        arrow = arrow.remove_column(arrow.schema.get_field_index("replication")).add_column(0, "replication", column)
    arrow = arrow.add_column(0, "point", pa.array(np.full(arrow.num_rows, point, dtype=np.int64)))
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink)
    return sink.getvalue().to_pybytes()


def execute_run(task: RunTask) -> RunOutcome:
    """Run one (point, replication) and encode its tables; a model error is data, not a crash.

    Module-level so that process pools and Dask workers can import it.
    ``seconds`` is the time spent in the run function alone.
    """
    outcome = RunOutcome(task.run_id, task.point, task.replication, host=f"{socket.gethostname()}:{os.getpid()}")
    started = time.perf_counter()
    try:
        tables = task.run_function(task.scenario, task.seed, task.replication)
        outcome.seconds = time.perf_counter() - started
        if not isinstance(tables, Mapping) or not all(isinstance(t, pd.DataFrame) for t in tables.values()):
            raise TypeError(
                f"the run function returned {type(tables).__name__}, not a mapping of table name to DataFrame"
            )
        outcome.parts = {name: encode_table(table, task.point, task.replication) for name, table in tables.items()}
    except Exception as exc:  # noqa: BLE001 - every model error is recorded, the sweep goes on
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.traceback = traceback.format_exc()
        outcome.parts = None
        outcome.seconds = outcome.seconds or time.perf_counter() - started
    return outcome


# --------------------------------------------------------------------------- writing (in the client)
def write_part(out: Path, outcome: RunOutcome) -> Path:
    """Write a finished run's tables as ``parts/<run_id>/<table>.parquet``, atomically.

    See :func:`store.write_part`.
    """
    final = store.write_part(out / "parts", outcome.run_id,
                             {f"{name}.parquet": data for name, data in outcome.parts.items()})
    (out / "failures" / f"{outcome.run_id}.json").unlink(missing_ok=True)
    return final


def write_failure(out: Path, outcome: RunOutcome, design: Design) -> Path:
    """Record a failed run (error text, traceback, parameters) as ``failures/<run_id>.json``."""
    folder = out / "failures"
    folder.mkdir(exist_ok=True)
    path = folder / f"{outcome.run_id}.json"
    store.write_json(path, {
        "run_id": outcome.run_id, "point": outcome.point, "replication": outcome.replication,
        "parameters": design.points[outcome.point], "error": outcome.error, "traceback": outcome.traceback,
        "host": outcome.host, "seconds": round(outcome.seconds, 3),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }, default=str)
    return path


# --------------------------------------------------------------------------- the sweep
@dataclass
class SweepResult:
    """What a call to :func:`run_sweep` did, and where the results are.

    ``run_seconds`` holds, for each run done by this call, the time spent in
    the run function itself (in its worker), without scheduling or writing.
    """

    out: Path
    runs: int
    completed: int
    skipped: int
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tables: dict[str, pd.DataFrame] | None = None
    run_seconds: list[float] = field(default_factory=list, repr=False)

    def failures(self) -> pd.DataFrame:
        """The failed runs with their parameters and errors."""
        return failures(self.out)


def as_design(design: Design | Mapping[str, Sequence[Any]]) -> Design:
    """Accept a Design, or a mapping of path to values meaning a grid."""
    if isinstance(design, Design):
        return design
    if isinstance(design, Mapping):
        return grid_design(design, source="grid")
    raise ScenarioError.single(
        "design", "", f"got {type(design).__name__}", "a Design or a mapping of path to list of values"
    )


def run_sweep(
    scenario: Scenario | str | Path,
    design: Design | Mapping[str, Sequence[Any]],
    *,
    out: str | Path | None = None,
    replications: int | None = None,
    seed: int | None = None,
    backend: Backend | str | None = None,
    workers: int | None = None,
    retry_failed: bool = True,
    progress: bool = True,
    gather_results: bool = True,
    run_function: RunFunction | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
    scenarios: Sequence[Scenario] | None = None,
) -> SweepResult:
    """Run every (design point, replication) of a sweep, writing each run as it finishes.

    Parameters
    ----------
    scenario : Scenario or path
        The base scenario; each point's overrides are applied to it.
    design : Design or mapping of path to list of values
        The points (a mapping is a full grid).
    out : path, optional
        The sweep folder; default ``results/sweeps/<scenario>-<hash>/`` where the
        hash identifies the sweep, so the same call resumes.
    replications, seed : int, optional
        Default to the scenario's own.
    backend : Backend or {"pool", "serial", "dask"}, optional
        Default a local process pool with ``workers`` processes (all cores).
        A Backend you pass is started if needed and left open for reuse.
    workers : int, optional
        Processes of the pool (default: one per core), or workers of a Dask
        LocalCluster (``backend="dask"``, default 2); ignored when
        ``backend`` is a Backend instance or ``"serial"``
        (:func:`~sim.experiments.backends.make_backend`).  The tables do not
        depend on it.
    retry_failed : bool
        Re-run runs that failed in an earlier attempt (default) or skip them.
    progress : bool
        Show a progress bar (runs done, failed, time left).
    gather_results : bool
        Gather the parts into tables at the end (see :func:`gather`) and write
        them into ``out``.
    run_function : callable, optional
        ``(scenario, seed, replication) -> {table: DataFrame}``; default
        :func:`sim.experiments.replicate.run_replication`.  Must be importable
        (module level) for the pool and Dask backends.
    manifest_extra : mapping, optional
        Extra entries for the manifest (e.g. a sensitivity analysis's metric).
    scenarios : sequence of Scenario, optional
        The validated scenario of each design point, when the points are
        labels rather than overrides of ``scenario`` (a game's strategy
        profiles, see :mod:`sim.experiments.game`).  The manifest identifies
        the sweep by ``scenario`` and the design, so ``scenario`` must
        determine these.

    Returns
    -------
    SweepResult

    Raises
    ------
    ScenarioError
        Before any run and before anything is written, for a bad design, a
        folder holding a different sweep, or an unreachable scheduler.
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    design = as_design(design)
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    _check_counts(replications, seed)
    run_function = run_function or default_run_function()
    if scenarios is None:
        point_scenarios = resolve_design(scenario, design)
    else:
        point_scenarios = list(scenarios)
        assert len(point_scenarios) == len(design), f"{len(point_scenarios)} scenarios for {len(design)} points"
    out = Path(out) if out is not None else default_out(scenario, design, seed, replications)
    manifest = build_manifest(scenario, design, seed, replications, run_function, manifest_extra)
    _check_folder(out, manifest)

    owns_backend = not isinstance(backend, Backend)
    runner = make_backend(backend, workers=workers)
    runner.start()  # an unreachable scheduler fails here, before anything is written
    lock = store.FolderLock(out)
    try:
        _open_folder(out, lock, manifest, scenario)
        skip = finished_runs(out) | (set() if retry_failed else failed_runs(out))
        # Replication-major order: every point's replication 0 first, so a partial sweep covers the design.
        todo = [(d, k) for k in range(replications) for d in range(len(design)) if run_id(d, k) not in skip]
        total = len(design) * replications
        tasks = (RunTask(run_id(d, k), d, k, seed, point_scenarios[d], run_function) for d, k in todo)

        bar = _progress_bar(total, total - len(todo), scenario.name, runner, enabled=progress)
        try:
            failed, run_seconds = _run_tasks(runner, tasks, out, design, bar)
        finally:
            bar.close()
    finally:
        lock.release()
        if owns_backend:
            runner.close()

    result = SweepResult(out, total, len(run_seconds), total - len(todo), sorted(failed),
                         time.perf_counter() - started, run_seconds=run_seconds)
    if gather_results:
        result.tables = gather(out, write=True)
    return result


def _check_counts(replications: Any, seed: Any) -> None:
    """Replications and seed by the scenario schema's own rules (integers, in its ranges)."""
    check_scenario_number("replications", replications, "--replications")
    check_scenario_number("seed", seed, "--seed")


def _check_folder(out: Path, manifest: Mapping[str, Any]) -> None:
    """Refuse a folder that is a file, holds a different sweep, or holds anything not written by a sweep.

    Also refused, naming the files: a damaged manifest, and parts whose files
    are not readable Parquet (deleting such a part folder has the sweep re-run
    that run).

    A sweep folder is resumable: one of the same sweep (same manifest) is
    carried on.  One written before folders carried the marker is recognised
    by its manifest.
    """
    marker = store.read_marker(out) if out.is_dir() else None
    legacy = (marker is None and out.is_dir() and not (out / store.MARKER_NAME).exists()   # not a bad marker
              and _is_our_manifest(out / store.MANIFEST_NAME))
    if legacy:
        foreign = store.foreign_files(out, {"kind": "sweep"})
        if foreign:
            store.check_out(out, "sweep", resumable=True, overwrite_option=None)   # raises, naming the files
    else:
        store.check_out(out, "sweep", resumable=True, overwrite_option=None)
    if (out / store.MANIFEST_NAME).is_file():
        _check_same_sweep(read_manifest(out), manifest, out)
    if out.is_dir():
        failed_runs(out)            # a record or part folder not named like a run is refused, not guessed at
        damaged = damaged_parts(out)
        if damaged:
            raise damaged_parts_error(out, damaged)


def _is_our_manifest(path: Path) -> bool:
    try:
        return json.loads(read_text(path, "a sweep manifest")).get("format") == MANIFEST_FORMAT
    except (ScenarioError, ValueError, AttributeError):
        return False


def _open_folder(out: Path, lock: store.FolderLock, manifest: Mapping[str, Any], scenario: Scenario) -> None:
    """Create and lock the folder; write marker, manifest and resolved scenario on the first call; clear stale parts."""
    out.mkdir(parents=True, exist_ok=True)
    lock.acquire()
    if store.read_marker(out) is None:
        store.write_marker(out, "sweep")
    if not (out / "manifest.json").is_file():
        store.write_manifest(out, manifest)
        store.write_text(out / "scenario.resolved.yaml", dump_resolved(scenario))
    (out / "parts").mkdir(exist_ok=True)
    store.remove_stale_parts(out / "parts")  # left by a killed process


def _run_tasks(runner: Backend, tasks, out: Path, design: Design, bar) -> tuple[list[str], list[float]]:
    """Run the tasks, writing each part or failure as it arrives; the failed ids and the finished runs' times."""
    failed: list[str] = []
    run_seconds: list[float] = []
    for task, outcome in runner.imap_unordered(execute_run, tasks):
        if isinstance(outcome, BaseException):  # the machinery failed, not the model
            outcome = RunOutcome(task.run_id, task.point, task.replication,
                                 error=f"{type(outcome).__name__}: {outcome}", traceback=None)
        if outcome.error is None:
            write_part(out, outcome)
            run_seconds.append(outcome.seconds)
        else:
            write_failure(out, outcome, design)
            failed.append(outcome.run_id)
            bar.set_postfix_str(f"failed={len(failed)}", refresh=False)
        bar.update(1)
    return failed, run_seconds


def _progress_bar(total: int, initial: int, name: str, runner: Backend, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"sweep {name} [{runner.describe()}]", unit="run",
                disable=not enabled, dynamic_ncols=True, postfix="failed=0")


__all__ = [
    "RunOutcome",
    "RunTask",
    "SweepResult",
    "default_out",
    "execute_run",
    "failures",
    "gather",
    "read_manifest",
    "run_id",
    "run_sweep",
    "scenario_hash",
]
