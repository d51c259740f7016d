"""Do a scenario's claims hold across population sizes and the uncertain shared parameters?

For every claim of a scenario (``claims:``, see :mod:`sim.experiments.claims`)
:func:`run_robustness` evaluates the claim at every *cell* of a space:

- population sizes (``population.size``, e.g. 3,000, 10,000, 30,000), crossed with
- a Latin hypercube of ``samples`` points over the uncertain shared
  parameters of ``scenarios/uncertainty.yaml``
  (:mod:`sim.scenario.uncertainty`).  A parameter the scenario changes against
  a comparison (a lever) is left out: its value is the strategy.

At each cell the scenario and each comparison run as *arms* of one sweep
(:func:`~sim.experiments.sweep.run_sweep`: resumable, any backend, every
point's replication ``k`` on the same seed stream), so the claim is judged on
paired differences, common random numbers, exactly as
:func:`~sim.experiments.claims.judge` does for one cell.  A comparison arm is
the scenario with every parameter it differs in set to the comparison's
value (:func:`~sim.experiments.changes.change_units`), which gives the
comparison's parameters.

Per claim it reports the share of cells where the claim holds, with a
Wilson interval (overall and per size), and PRIM boxes
(:mod:`sim.experiments.prim`) describing where it fails, as dotted-path
ranges.  A claim holding in under half of the space is *fragile*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.experiments import store
from sim.experiments.changes import change_units, overrides_towards, settable_paths
from sim.experiments.claims import judge, load_comparison, up_to
from sim.experiments.design import Design, lhs_design, points_design, resolve_design
from sim.experiments.gather import gather
from sim.experiments.metrics import key_metrics
from sim.experiments.prim import find_boxes
from sim.experiments.robustness_record import content_hashes, side
from sim.experiments.stats import wilson_interval
from sim.experiments.sweep import run_sweep
from sim.inputs import read_text
from sim.scenario import Scenario
from sim.scenario.uncertainty import UncertainRange

#: Population sizes evaluated by default.
DEFAULT_SIZES: tuple[int, ...] = (3_000, 10_000, 30_000)
#: Latin hypercube points per size by default.
DEFAULT_SAMPLES = 8
#: Below this share of the space a claim is called fragile.
FRAGILE_SHARE = 0.5
SIZE_PATH = "population.size"


@dataclass
class Plan:
    """The arms of a robustness sweep: the scenario (arm 0), then one per comparison file."""

    paths: list[str]
    arms: list[dict[str, Any]]
    comparisons: list[str]
    uncertain: list[str]
    left_out: list[str]

    def arm_of(self, compare_to: str) -> int:
        return 1 + self.comparisons.index(compare_to)


def plan_arms(scenario: Scenario, ranges: Mapping[str, UncertainRange]) -> Plan:
    """The paths each arm sets, and which uncertain parameters the hypercube varies."""
    if not scenario.claims:
        raise ScenarioError.single(getattr(scenario, "_source", None) or scenario.name, "claims",
                                   "the scenario makes no claims, so there is nothing to assess",
                                   "claims: [{metric, direction, compare_to}, ...] (docs/claims.md)")
    comparisons = list(dict.fromkeys(c.compare_to for c in scenario.claims))
    units = {c: change_units(scenario, load_comparison(scenario, claim))
             for c, claim in ((claim.compare_to, claim) for claim in scenario.claims)}
    paths = list(dict.fromkeys(p for c in comparisons for p in units[c]))
    own = overrides_towards(scenario, paths)
    arms = [own]
    for c in comparisons:
        claim = next(cl for cl in scenario.claims if cl.compare_to == c)
        comparison = load_comparison(scenario, claim)
        arm = {**own, **overrides_towards(comparison, units[c])}
        # A lever that adds an entry the comparison lacks would lead nowhere in its arm: the arm keeps the others.
        kept = [lever for lever in scenario.levers if settable_paths(comparison, [lever]) == [lever]]
        if kept != list(scenario.levers):
            arm["levers"] = kept
        arms.append(arm)
    if any("levers" in arm for arm in arms):     # every point of a sweep sets the same paths
        for arm in arms:
            arm.setdefault("levers", list(scenario.levers))
    covered = [p for p in ranges if any(p == q or p.startswith(q + ".") or q.startswith(p + ".") for q in paths)]
    uncertain = [p for p in ranges if p not in covered and p != SIZE_PATH]
    return Plan(paths, arms, comparisons, uncertain, covered)


def robustness_design(scenario: Scenario, plan: Plan, ranges: Mapping[str, UncertainRange],
                      sizes: Sequence[int], samples: int, seed: int) -> tuple[Design, pd.DataFrame]:
    """The sweep's design (size x sample x arm, arm fastest) and the table of cells (size, sample, parameters)."""
    if plan.uncertain and samples > 0:
        lhs = lhs_design({p: (ranges[p].low, ranges[p].high) for p in plan.uncertain}, samples, seed,
                         scenario=scenario, source="uncertainty ranges").points
    else:
        lhs = ({},)
    points, cells = [], []
    for size in sizes:
        for i, values in enumerate(lhs):
            cells.append({"size": int(size), "sample": i, **values})
            for arm in plan.arms:
                points.append({SIZE_PATH: int(size), **values, **arm})
    return points_design(points, source="robustness", kind="robustness"), pd.DataFrame(cells)


