"""Global sensitivity analysis with SALib: Morris screening and Sobol' indices.

One code path serves a plain function and the model: :func:`sample` draws the
parameter matrix, something evaluates it (a vectorised function in
:func:`analyze_function`, or a resumable sweep of the scenario in
:func:`run_sensitivity`), and :func:`analyze` turns the outputs into an
indices table with 95% confidence intervals.  Testing the first path on a
function with known indices (Ishigami) therefore tests the sampler and
analyser the model path uses.

- **Morris** (Morris 1991; Campolongo, Cariboni & Saltelli 2007): ``samples``
  trajectories of ``D + 1`` points on a ``levels``-level grid; ``mu_star``
  (mean absolute elementary effect) ranks the parameters, ``sigma`` flags
  interactions and non-linearity.  Cheap screening.
- **Sobol'** (Sobol' 2001; Saltelli 2002; Saltelli et al. 2010): ``samples``
  base points (a power of 2) of Saltelli's scheme, ``N (D + 2)`` evaluations
  (``N (2D + 2)`` with second-order indices); ``S1`` is the share of the
  output variance due to a parameter alone, ``ST`` including its
  interactions.  ``ST`` ranks the parameters.

On the model, the metric of a design point is the mean over replications of a
final-step value, either a column of the ``market`` table (``active``) or of
one institution's row (``institution:<id>:<column>``).  Every point uses the
same replication seeds (common random numbers), so a parameter the metric
does not depend on gets exactly zero effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.experiments import store
from sim.experiments.backends import Backend
from sim.experiments.design import integer_paths, parse_range, points_design, points_from_matrix, resolve_design
from sim.experiments.metrics import MetricSpec, metric_by_point, metric_values, parse_metric
from sim.experiments.store import write_json
from sim.experiments.sweep import RunFunction, SweepResult, default_run_function, gather, run_sweep, scenario_hash
from sim.scenario import Scenario, load_scenario, with_overrides

Method = Literal["morris", "sobol"]
METHODS = ("morris", "sobol")

#: Default sample sizes: Morris trajectories, Sobol' base points.
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}

# Entropy tags mixed with the user's seed so the sampler, the bootstrap and the replications use distinct streams.
_SAMPLE_TAG = 0x53414D50  # "SAMP"
_ANALYZE_TAG = 0x414E4C5A  # "ANLZ"


@dataclass
class SensitivityResult:
    """Indices of one analysis and the sample they come from.

    Attributes
    ----------
    method : {"morris", "sobol"}
    metric : str
        What was analysed (a model metric, or ``"f"`` for a function).
    bounds : dict of str to (float, float)
    indices : DataFrame
        One row per parameter: Morris ``mu, mu_star, mu_star_conf, sigma``;
        Sobol' ``S1, S1_conf, ST, ST_conf`` (``*_conf`` is the half-width of
        the 95% bootstrap interval); and ``rank`` (1 = most influential, by
        ``mu_star`` or ``ST``).
    X : ndarray, shape (n, D)
        The sample, as drawn (before integer parameters were rounded).
    Y : ndarray, shape (n,)
        The output at each sample row.
    second_order : DataFrame or None
        Sobol' ``S2`` with intervals per pair, when asked for.
    out : Path or None
        Where indices, plot and sample were written.
    sweep : SweepResult or None
        The sweep that evaluated the model.
    """

    method: str
    metric: str
    bounds: dict[str, tuple[float, float]]
    indices: pd.DataFrame
    X: np.ndarray
    Y: np.ndarray
    second_order: pd.DataFrame | None = None
    out: Path | None = None
    sweep: SweepResult | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- sampling and analysis
def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ScenarioError.single("--method", "", f"got {method!r}", ", ".join(METHODS))


def check_bounds(bounds: Mapping[str, tuple[float, float]], source: str = "--param") -> dict[str, tuple[float, float]]:
    """Bounds as floats with ``low < high`` (a sensitivity needs a range to vary over)."""
    if not bounds:
        raise ScenarioError.single(source, "", "no parameters", "at least one PATH=LOW:HIGH")
    return {path: parse_range(path, lo, hi, source, strict=True) for path, (lo, hi) in bounds.items()}


def _check_samples(method: str, samples: int) -> None:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ScenarioError.single("--samples", "", f"got {samples!r}", "an integer >= 2")
    if method == "sobol" and samples & (samples - 1):
        raise ScenarioError.single("--samples", "", f"got {samples}, but Sobol' sampling needs a power of 2",
                                   "e.g. 32, 64, 128, 256")


def salib_problem(bounds: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """The ``problem`` dict SALib wants."""
    return {"num_vars": len(bounds), "names": list(bounds), "bounds": [list(b) for b in bounds.values()]}


def sample(method: Method, bounds: Mapping[str, tuple[float, float]], samples: int, seed: int,
           *, levels: int = 4, second_order: bool = False) -> np.ndarray:
    """Draw the parameter matrix of a Morris or Sobol' analysis.

    Parameters
    ----------
    method : {"morris", "sobol"}
    bounds : mapping of name to (low, high)
    samples : int
        Morris: number of trajectories.  Sobol': base sample size ``N`` (a power of 2).
    seed : int
        The draw comes from ``SeedSequence([seed, tag])`` through a numpy Generator.
    levels : int
        Morris grid levels (even; 4 is usual).
    second_order : bool
        Sobol': also draw the rows needed for second-order indices.

    Returns
    -------
    ndarray, shape (n, D)
        ``n = samples (D + 1)`` for Morris, ``samples (D + 2)`` or ``samples (2D + 2)`` for Sobol'.
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    _check_method(method)
    bounds = check_bounds(bounds)
    _check_samples(method, samples)
    problem = salib_problem(bounds)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _SAMPLE_TAG]))
    if method == "morris":
        return morris_sample.sample(problem, int(samples), num_levels=levels, seed=rng)
    return sobol_sample.sample(problem, int(samples), calc_second_order=second_order, scramble=True, seed=rng)


