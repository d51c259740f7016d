"""Joint calibration of shared parameters to the stylized facts by ABC-SMC (pyabc).

Method (Beaumont et al. 2009; Toni et al. 2009; pyabc: Schälte et al. 2022):
approximate Bayesian computation by sequential Monte Carlo.  A particle is a
parameter set drawn from the uniform priors of the targets file; evaluating
it runs, for every scenario the fitted targets are measured in, ``R``
replications with the scenario's overrides plus the particle's values, and
reduces each replication's tables with the target's metric
(:mod:`sim.experiments.target_metrics`).  The particle's distance to the
facts is

    d = Σ_targets ((mean_simulated − value) / sd)²,

the sum over fitted (not held-out) targets of squared standardised errors.
Each generation keeps the particles below an epsilon (the median of the
previous generation's distances), perturbs them with a multivariate normal
kernel, and so narrows the weighted particle population towards the
posterior; its weighted quantiles are the parameters' intervals.

Runs use common random numbers: replication ``k`` of every particle draws
from ``SeedSequence(entropy=seed, spawn_key=(k,))``, as in a sweep, so two
particles differ only by their parameters.  The sampler itself (pyabc's
``SingleCoreSampler``) draws from numpy's global generator, which is seeded
from the targets file's seed (and the generation it resumes at) for the
calibration and restored afterwards, so a calibration is reproducible from
its seed.  Parallelism: each particle's ``scenarios × R`` runs go to the
sweep machinery's backend (local process pool, or Dask), as a batch.

Output folder (``--out``; resumable; see :mod:`sim.experiments.store`)::

    OUT/
      .bpsim-results.json   marker (kind "calibration")
      manifest.json         identity: targets digest, priors, population size, seed, replications, version
      history.db            pyabc's SQLite history (every generation); running again resumes from it
      posterior.parquet     last generation's particles: parameters, weight, distance
      generations.csv       epsilon, accepted particles and simulations per generation
      parameters.csv        per parameter: prior range, posterior mean, sd, 2.5% and 97.5% quantiles
      fit.parquet, fit.csv  per target: value, sd, simulated mean and 95% interval at the posterior mean
      calibrated.yaml       the posterior means as a scenario fragment the library can ``extends:``
      calibration.json      a record of the above
      plots/*.png, report.md   written by sim.outputs.calibration_report
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.experiments import store
from sim.experiments.backends import Backend, make_backend
from sim.experiments.stats import mean_ci
from sim.experiments.sweep import RunFunction, default_run_function, function_name
from sim.experiments.target_metrics import MetricUnavailable, measure
from sim.experiments.targets import Prior, Targets, TargetSpec, load_targets, target_overrides
from sim.scenario import Scenario, load_scenario

#: Version of the calibration folder layout, checked on resume.
FORMAT = "bankplatform-sim calibration v1"
HISTORY = "history.db"
DEFAULT_POPULATIONS = 5
DEFAULT_POPULATION_SIZE = 24
#: A target is fitted "within uncertainty" when |simulated mean − value| ≤ this many sd.
WITHIN_SD = 1.96
#: Identity entries of the manifest: a folder with other values holds a different calibration.
IDENTITY = ("format", "targets_digest", "priors", "population_size", "seed", "replications", "run_function",
            "overrides", "package_version")

# Entropy tag mixed with the seed for the sampler's (global numpy) generator.
_SAMPLER_TAG = 0x43414C49  # "CALI"


# --------------------------------------------------------------------------- evaluating a parameter set
@dataclass(frozen=True)
class EvalTask:
    """One run of one scenario group at one parameter set: the runs a worker does."""

    group: int
    replication: int
    seed: int
    scenario: Scenario
    measures: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]
    run_function: RunFunction


def evaluate_task(task: EvalTask) -> tuple[dict[str, float], dict[str, str]]:
    """Run one replication and measure its targets: values, and why a metric was unavailable.

    Module-level so that process pools and Dask workers can import it.
    """
    tables = task.run_function(task.scenario, task.seed, task.replication)
    mine = {name: frame[frame["replication"] == task.replication] if "replication" in frame.columns else frame
            for name, frame in tables.items()}
    values, missing = {}, {}
    for tid, metric, args in task.measures:
        try:
            values[tid] = measure(metric, dict(args), mine, task.scenario)
        except MetricUnavailable as exc:
            values[tid], missing[tid] = float("nan"), str(exc)
    return values, missing


@dataclass
class Evaluation:
    """Per-replication values of each target at one parameter set."""

    values: dict[str, np.ndarray]
    missing: dict[str, str] = field(default_factory=dict)

    def means(self) -> dict[str, float]:
        return {tid: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for tid, v in self.values.items()}


def _groups(targets: Targets, chosen: Sequence[TargetSpec]) -> list[tuple[Path, dict[str, Any], list[TargetSpec]]]:
    """Targets measured in the same scenario with the same overrides share runs."""
    groups: dict[tuple, tuple[Path, dict[str, Any], list[TargetSpec]]] = {}
    for target in chosen:
        overrides = target_overrides(target)
        key = (str(targets.scenario_path(target)), repr(sorted(overrides.items())))
        groups.setdefault(key, (targets.scenario_path(target), overrides, []))[2].append(target)
    return list(groups.values())


class Evaluator:
    """Evaluates parameter sets on a backend: every (scenario group, replication) is one task."""

    def __init__(self, targets: Targets, backend: Backend, *, replications: int, seed: int,
                 run_function: RunFunction | None = None, overrides: Mapping[str, Any] | None = None):
        self.targets = targets
        self.backend = backend
        self.replications = replications
        self.seed = seed
        self.run_function = run_function or default_run_function()
        self.overrides = dict(overrides or {})
        self.evaluations = 0
        self.seconds = 0.0
        self._integers: set[str] | None = None

    def _values(self, params: Mapping[str, float], base: Scenario) -> dict[str, float | int]:
        """The particle's values, integer parameters rounded (as sweeps and sensitivity designs do)."""
        if self._integers is None:
            from sim.experiments.design import integer_paths

            self._integers = integer_paths(base, list(params), str(self.targets.path))
        return {k: int(round(float(v))) if k in self._integers else float(v) for k, v in params.items()}

    def scenarios(self, params: Mapping[str, float], chosen: Sequence[TargetSpec]) -> list[tuple[Scenario, list]]:
        out = []
        for path, overrides, members in _groups(self.targets, chosen):
            if self._integers is None:
                self._values(params, load_scenario(path, {**overrides, **self.overrides}))
            scenario = load_scenario(path, {**overrides, **self.overrides, **self._values(params, None)})
            out.append((scenario, members))
        return out

    def evaluate(self, params: Mapping[str, float], chosen: Sequence[TargetSpec] | None = None,
                 replications: int | None = None) -> Evaluation:
        """Each chosen target's per-replication values at ``params`` (default: the fitted targets)."""
        started = time.perf_counter()
        chosen = self.targets.fitted if chosen is None else chosen
        replications = self.replications if replications is None else replications
        tasks = []
        for g, (scenario, members) in enumerate(self.scenarios(params, chosen)):
            measures = tuple((t.id, t.metric, tuple(sorted(t.args.items()))) for t in members)
            tasks += [EvalTask(g, k, self.seed, scenario, measures, self.run_function) for k in range(replications)]
        values = {t.id: np.full(replications, np.nan) for t in chosen}
        missing: dict[str, str] = {}
        for task, result in self.backend.imap_unordered(evaluate_task, tasks):
            if isinstance(result, BaseException):
                raise RuntimeError(f"a run of the calibration failed: {type(result).__name__}: {result}") from result
            got, lost = result
            for tid, value in got.items():
                values[tid][task.replication] = value
            missing.update(lost)
        self.evaluations += 1
        self.seconds += time.perf_counter() - started
        return Evaluation(values, missing)