@dataclass
class RobustnessResult:
    """Claims judged at every cell, their shares, and the PRIM boxes where they fail."""

    scenario: str
    table: pd.DataFrame
    summary: dict[str, Any]
    out: Path
    parameters: list[str] = field(default_factory=list)


def _check_sizes(sizes: Sequence[int], scenario: Scenario) -> list[int]:
    if not sizes:
        raise ScenarioError.single("--sizes", "", "no population sizes", "one or more integers, e.g. 3000 10000")
    points = points_design([{SIZE_PATH: int(s)} for s in sizes], source="--sizes")
    bad = [s for s in sizes if isinstance(s, bool) or not isinstance(s, (int, np.integer))]
    if bad:
        raise ScenarioError.single("--sizes", "", f"got {bad}", "integers")
    resolve_design(scenario, points)            # each size by the schema's own rules
    return [int(s) for s in sizes]


def check_robustness(scenario: Scenario, ranges: Mapping[str, UncertainRange], sizes: Sequence[int], samples: int,
                     seed: int | None = None) -> tuple[list[int], Plan, Design, pd.DataFrame]:
    """Check a robustness analysis before anything runs: the sizes, samples, arms and every point of the design.

    Returns
    -------
    tuple
        The sizes as integers, the :class:`Plan`, the design and the table of cells.

    Raises
    ------
    ScenarioError
        For a scenario without claims, a bad size or sample count, or a point the schema refuses.
    """
    seed = scenario.seed if seed is None else seed
    sizes = _check_sizes(list(sizes), scenario)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise ScenarioError.single("--samples", "", f"got {samples!r}", "an integer >= 0")
    plan = plan_arms(scenario, ranges)
    design, cells = robustness_design(scenario, plan, ranges, sizes, samples, seed)
    resolve_design(scenario, design)        # every problem before anything is written
    return sizes, plan, design, cells