def _analysis_seed(seed: int) -> int:
    # SALib's Sobol' analyser falls back to numpy's global generator when the seed is 0: never pass 0.
    return int(np.random.SeedSequence([int(seed), _ANALYZE_TAG]).generate_state(1)[0]) or 1


def analyze(method: Method, bounds: Mapping[str, tuple[float, float]], X: np.ndarray, Y: np.ndarray, seed: int,
            *, levels: int = 4, second_order: bool = False, resamples: int = 1000,
            conf_level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Compute the indices of a Morris or Sobol' sample with bootstrap confidence intervals.

    Returns
    -------
    indices : DataFrame
        One row per parameter (see :class:`SensitivityResult`), in ``bounds`` order.
    second_order : DataFrame or None
        Sobol' ``S2`` per pair when ``second_order``.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    _check_method(method)
    bounds = check_bounds(bounds)
    problem = salib_problem(bounds)
    Y = np.asarray(Y, dtype=float).ravel()
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{np.count_nonzero(~np.isfinite(Y))} outputs are not finite; indices need every output")
    names = list(bounds)
    pairs = None
    if method == "morris":
        res = morris_analyze.analyze(problem, np.asarray(X), Y, num_resamples=resamples, conf_level=conf_level,
                                     num_levels=levels, seed=_analysis_seed(seed))
        table = pd.DataFrame({"parameter": names, "mu": np.asarray(res["mu"], float),
                              "mu_star": np.asarray(res["mu_star"], float),
                              "mu_star_conf": np.asarray(res["mu_star_conf"], float),
                              "sigma": np.asarray(res["sigma"], float)})
        key = "mu_star"
    else:
        if np.var(Y) == 0.0:
            raise ScenarioError.single(
                "--metric",
                "",
                "is the same at every sample point, so its variance cannot be apportioned",
                "a metric that varies with the parameters",
            )
        res = sobol_analyze.analyze(problem, Y, calc_second_order=second_order, num_resamples=resamples,
                                    conf_level=conf_level, seed=_analysis_seed(seed))
        table = pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"],
                              "ST": res["ST"], "ST_conf": res["ST_conf"]})
        key = "ST"
        if second_order:
            rows = [
                {
                    "parameter_1": names[i],
                    "parameter_2": names[j],
                    "S2": res["S2"][i, j],
                    "S2_conf": res["S2_conf"][i, j],
                }
                for i in range(len(names))
                for j in range(i + 1, len(names))
            ]
            pairs = pd.DataFrame(rows)
    # Rank 1 = most influential; ties (e.g. several exact zeros) share the worst rank.
    table["rank"] = table[key].rank(ascending=False, method="max").astype(int)
    return table, pairs


