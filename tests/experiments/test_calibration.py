"""ABC-SMC calibration recovers known parameters of a toy model; loader, distance and posterior summaries.

The toy model is a plain function of two scenario parameters plus Gaussian
noise, registered as the calibration's run function (no simulation), so the
true parameters are known and the whole machinery — targets file, priors,
backend, pyabc, posterior, fit table, output folder — runs in seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.errors import ScenarioError
from sim.experiments import target_metrics
from sim.experiments.calibration import distance, run_calibration, weighted_quantile
from sim.experiments.target_metrics import TargetMetric
from sim.experiments.targets import load_targets
from sim.scenario.uncertainty import UncertainRange, read_uncertainty

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
SOURCES = ROOT / "docs" / "sources.md"
A, B = "banks.a.referral.rate", "banks.b.referral.rate"
TRUE = {A: 0.06, B: 0.14}
NOISE = 0.01


def toy_run(scenario, seed, replication):
    """y1 = a + b, y2 = a - 2 b, y3 = 3 a, each plus N(0, NOISE²) noise from the replication's seed."""
    from sim.experiments.replicate import replication_seed

    rng = np.random.default_rng(replication_seed(seed, replication))
    a, b = scenario.banks["a"].referral.rate, scenario.banks["b"].referral.rate
    y = np.array([a + b, a - 2 * b, 3 * a]) + rng.normal(0, NOISE, 3)
    return {"toy": pd.DataFrame({"replication": [replication], "y1": [y[0]], "y2": [y[1]], "y3": [y[2]]})}


def _toy_metric(column):
    return lambda tables, scenario: float(tables["toy"][column].iloc[0])


@pytest.fixture
def toy_metrics():
    added = {f"toy_{c}": TargetMetric(f"toy_{c}", _toy_metric(c), (), "toy", "none") for c in ("y1", "y2", "y3")}
    target_metrics.METRICS.update(added)
    yield
    for name in added:
        target_metrics.METRICS.pop(name)


def write_targets(folder: Path, *, held_out_y3=True, priors=None, **changes) -> Path:
    a, b = TRUE[A], TRUE[B]
    values = {"y1": a + b, "y2": a - 2 * b, "y3": 3 * a}
    data = {
        "parameters": {"priors": priors or {A: {"low": 0.0, "high": 0.2}, B: {"low": 0.0, "high": 0.3}}},
        "replications": 4, "seed": 7,
        "targets": [{"id": f"toy_{c}", "source": "SF3", "scenario": str(TINY), "metric": f"toy_{c}",
                     "value": v, "uncertainty": {"sd": 0.01, "basis": "assumption"},
                     "held_out": held_out_y3 and c == "y3"} for c, v in values.items()],
    }
    data.update(changes)
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_abc_recovers_the_true_parameters_of_a_toy_model(tmp_path, toy_metrics):
    targets = load_targets(write_targets(tmp_path), sources=SOURCES)
    result = run_calibration(targets, out=tmp_path / "out", populations=5, population_size=60, backend="serial",
                             run_function=toy_run, progress=False)
    params = result.parameters.set_index("parameter")
    for path, truth in TRUE.items():
        row = params.loc[path]
        assert row["q025"] <= truth <= row["q975"], f"{path}: truth {truth} outside [{row.q025:.4f}, {row.q975:.4f}]"
        # Tolerance: two targets of sd 0.01 pin a + b and a - 2b, so each parameter to about 0.01;
        # the posterior mean lies within 0.02 of the truth (and within 3 posterior sd).
        assert abs(row["mean"] - truth) < 0.02, f"{path}: mean {row['mean']:.4f}, truth {truth}"
        assert abs(row["mean"] - truth) < 3 * row["sd"] + 1e-3
        assert row["q975"] - row["q025"] < 0.5 * (row["high"] - row["low"]), "the data narrowed the prior"
    fit = result.fit.set_index("target")
    assert fit["within"].all(), fit
    assert fit.loc["toy_y3", "held_out"] and not fit.loc["toy_y1", "held_out"]
    # Epsilon falls from generation to generation.
    eps = result.generations["epsilon"].to_numpy()
    assert len(eps) == 5 and np.all(np.diff(eps[1:]) <= 0)
    for name in ("posterior.parquet", "fit.parquet", "fit.csv", "calibrated.yaml", "history.db", "parameters.csv"):
        assert (tmp_path / "out" / name).is_file()
    fragment = yaml.safe_load((tmp_path / "out" / "calibrated.yaml").read_text())
    assert fragment["banks"]["a"]["referral"]["rate"] == pytest.approx(params.loc[A, "mean"], rel=1e-5)