def distance(simulated: Mapping[str, float], targets: Sequence[TargetSpec]) -> float:
    """Σ ((simulated − value) / sd)² over ``targets``; infinite when a simulated value is missing."""
    total = 0.0
    for t in targets:
        x = simulated.get(t.id, float("nan"))
        if not np.isfinite(x):
            return float("inf")
        total += ((x - t.value) / t.uncertainty.sd) ** 2
    return float(total)


# --------------------------------------------------------------------------- results
@dataclass
class CalibrationResult:
    """What a calibration found and where it is written."""

    out: Path
    targets: Targets
    posterior: pd.DataFrame          # parameters..., weight, distance
    generations: pd.DataFrame        # t, epsilon, particles, simulations
    parameters: pd.DataFrame         # path, low, high, source, mean, sd, q025, q975
    fit: pd.DataFrame                # per target
    calibrated: dict[str, float]
    seconds: float = 0.0
    evaluations: int = 0
    seconds_per_evaluation: float = float("nan")
    resumed_from: int = 0
    replications: int = 0
    seed: int = 0


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` of a weighted sample (linear in the cumulative weight at sample midpoints)."""
    order = np.argsort(values)
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cum, v))


def summarise_posterior(posterior: pd.DataFrame, priors: Sequence[Prior]) -> pd.DataFrame:
    """Per parameter: prior range and source, weighted posterior mean, sd and 95% interval."""
    w = posterior["weight"].to_numpy(float)
    w = w / w.sum()
    rows = []
    for p in priors:
        x = posterior[p.path].to_numpy(float)
        mean = float(np.sum(w * x))
        rows.append({"parameter": p.path, "low": p.low, "high": p.high, "source": p.source, "mean": mean,
                     "sd": float(np.sqrt(np.sum(w * (x - mean) ** 2))),
                     "q025": weighted_quantile(x, w, 0.025), "q975": weighted_quantile(x, w, 0.975)})
    return pd.DataFrame(rows)


def fit_table(targets: Targets, evaluation: Evaluation) -> pd.DataFrame:
    """Per target: value, sd, simulated mean and 95% interval, standardised error, within uncertainty or not."""
    rows = []
    for t in targets.targets:
        values = evaluation.values.get(t.id, np.array([np.nan]))
        finite = values[np.isfinite(values)]
        if len(finite) >= 2:
            mean, low, high = mean_ci(finite)
        elif len(finite) == 1:
            mean = low = high = float(finite[0])
        else:
            mean = low = high = float("nan")
        z = (mean - t.value) / t.uncertainty.sd
        rows.append({"target": t.id, "source": t.source, "scenario": t.scenario, "metric": t.metric,
                     "value": t.value, "sd": t.uncertainty.sd, "sd_basis": t.uncertainty.basis,
                     "simulated": mean, "low": low, "high": high, "z": z,
                     "within": bool(np.isfinite(z) and abs(z) <= WITHIN_SD), "held_out": t.held_out,
                     "replications": int(len(finite)), "note": evaluation.missing.get(t.id, "")})
    return pd.DataFrame(rows)


def nested(flat: Mapping[str, Any]) -> dict:
    """``{"a.b": 1}`` as ``{"a": {"b": 1}}``."""
    out: dict = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def calibrated_yaml(result: CalibrationResult) -> str:
    """The fitted parameters as a scenario fragment (posterior means), with a header saying where they come from."""
    import yaml

    lines = ["# Shared parameters calibrated jointly to the targets of "
             f"{result.targets.path.name} by ABC-SMC (python -m sim calibrate).",
             "# Posterior means; 95% intervals in parameters.csv and report.md of the calibration folder.",
             "# A scenario uses them with `extends: calibrated.yaml` (its own values win); the library's",
             "# baseline.yaml extends the committed copy, so every library scenario runs at these values."]
    for row in result.parameters.itertuples():
        lines.append(f"#   {row.parameter}: {row.mean:.6g}  [{row.q025:.6g}, {row.q975:.6g}]  prior "
                     f"[{row.low:g}, {row.high:g}] ({row.source})")
    body = yaml.safe_dump(nested({k: float(f"{v:.6g}") for k, v in result.calibrated.items()}), sort_keys=True)
    return "\n".join(lines) + "\n" + body


# --------------------------------------------------------------------------- pyabc
@contextlib.contextmanager
def seeded_global_numpy(seed: int, generation: int) -> Iterator[None]:
    """Seed numpy's global generator (which pyabc draws from) for the block, and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(np.random.SeedSequence([int(seed), _SAMPLER_TAG, int(generation)]).generate_state(1)[0])
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def quiet_pyabc(enabled: bool) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Epsilon",
                                                     "ABC.Distance", "ABC.Population", "ABC.Adaptation")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING if enabled else logging.INFO)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _abc(evaluator: Evaluator, priors: Sequence[Prior], population_size: int):
    import pyabc

    fitted = evaluator.targets.fitted

    def model(parameter) -> dict[str, float]:
        return evaluator.evaluate({p.path: float(parameter[_name(p.path)]) for p in priors}).means()

    def dist(x, x0) -> float:
        return distance(x, fitted)

    prior = pyabc.Distribution(**{_name(p.path): pyabc.RV("uniform", p.low, p.high - p.low) for p in priors})
    return pyabc.ABCSMC(model, prior, dist, population_size=population_size,
                        sampler=pyabc.sampler.SingleCoreSampler())


def _name(path: str) -> str:
    """pyabc parameter names must be identifiers: dots become double underscores."""
    return path.replace(".", "__")


def _history_frames(history, priors: Sequence[Prior]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({p.path: frame[_name(p.path)].to_numpy(float) for p in priors})
    posterior["weight"] = np.asarray(weights, float)
    distances = history.get_weighted_distances(t=history.max_t)
    posterior["distance"] = distances["distance"].to_numpy(float) if len(distances) == len(posterior) else np.nan
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    generations = pd.DataFrame({"generation": pops["t"].astype(int).to_numpy(),
                                "epsilon": pops["epsilon"].astype(float).to_numpy(),
                                "particles": pops["particles"].astype(int).to_numpy(),
                                "simulations": pops["samples"].astype(int).to_numpy()})
    return posterior, generations


# --------------------------------------------------------------------------- the folder
def manifest(targets: Targets, population_size: int, seed: int, replications: int, run_function: RunFunction,
             overrides: Mapping[str, Any]) -> dict[str, Any]:
    from sim.version import __version__

    return {"format": FORMAT, "targets": str(targets.path), "targets_digest": targets.digest(),
            "priors": [[p.path, p.low, p.high] for p in targets.priors], "population_size": int(population_size),
            "seed": int(seed), "replications": int(replications), "run_function": function_name(run_function),
            "overrides": {k: str(v) for k, v in sorted(overrides.items())}, "package_version": __version__}


def _check_same(out: Path, new: Mapping[str, Any]) -> None:
    path = out / store.MANIFEST_NAME
    if not path.is_file():
        return
    import json

    from sim.inputs import read_text

    try:
        old = json.loads(read_text(path, "a calibration manifest"))
    except ValueError as exc:
        raise ScenarioError.single(path, "", f"is not valid JSON: {exc}",
                                   "a manifest written by `calibrate`, or --overwrite") from None
    problems = [Problem(key, f"was {old.get(key)!r}, now {new.get(key)!r}") for key in IDENTITY
                if old.get(key) != new.get(key)]
    if problems:
        problems.append(Problem("", "this folder holds a different calibration",
                                "--overwrite to start over, or a new --out folder"))
        raise ScenarioError(path, problems)


def default_out(targets: Targets, population_size: int, seed: int, replications: int,
                root: str | Path = Path("results") / "calibration") -> Path:
    import hashlib

    key = f"{targets.digest()}|{population_size}|{seed}|{replications}"
    return Path(root) / f"{targets.path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def run_calibration(
    targets: Targets | str | Path,
    *,
    out: str | Path | None = None,
    populations: int = DEFAULT_POPULATIONS,
    population_size: int = DEFAULT_POPULATION_SIZE,
    replications: int | None = None,
    seed: int | None = None,
    backend: Backend | str | None = None,
    workers: int | None = None,
    run_function: RunFunction | None = None,
    overrides: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    fit_replications: int | None = None,
) -> CalibrationResult:
    """Fit the targets file's parameters to its fitted targets jointly by ABC-SMC; write the results.

    Parameters
    ----------
    targets : Targets or path
        A checked targets file (:func:`~sim.experiments.targets.load_targets`).
    out : path, optional
        The calibration folder; default ``results/calibration/<targets>-<hash>/``.
        The same calibration in the same folder resumes from ``history.db``
        (a larger ``populations`` adds generations); a different one is
        refused unless ``overwrite``.
    populations : int
        ABC-SMC generations in all (the budget).
    population_size : int
        Accepted particles per generation.
    replications, seed : int, optional
        Default to the targets file's.
    backend, workers
        Where each particle's runs execute (see :func:`~sim.experiments.backends.make_backend`).
    run_function : callable, optional
        ``(scenario, seed, replication) -> tables``; default the model
        (:func:`~sim.experiments.replicate.run_replication`).
    overrides : mapping, optional
        Applied to every target's scenario (``--set``), before the particle's values.
    overwrite : bool
        Replace a folder holding another calibration (built aside, swapped in when complete).
    progress : bool, default True
        Let pyabc report each generation as it runs (its ``ABC`` loggers at
        INFO); False keeps them to warnings.
    fit_replications : int, optional
        Replications of the fit at the posterior mean; default ``max(replications, 8)``.

    Raises
    ------
    ScenarioError
        Before anything is written: bad counts, an ``out`` that is not ours or
        holds another calibration (without ``overwrite``), a fitted target
        whose metric the runs cannot give.
    """
    from sim.experiments.design import check_number, check_scenario_number

    started = time.perf_counter()
    if not isinstance(targets, Targets):
        targets = load_targets(targets)
    replications = targets.replications if replications is None else replications
    seed = targets.seed if seed is None else seed
    check_scenario_number("replications", replications, "--replications")
    check_scenario_number("seed", seed, "--seed")
    check_number(populations, "--budget", low=1)
    check_number(population_size, "--population-size", low=2)
    fit_replications = max(replications, 8) if fit_replications is None else fit_replications
    run_function = run_function or default_run_function()
    overrides = dict(overrides or {})
    out = Path(out) if out is not None else default_out(targets, population_size, seed, replications)
    record = manifest(targets, population_size, seed, replications, run_function, overrides)
    store.check_out(out, "calibration", overwrite=overwrite, resumable=True)
    if not overwrite and out.is_dir():
        _check_same(out, record)
    kwargs = dict(populations=populations, population_size=population_size, replications=replications, seed=seed,
                  run_function=run_function, overrides=overrides, progress=progress,
                  fit_replications=fit_replications)

    owns = not isinstance(backend, Backend)
    runner = make_backend(backend, workers=workers)
    runner.start()
    try:
        evaluator = Evaluator(targets, runner, replications=replications, seed=seed, run_function=run_function,
                              overrides=overrides)
        _probe(evaluator, targets)
        if overwrite and out.is_dir() and any(out.iterdir()):
            built: list[CalibrationResult] = []
            store.write_folder(out, lambda tmp: built.append(_calibrate_into(tmp, targets, evaluator, record,
                                                                              locked=True, **kwargs)),
                               kind="calibration", overwrite=True)
            result = built[0]
            result.out = out
        else:
            result = _calibrate_into(out, targets, evaluator, record, **kwargs)
    finally:
        if owns:
            runner.close()
    result.seconds = time.perf_counter() - started
    return result


def _probe(evaluator: Evaluator, targets: Targets) -> None:
    """One replication at the priors' midpoints, so a fitted metric the runs cannot give fails before any writing."""
    middle = {p.path: 0.5 * (p.low + p.high) for p in targets.priors}
    probe = evaluator.evaluate(middle, targets.fitted, replications=1)
    problems = [Problem(f"targets[{i}].metric", f"{t.metric} cannot be measured in {t.scenario}: "
                        f"{probe.missing[t.id]}", "a metric these runs can give, or held_out: true")
                for i, t in enumerate(targets.targets) if t.id in probe.missing and not t.held_out]
    if problems:
        raise ScenarioError(targets.path, problems)


def _calibrate_into(out: Path, targets: Targets, evaluator: Evaluator, record: Mapping[str, Any], *,
                    locked: bool = False, populations: int, population_size: int, replications: int, seed: int,
                    run_function: RunFunction, overrides: Mapping[str, Any], progress: bool,
                    fit_replications: int) -> CalibrationResult:
    """Run or resume the ABC in ``out`` and write its results there (``locked``: the caller holds its lock)."""
    out.mkdir(parents=True, exist_ok=True)
    lock = store.FolderLock(out, what="another calibration")
    if not locked:
        lock.acquire()
    try:
        if store.read_marker(out) is None:
            store.write_marker(out, "calibration")
        if not (out / store.MANIFEST_NAME).is_file():
            store.write_manifest(out, record)
        db = f"sqlite:///{(out / HISTORY).resolve()}"
        abc = _abc(evaluator, targets.priors, population_size)
        done = 0
        with quiet_pyabc(not progress):
            if (out / HISTORY).is_file():
                history = abc.load(db, 1)
                done = history.max_t + 1
            else:
                abc.new(db, {t.id: t.value for t in targets.fitted})
            if populations > done:
                with seeded_global_numpy(seed, done):
                    history = abc.run(max_nr_populations=populations - done,
                                      max_total_nr_simulations=populations * population_size * 200)
            else:
                history = abc.history
        posterior, generations = _history_frames(history, targets.priors)
        parameters = summarise_posterior(posterior, targets.priors)
        calibrated = dict(zip(parameters["parameter"], parameters["mean"], strict=True))
        per_eval = evaluator.seconds / max(evaluator.evaluations, 1)
        fit = fit_table(targets, evaluator.evaluate(calibrated, targets.targets, replications=fit_replications))
        result = CalibrationResult(out, targets, posterior, generations, parameters, fit, calibrated,
                                   evaluations=evaluator.evaluations, seconds_per_evaluation=per_eval,
                                   resumed_from=done, replications=replications, seed=seed)
        write_results(result)
    finally:
        lock.release()
    return result


def write_results(result: CalibrationResult) -> None:
    """posterior.parquet, generations.csv, parameters.csv, fit.parquet/csv, calibrated.yaml, calibration.json."""
    out = result.out
    store.write_parquet(out / "posterior.parquet", result.posterior, index=False)
    store.write_text(out / "generations.csv", result.generations.to_csv(index=False))
    store.write_text(out / "parameters.csv", result.parameters.to_csv(index=False))
    store.write_parquet(out / "fit.parquet", result.fit, index=False)
    store.write_text(out / "fit.csv", result.fit.to_csv(index=False))
    store.write_text(out / "calibrated.yaml", calibrated_yaml(result))
    store.write_json(out / "calibration.json", {
        "targets": str(result.targets.path), "calibrated": result.calibrated,
        "generations": len(result.generations), "evaluations_this_call": result.evaluations,
        "seconds_per_evaluation": round(result.seconds_per_evaluation, 3),
        "parameters": result.parameters.to_dict(orient="records"),
        "fit": result.fit.to_dict(orient="records")}, default=str)


__all__ = ["CalibrationResult", "Evaluator", "EvalTask", "distance", "evaluate_task", "fit_table",
           "run_calibration", "summarise_posterior", "weighted_quantile"]