def analyze_function(fn: Callable[[np.ndarray], np.ndarray], bounds: Mapping[str, tuple[float, float]],
                     method: Method = "sobol", samples: int | None = None, seed: int = 0, *, levels: int = 4,
                     second_order: bool = False, resamples: int = 1000) -> SensitivityResult:
    """Sensitivity of a vectorised function ``fn(X) -> Y`` (rows of X are samples).

    The same :func:`sample` and :func:`analyze` the model path uses; for
    checking the method on functions with known indices, and for metamodels.
    """
    samples = DEFAULT_SAMPLES.get(method, 0) if samples is None else samples
    X = sample(method, bounds, samples, seed, levels=levels, second_order=second_order)
    Y = np.asarray(fn(X), dtype=float).ravel()
    assert Y.shape == (len(X),), f"fn returned {Y.shape} outputs for {len(X)} sample rows"
    indices, pairs = analyze(method, bounds, X, Y, seed, levels=levels, second_order=second_order, resamples=resamples)
    return SensitivityResult(method, getattr(fn, "__name__", "f"), dict(check_bounds(bounds)), indices, X, Y, pairs)


# --------------------------------------------------------------------------- metrics of the model
def _probe_metric(scenario: Scenario, metric: MetricSpec, run_function: RunFunction | None) -> None:
    """Check the metric's column on a one-step run, so a typo fails before the sweep, not after it."""
    run_function = run_function or default_run_function()
    try:
        probe = with_overrides(scenario, {"time.steps": 1}, source="metric check")
    except ScenarioError:
        return
    tables = {name: frame.assign(point=0) for name, frame in run_function(probe, 0, 0).items()}
    metric_values(tables, metric)