def test_same_seed_same_posterior_and_resume_adds_generations(tmp_path, toy_metrics):
    targets = load_targets(write_targets(tmp_path), sources=SOURCES)
    kwargs = dict(population_size=20, backend="serial", run_function=toy_run, progress=False)
    first = run_calibration(targets, out=tmp_path / "one", populations=2, **kwargs)
    again = run_calibration(targets, out=tmp_path / "two", populations=2, **kwargs)
    pd.testing.assert_frame_equal(first.posterior, again.posterior)
    more = run_calibration(targets, out=tmp_path / "one", populations=3, **kwargs)
    assert more.resumed_from == 2 and len(more.generations) == 3
    with pytest.raises(ScenarioError, match="different calibration"):
        run_calibration(targets, out=tmp_path / "one", populations=3, **{**kwargs, "population_size": 21})


def test_distance_is_the_sum_of_squared_standardised_errors(tmp_path, toy_metrics):
    targets = load_targets(write_targets(tmp_path), sources=SOURCES)
    fitted = targets.fitted
    sim = {t.id: t.value + 2 * t.uncertainty.sd for t in fitted}
    assert distance(sim, fitted) == pytest.approx(4.0 * len(fitted))
    assert distance({**sim, fitted[0].id: float("nan")}, fitted) == float("inf")


def test_weighted_quantile_matches_an_unweighted_sample():
    rng = np.random.default_rng(1)
    x = rng.normal(size=4001)
    assert weighted_quantile(x, np.ones_like(x), 0.5) == pytest.approx(np.median(x), abs=1e-3)
    # Doubling the weight of a value is like repeating it.
    assert weighted_quantile(np.array([0.0, 1.0]), np.array([3.0, 1.0]), 0.5) < 0.5


@pytest.mark.parametrize("change, match", [
    ({"parameters": {"priors": {A: {"low": 0.2, "high": 0.1}}}}, r"priors\.banks\.a\.referral\.rate\.low"),
    ({"targets": [{"id": "x", "source": "SF99", "scenario": str(TINY), "metric": "p2p_failure_share",
                   "value": 1, "uncertainty": {"sd": 0.1, "basis": "assumption"}}]}, r"targets\[0\]\.source"),
    ({"targets": [{"id": "x", "source": "SF1", "scenario": str(TINY), "metric": "no_such",
                   "value": 1, "uncertainty": {"sd": 0.1, "basis": "assumption"}}]}, r"targets\[0\]\.metric"),
    ({"targets": [{"id": "x", "source": "SF1", "scenario": "missing.yaml", "metric": "p2p_failure_share",
                   "value": 1, "uncertainty": {"sd": 0.1, "basis": "assumption"}}]}, r"targets\[0\]\.scenario"),
    ({"targets": [{"id": "x", "source": "SF1", "scenario": str(TINY), "metric": "p2p_failure_share",
                   "value": 1, "uncertainty": {"sd": 0, "basis": "assumption"}}]}, r"targets\[0\]\.uncertainty\.sd"),
    ({"targets": [{"id": "x", "source": "SF1", "scenario": str(TINY), "metric": "annual_retention",
                   "value": 1, "uncertainty": {"sd": 1, "basis": "assumption"}}]}, r"targets\[0\]\.args"),
    ({"parameters": {"priors": {"banks.a.nope": {"low": 0, "high": 1}}}}, r"nope"),
])
def test_bad_targets_files_name_the_key_path(tmp_path, toy_metrics, change, match):
    path = write_targets(tmp_path, **change)
    with pytest.raises(ScenarioError, match=match) as info:
        load_targets(path, sources=SOURCES)
    assert str(path) in str(info.value)