def run_robustness(scenario: Scenario, ranges: Mapping[str, UncertainRange], *, sizes: Sequence[int] = DEFAULT_SIZES,
                   samples: int = DEFAULT_SAMPLES, replications: int | None = None, seed: int | None = None,
                   out: str | Path | None = None, backend=None, workers: int | None = None, progress: bool = False,
                   overwrite: bool = False, level: float = 0.95, max_boxes: int = 2,
                   uncertainty_file: str | None = None) -> RobustnessResult:
    """Evaluate every claim of ``scenario`` across sizes and a hypercube of ``ranges``; write the results.

    Parameters
    ----------
    scenario : Scenario
        Loaded from a file, with ``claims:``.
    ranges : mapping of path to UncertainRange
        From :func:`sim.scenario.uncertainty.read_uncertainty`.
    sizes : list of int
        Population sizes.
    samples : int
        Latin hypercube points (0: the scenario's own values only).
    replications, seed : int, optional
        Default to the scenario's; the hypercube is drawn from ``seed`` too.
    out : path, optional
        Default ``results/<name>/robustness/``; the same call resumes it.
    backend, workers
        Where the runs execute (see :func:`~sim.experiments.sweep.run_sweep`).
    progress : bool, default False
        Show the sweep's progress bar (runs done, failed, time left).
    overwrite : bool
        Replace an earlier analysis in ``out`` (kept until the new one is complete).
    level : float, default 0.95
        Confidence level of each cell's paired-difference interval, by which
        a claim is judged to hold in that cell (:func:`~sim.experiments.claims.judge`).
        The shares' Wilson intervals are 95% whatever this is.
    max_boxes : int, default 2
        At most this many PRIM boxes (:func:`~sim.experiments.prim.find_boxes`)
        describing where each claim fails, found one after another among the
        cells outside the earlier boxes; fewer when no further box says anything.
    uncertainty_file : str, optional
        Where ``ranges`` came from, recorded in the summary.  The summary
        also records the scenario's side and the content hashes of the
        scenario and of ``ranges``
        (:func:`sim.experiments.robustness_record.content_hashes`), by which
        ``python -m sim list`` tells a stale one.

    Raises
    ------
    ScenarioError
        Before anything is written, for a scenario without claims, a bad size
        or a point the schema refuses.
    """
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    sizes, plan, design, cells = check_robustness(scenario, ranges, sizes, samples, seed)
    out = Path(out) if out is not None else Path("results") / scenario.name / "robustness"
    store.check_out(out, "robustness", overwrite=overwrite, resumable=True)
    args = dict(sizes=sizes, samples=samples, replications=replications, seed=seed, backend=backend,
                workers=workers, progress=progress, level=level, max_boxes=max_boxes,
                uncertainty_file=uncertainty_file,
                identity={"side": side(scenario), **content_hashes(scenario, ranges)})
    if overwrite and out.is_dir() and any(out.iterdir()):
        built: list[RobustnessResult] = []
        store.write_folder(out, lambda tmp: built.append(_run(scenario, plan, design, cells, tmp, **args)),
                           kind="robustness", overwrite=True)
        built[0].out = out
        return built[0]
    out.mkdir(parents=True, exist_ok=True)
    if store.read_marker(out) is None:
        store.write_marker(out, "robustness")
    return _run(scenario, plan, design, cells, out, **args)


def _run(scenario: Scenario, plan: Plan, design: Design, cells: pd.DataFrame, out: Path, *, sizes, samples,
         replications, seed, backend, workers, progress, level, max_boxes, uncertainty_file,
         identity) -> RobustnessResult:
    swept = run_sweep(scenario, design, out=out / "runs", replications=replications, seed=seed, backend=backend,
                      workers=workers, progress=progress, gather_results=False,
                      manifest_extra={"robustness": {"sizes": sizes, "samples": samples,
                                                     "uncertain": plan.uncertain, "arms": len(plan.arms)}})
    if swept.failed:
        raise ScenarioError(out / "runs", [Problem("", f"{len(swept.failed)} of {swept.runs} runs failed",
                                                   "see runs/failures/ and run again to resume")])
    tables = gather(out / "runs", write=False)
    table = judge_cells(scenario, plan, cells, tables, level)
    summary = summarise(scenario, plan, table, sizes=sizes, samples=samples, replications=replications, seed=seed,
                        max_boxes=max_boxes)
    summary["uncertainty_file"] = uncertainty_file
    summary.update(identity)         # side and content hashes: list tells a stale summary by them
    store.write_parquet(out / "robustness.parquet", table, index=False)
    store.write_json(out / "summary.json", summary)
    return RobustnessResult(scenario.name, table, summary, out, plan.uncertain)