# --------------------------------------------------------------------------- the model path
def default_out(scenario: Scenario, method: str, bounds: Mapping, metric: str, samples: int, seed: int,
                replications: int, root: str | Path = Path("results") / "sensitivity") -> Path:
    """A folder the same analysis always gets, so re-running the command resumes its sweep."""
    key = json.dumps([scenario_hash(scenario), method, {k: list(v) for k, v in bounds.items()}, metric, samples, seed,
                      replications], sort_keys=True)
    return Path(root) / f"{scenario.name}-{method}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def run_sensitivity(
    scenario: Scenario | str | Path,
    bounds: Mapping[str, tuple[float, float]],
    metric: str,
    method: Method = "morris",
    *,
    samples: int | None = None,
    out: str | Path | None = None,
    replications: int | None = None,
    seed: int | None = None,
    levels: int = 4,
    second_order: bool = False,
    resamples: int = 1000,
    backend: Backend | str | None = None,
    workers: int | None = None,
    progress: bool = True,
    plot: bool = True,
    run_function: RunFunction | None = None,
    overwrite: bool = False,
) -> SensitivityResult:
    """Morris or Sobol' indices of a model metric over parameter ranges.

    The sample's rows become the design points of a sweep (in ``out/runs/``,
    resumable like any sweep); each point's metric is the mean over
    replications of the final-step value; :func:`analyze` gives the indices.
    Writes ``indices.csv``, ``indices.png``, ``samples.csv`` and
    ``sensitivity.json`` into ``out``.

    Parameters
    ----------
    scenario : Scenario or path
    bounds : mapping of dotted path to (low, high)
        Integer parameters are rounded when applied.
    metric : str
        ``COLUMN`` of the market table (e.g. ``active``) or ``institution:<id>:<column>``.
    method : {"morris", "sobol"}
    samples : int, optional
        Morris trajectories (default 10) or Sobol' base size (power of 2, default 64).
    out : path, optional
        Default ``results/sensitivity/<scenario>-<method>-<hash>/``.
    replications, seed : int, optional
        Default to the scenario's.  The seed also fixes the sample and bootstrap.
    levels, second_order, resamples
        Morris levels; Sobol' second-order indices; bootstrap resamples.
    backend, workers, progress, run_function
        As for :func:`~sim.experiments.sweep.run_sweep`.
    plot : bool
        Write ``indices.png``.
    overwrite : bool
        Start over in a folder that holds an earlier analysis (of any
        parameters): the new analysis is built in a temporary folder and
        replaces the old one once complete.  Without it, an earlier analysis
        of the same parameters is resumed and a different one is refused.
        Either way, a folder of files this program did not write is refused.

    Raises
    ------
    ScenarioError
        Before any run: a bad path, range, metric, sample size or scheduler,
        or an ``out`` that is not a sensitivity folder of ours (see
        :func:`sim.experiments.store.check_out`).
    """
    _check_method(method)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    bounds = check_bounds(bounds)
    samples = DEFAULT_SAMPLES[method] if samples is None else samples
    _check_samples(method, samples)
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    spec = parse_metric(metric, scenario.institution_ids)

    X = sample(method, bounds, samples, seed, levels=levels, second_order=second_order)
    integers = integer_paths(scenario, list(bounds), "--param")
    design = points_design(points_from_matrix(X, list(bounds), integers), source="--param", kind=method)
    resolve_design(scenario, design)  # every problem with paths or values, before the probe or any run
    _probe_metric(scenario, spec, run_function)

    out = Path(out) if out is not None else default_out(scenario, method, bounds, metric, samples, seed, replications)
    store.check_out(out, "sensitivity", overwrite=overwrite, resumable=True)
    if overwrite and out.is_dir() and any(out.iterdir()):
        built: list[SensitivityResult] = []

        def fill(tmp: Path) -> None:
            built.append(run_sensitivity(scenario, bounds, metric, method, samples=samples, out=tmp,
                                         replications=replications, seed=seed, levels=levels,
                                         second_order=second_order, resamples=resamples, backend=backend,
                                         workers=workers, progress=progress, plot=plot, run_function=run_function))

        store.write_folder(out, fill, kind="sensitivity", overwrite=True)
        result = built[0]
        result.out = out
        result.sweep.out = out / "runs"
        return result
    out.mkdir(parents=True, exist_ok=True)
    if store.read_marker(out) is None:
        store.write_marker(out, "sensitivity")
    extra = {"metric": metric, "sensitivity": {"method": method, "samples": samples, "levels": levels,
                                               "second_order": second_order,
                                               "bounds": {k: list(v) for k, v in bounds.items()}}}
    swept = run_sweep(scenario, design, out=out / "runs", replications=replications, seed=seed, backend=backend,
                      workers=workers, progress=progress, gather_results=False, run_function=run_function,
                      manifest_extra=extra)
    tables = gather(out / "runs", tables=[spec.table], write=False)
    Y = metric_by_point(tables, spec, len(design))
    missing = np.flatnonzero(~np.isfinite(Y))
    if len(missing):
        which = ", ".join(str(p) for p in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise ScenarioError(
            out / "runs",
            [
                Problem(
                    "",
                    f"{len(missing)} of {len(Y)} design points have no value for "
                    f"{metric} (failed runs or missing values): points {which}",
                    "fix the failures listed in runs/failures.csv and run again to resume",
                )
            ],
        )
    indices, pairs = analyze(method, bounds, X, Y, seed, levels=levels, second_order=second_order, resamples=resamples)
    result = SensitivityResult(method, metric, bounds, indices, X, Y, pairs, out, swept)
    write_sensitivity(result, seed=seed, replications=replications, samples=samples, plot=plot)
    return result


def write_sensitivity(
    result: SensitivityResult, *, seed: int, replications: int, samples: int, plot: bool = True
) -> None:
    """Write indices (CSV), the sample with its outputs, a JSON record and the plot into ``result.out``."""
    out = result.out
    out.mkdir(parents=True, exist_ok=True)
    result.indices.to_csv(out / "indices.csv", index=False)
    if result.second_order is not None:
        result.second_order.to_csv(out / "indices_second_order.csv", index=False)
    frame = pd.DataFrame(result.X, columns=list(result.bounds))
    frame.insert(0, "point", range(len(frame)))
    frame[result.metric] = result.Y
    frame.to_csv(out / "samples.csv", index=False)
    record = {
        "method": result.method,
        "metric": result.metric,
        "bounds": {k: list(v) for k, v in result.bounds.items()},
        "samples": samples,
        "evaluations": len(result.Y),
        "replications": replications,
        "seed": seed,
        "indices": json.loads(result.indices.to_json(orient="records")),
    }
    write_json(out / "sensitivity.json", record)
    if plot:
        plot_indices(result, out / "indices.png")


def plot_indices(result: SensitivityResult, path: str | Path) -> Path:
    """Bar chart of the indices with 95% intervals (Morris also: mu_star against sigma)."""
    from matplotlib.figure import Figure

    table = result.indices.sort_values("rank", ascending=False)  # most influential at the top
    names = table["parameter"].tolist()
    y = np.arange(len(names))
    height = 1.6 + 0.45 * len(names)
    if result.method == "sobol":
        fig = Figure(figsize=(8, height), layout="constrained")
        ax = fig.add_subplot()
        ax.barh(y + 0.2, table["ST"], 0.4, xerr=table["ST_conf"], label="total (ST)", color="#1f4e79", capsize=3)
        ax.barh(y - 0.2, table["S1"], 0.4, xerr=table["S1_conf"], label="first order (S1)", color="#8fb3d9", capsize=3)
        ax.set_xlabel("Sobol' index (share of output variance), 95% bootstrap interval")
        ax.axvline(0, color="0.5", linewidth=0.8)
        ax.legend(loc="lower right")
    else:
        fig = Figure(figsize=(11, height), layout="constrained")
        ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
        ax.barh(y, table["mu_star"], 0.6, xerr=table["mu_star_conf"], color="#1f4e79", capsize=3)
        ax.set_xlabel("mu* (mean |elementary effect|), 95% bootstrap interval")
        ax2.scatter(table["mu_star"], table["sigma"], color="#1f4e79")
        for _, row in table.iterrows():
            ax2.annotate(row["parameter"], (row["mu_star"], row["sigma"]), fontsize=7, xytext=(3, 3),
                         textcoords="offset points")
        ax2.margins(x=0.3, y=0.15)  # room for the labels
        ax2.set_xlabel("mu*")
        ax2.set_ylabel("sigma (interactions, non-linearity)")
        ax2.set_title("Morris: mu* against sigma")
    ax.set_yticks(y, names)
    ax.set_title(f"{'Sobol' + chr(39) if result.method == 'sobol' else 'Morris'} sensitivity of {result.metric}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


__all__ = [
    "METHODS",
    "SensitivityResult",
    "analyze",
    "analyze_function",
    "plot_indices",
    "run_sensitivity",
    "sample",
]
