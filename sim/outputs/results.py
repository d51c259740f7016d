"""Everything a run leaves in ``results/<scenario>/``, written in one call.

The directory holds the tables, the summary, the charts, the scenario as
resolved and the run's metadata (seed, replications, package versions), so
that any figure can be traced back and reproduced (results/README.md).
``run.json`` is written last: its presence marks a complete directory.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sim.experiments.replicate import RunResult
from sim.experiments.store import write_folder, write_text
from sim.experiments.summary import summarize, to_jsonable
from sim.outputs.deck import plot_all
from sim.outputs.formats import display_names
from sim.outputs.summary import write_summary
from sim.outputs.tables import write_tables
from sim.scenario.loader import dump_resolved

PACKAGE = "bankplatform-sim"
_RECORDED_PACKAGES = ("mesa", "numpy", "scipy", "pandas", "networkx", "pyarrow", "matplotlib")


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_version() -> str:
    """Version of this package: installed metadata, else the source tree's ``sim.version``."""
    installed = _version(PACKAGE)
    if installed:
        return installed
    try:
        from sim.version import __version__
    except ImportError:
        return "unknown"
    return str(__version__)


def run_metadata(
    *, scenario_name: str, seed: int | None, replications: int, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What ``run.json`` records: enough to rerun the same experiment.

    Parameters
    ----------
    scenario_name : str
        Name of the scenario run.
    seed : int or None
        Root seed given to ``SeedSequence``; replication ``k`` used child ``k``.
    replications : int
        Number of replications.
    extra : mapping, optional
        Anything else worth keeping (command line, steps, overrides).

    Returns
    -------
    dict
        ``scenario``, ``seed``, ``replications``, ``package_version``,
        ``python``, ``platform``, ``dependencies`` (versions), ``created_utc``
        and the ``extra`` entries.
    """
    meta: dict[str, Any] = {
        "scenario": scenario_name,
        "seed": seed,
        "replications": replications,
        "package": PACKAGE,
        "package_version": package_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dependencies": {name: _version(name) for name in _RECORDED_PACKAGES},
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    meta.update(dict(extra or {}))
    return meta


def write_json(obj: Any, path: Path) -> Path:
    """Write a JSON-like object as indented strict JSON (NaN → null), atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
    return write_text(Path(path), text + "\n")


def scenario_yaml(resolved: Any) -> str:
    """YAML text of a resolved scenario given as text, a mapping or a pydantic model."""
    if isinstance(resolved, str):
        return resolved if resolved.endswith("\n") else resolved + "\n"
    if hasattr(resolved, "model_dump"):
        resolved = resolved.model_dump(mode="json")
    if not isinstance(resolved, Mapping):
        raise TypeError(
            "resolved scenario must be YAML text, a mapping or a pydantic model, "
            f"got {type(resolved).__name__}"
        )
    return yaml.safe_dump(to_jsonable(resolved), sort_keys=False, allow_unicode=True)


def time_unit(resolved: Any) -> str:
    """The ``time.unit`` of a resolved scenario given as text, a mapping or a pydantic model (default month)."""
    if isinstance(resolved, str):
        resolved = yaml.safe_load(resolved)
    if hasattr(resolved, "model_dump"):
        return str(resolved.time.unit)
    if isinstance(resolved, Mapping):
        return str((resolved.get("time") or {}).get("unit", "month"))
    return "month"


def institution_names(resolved: Any) -> dict[str, str]:
    """Ids to display names (``name``) of the banks, platforms and insurers of a resolved scenario.

    The scenario may be given as YAML text, a mapping or a pydantic model, as for :func:`time_unit`.
    """
    if hasattr(resolved, "model_dump"):
        return display_names([resolved])
    if isinstance(resolved, str):
        resolved = yaml.safe_load(resolved)
    names: dict[str, str] = {}
    if isinstance(resolved, Mapping):
        for group in ("banks", "platforms", "insurers"):
            entries = resolved.get(group)
            for ident, spec in (entries.items() if isinstance(entries, Mapping) else ()):
                if isinstance(spec, Mapping) and spec.get("name"):
                    names[str(ident)] = str(spec["name"])
    return names


def write_results(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    *,
    scenario_name: str,
    resolved_scenario: Any,
    seed: int | None,
    replications: int,
    plots: bool = True,
    level: float = 0.95,
    extra_metadata: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a run's whole result directory.

    The files are written into ``out_dir`` as it is, without the marker and
    without checking what it holds; :func:`save_run` writes a checked, marked
    results folder, filled by this function.

    Parameters
    ----------
    out_dir : Path
        Conventionally ``results/<scenario>``; created if missing. Files of a
        previous run with the same names are replaced.
    tables : mapping of str to DataFrame
        ``market``, ``institutions``, ``channels``, ``funnel``.
    scenario_name : str
        Used in chart titles, the console header and ``run.json``.
    resolved_scenario : str, mapping or pydantic model
        The scenario after ``extends`` and overrides, written as
        ``scenario.resolved.yaml``.
    seed : int or None
        Root seed of the run.
    replications : int
        Number of replications.
    plots : bool, default True
        Also write ``plots/*.png`` (the slowest part; off for sweeps).
    level : float, default 0.95
        Interval level of the summary.
    extra_metadata : mapping, optional
        Added to ``run.json``.
    summary : mapping, optional
        The run's summary if already computed (e.g. ``RunResult.summary``);
        by default :func:`~sim.experiments.summary.summarize` of ``tables``.

    Returns
    -------
    dict
        ``tables`` (name → Path), ``summary`` (Path), ``summary_data`` (the
        summary dict, e.g. for :func:`sim.outputs.render_summary`),
        ``scenario`` (Path), ``plots`` (list of Path) and ``run`` (Path).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Any] = {"tables": write_tables(tables, out_dir)}
    summary = summarize(tables, level=level) if summary is None else summary
    written["summary"] = write_summary(summary, out_dir / "summary.json")
    written["summary_data"] = summary
    written["scenario"] = write_text(out_dir / "scenario.resolved.yaml", scenario_yaml(resolved_scenario))
    written["plots"] = (plot_all(tables, out_dir / "plots", scenario_name, time_unit=time_unit(resolved_scenario),
                                  names=institution_names(resolved_scenario))
                        if plots else [])
    meta = run_metadata(scenario_name=scenario_name, seed=seed, replications=replications,
                        extra=extra_metadata)
    written["run"] = write_json(meta, out_dir / "run.json")
    return written


def write_run(result: RunResult, folder: str | Path, *, plots: bool = True) -> Path:
    """Write a run's files into ``folder`` as it is: no checks, no marker, no swap.

    This is what fills the temporary folder that :func:`save_run` (and
    ``python -m sim run``) build a results folder in; call :func:`save_run`
    instead to write a results folder.

    Parameters
    ----------
    result : RunResult
        From :func:`sim.run`.
    folder : path
        Created if missing; files of the same names are replaced.
    plots : bool, default True
        Also write ``plots/*.png``.

    Returns
    -------
    Path
        ``folder``.
    """
    write_results(Path(folder), result.tables, scenario_name=result.scenario.name,
                  resolved_scenario=dump_resolved(result.scenario), seed=result.seed,
                  replications=result.replications, plots=plots, extra_metadata=result.provenance(),
                  summary=result.summary)
    return Path(folder)


def save_run(result: RunResult, out_dir: str | Path, plots: bool = True, *, overwrite: bool = False) -> Path:
    """Write a run's results folder: tables, ``summary.json``, the resolved scenario, ``run.json``, plots.

    Also available as ``sim.save(result, out_dir)``.  The folder is written
    by the same rules as ``python -m sim run --out`` (through
    :func:`sim.experiments.store.write_folder`): it is built under a hidden
    temporary name beside ``out_dir``, gets the marker file
    ``.bpsim-results.json``, and is renamed into place only when complete,
    so that the command line (and a later ``save``) know it for a results
    folder.  Nothing this program did not write is ever removed.

    Parameters
    ----------
    result : RunResult
        From :func:`sim.run`.
    out_dir : path
        Conventionally ``results/<scenario>``.  Must not exist yet, be an
        empty folder, or be a results folder written earlier by this program
        (which needs ``overwrite``).
    plots : bool, default True
        Also write ``plots/*.png``.
    overwrite : bool, default False
        Replace a results folder written earlier at ``out_dir``.  The old
        folder is kept until the new one is complete and then swapped out in
        one step.  A folder holding files this program did not write is
        refused even with ``overwrite``.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ScenarioError
        Before anything is written, when ``out_dir`` is a regular file, a
        symbolic link, the current folder (or one that holds it), a folder
        without the marker (the user's own files), a results folder holding
        files the marker does not account for, or an earlier results folder
        and ``overwrite`` is not given.  ``out_dir`` is left as it is.
    """
    return write_folder(out_dir, lambda tmp: write_run(result, tmp, plots=plots), kind="run",
                        overwrite=overwrite, option="out_dir", overwrite_option="overwrite=True")