def judge_cells(scenario: Scenario, plan: Plan, cells: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                level: float = 0.95) -> pd.DataFrame:
    """One row per (claim, cell): the paired difference, its interval, and whether the claim holds there."""
    by_point = {name: dict(tuple(frame.groupby("point"))) for name, frame in tables.items() if "point" in frame}
    n_arms = len(plan.arms)
    cache: dict[tuple[int, int | None], pd.DataFrame] = {}

    def metrics(point: int, horizon: int | None) -> pd.DataFrame:
        if (point, horizon) not in cache:
            run = {name: parts[point].reset_index(drop=True) for name, parts in by_point.items() if point in parts}
            cache[(point, horizon)] = key_metrics(up_to(run, horizon)).reset_index(drop=True)
        return cache[(point, horizon)]

    rows = []
    for c, claim in enumerate(scenario.claims):
        arm = plan.arm_of(claim.compare_to)
        for index, cell in cells.iterrows():
            first = int(index) * n_arms
            result = judge(claim, metrics(first, claim.horizon), metrics(first + arm, claim.horizon), level)
            rows.append({"claim": c, "metric": result.column, "direction": claim.direction,
                         "compare_to": claim.compare_to, **cell.to_dict(), "difference": result.difference,
                         "low": result.low, "high": result.high, "pairs": result.pairs, "holds": result.holds})
    return pd.DataFrame(rows)


def share(holds: pd.Series) -> dict[str, float]:
    """Cells, cells where the claim holds, their share and its Wilson 95% interval."""
    k, n = int(holds.sum()), int(holds.size)
    p, low, high = wilson_interval(k, n)
    return {"cells": n, "holds": k, "share": float(p), "low": float(low), "high": float(high)}


def summarise(scenario: Scenario, plan: Plan, table: pd.DataFrame, *, sizes, samples, replications, seed,
              max_boxes: int = 2) -> dict[str, Any]:
    """The shares, per claim and size, and the PRIM boxes where each claim fails (as dotted-path ranges)."""
    claims = []
    dims = [*plan.uncertain, *(["size"] if len(sizes) > 1 else [])]
    for c, rows in table.groupby("claim"):
        claim = scenario.claims[int(c)]
        entry = {"metric": rows["metric"].iloc[0], "direction": claim.direction, "compare_to": claim.compare_to,
                 "horizon": claim.horizon, **share(rows["holds"])}
        entry["fragile"] = entry["share"] < FRAGILE_SHARE
        entry["by_size"] = [{"size": int(size), **share(part["holds"])} for size, part in rows.groupby("size")]
        fails = (~rows["holds"].astype(bool)).astype(int).to_numpy()
        boxes = find_boxes(rows[dims].astype(float), fails, max_boxes=max_boxes) if dims and 0 < fails.sum() else []
        entry["failure_boxes"] = [{
            "limits": {(SIZE_PATH if k == "size" else k): [lo, hi] for k, (lo, hi) in box.restricted().items()},
            "coverage": box.coverage, "density": box.density, "mass": box.mass,
            "text": box.describe().replace("size in", f"{SIZE_PATH} in")} for box in boxes]
        claims.append(entry)
    every = table.groupby(["size", "sample"])["holds"].all() if len(table) else pd.Series(dtype=bool)
    source = getattr(scenario, "_source", None)
    return {"scenario": scenario.name, "source": str(Path(source).name) if source else None,
            "sizes": list(sizes), "samples": samples, "replications": replications, "seed": seed,
            "uncertain": plan.uncertain, "left_out": plan.left_out, "claims": claims,
            "all_claims": share(every), "fragile_below": FRAGILE_SHARE}


def read_summary(folder: str | Path) -> dict[str, Any] | None:
    """The summary of a robustness folder (``summary.json``), or None when there is none."""
    try:
        return json.loads(read_text(Path(folder) / "summary.json", "a robustness summary"))
    except (ScenarioError, ValueError):
        return None


__all__ = ["DEFAULT_SAMPLES", "DEFAULT_SIZES", "FRAGILE_SHARE", "Plan", "RobustnessResult", "check_robustness",
           "judge_cells", "plan_arms", "read_summary", "robustness_design", "run_robustness", "share", "summarise"]