def test_uncertainty_file_gives_priors_and_rejects_empty_ranges(tmp_path, toy_metrics):
    (tmp_path / "uncertainty.yaml").write_text(yaml.safe_dump({"ranges": {
        A: {"low": 0.0, "high": 0.2, "source": "EF2", "calibrate": True},
        B: {"low": 0.0, "high": 0.3, "source": "assumption"}}}))
    assert read_uncertainty(tmp_path / "uncertainty.yaml")[A] == UncertainRange(A, 0.0, 0.2, "EF2", True)
    targets = load_targets(write_targets(tmp_path, parameters={"uncertainty": "uncertainty.yaml",
                                                               "calibrate": [B]}), sources=SOURCES)
    assert sorted(p.path for p in targets.priors) == sorted([A, B])
    only_flagged = load_targets(write_targets(tmp_path, parameters={"uncertainty": "uncertainty.yaml"}),
                                sources=SOURCES)
    assert [p.path for p in only_flagged.priors] == [A]
    (tmp_path / "uncertainty.yaml").write_text(yaml.safe_dump({"ranges": {A: {"low": 1, "high": 1,
                                                                              "source": "EF2"}}}))
    with pytest.raises(ScenarioError, match=rf"ranges\.{re.escape(A)}"):
        read_uncertainty(tmp_path / "uncertainty.yaml")
    (tmp_path / "uncertainty.yaml").write_text(yaml.safe_dump({"ranges": {A: {"low": 0, "high": 1, "source": "EF2",
                                                                              "calibrate": "yes"}}}))
    with pytest.raises(ScenarioError, match=r"calibrate"):
        read_uncertainty(tmp_path / "uncertainty.yaml")


def test_every_library_target_measures_on_a_real_run_of_its_scenario():
    """The library's targets file against the library as it is: one replication at the priors' midpoints."""
    from sim.experiments.backends import SerialBackend
    from sim.experiments.calibration import Evaluator

    library = load_targets(Path(__file__).resolve().parents[2] / "scenarios" / "targets.yaml")
    evaluator = Evaluator(library, SerialBackend(), replications=1, seed=library.seed)
    evaluation = evaluator.evaluate({p.path: (p.low + p.high) / 2 for p in library.priors}, library.targets)
    assert evaluation.missing == {}
    assert {t.id for t in library.targets} == set(evaluation.values)
    assert all(np.isfinite(v).all() for v in evaluation.values.values()), evaluation.means()


def test_every_library_scenario_runs_at_the_recorded_posterior_means():
    """The library extends scenarios/calibrated.yaml (through baseline.yaml): each scenario resolves every
    calibrated parameter to its posterior mean in docs/calibration/parameters.csv, and the fragment is not
    itself listed as a scenario."""
    from functools import reduce

    from sim.scenario import load_scenario
    from sim.scenario.library import LIBRARY_DIR, scenario_files

    record = pd.read_csv(LIBRARY_DIR.parent / "docs" / "calibration" / "parameters.csv")
    files = scenario_files(LIBRARY_DIR)
    assert "calibrated.yaml" not in {p.name for p in files} and len(files) > 20
    for path in files:
        scenario = load_scenario(path)
        for row in record.itertuples():
            value = reduce(getattr, row.parameter.split("."), scenario)
            assert value == pytest.approx(row.mean, rel=1e-5), f"{path.name}: {row.parameter} = {value}"
