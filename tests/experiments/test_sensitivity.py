"""Sensitivity analysis: right indices on a function with known ones, and a no-op parameter ranks last."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.experiments.sensitivity import analyze_function, run_sensitivity, sample
from sim.scenario import load_scenario

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def ishigami(X: np.ndarray) -> np.ndarray:
    """Ishigami & Homma (1990): sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3."""
    return np.sin(X[:, 0]) + ISHIGAMI_A * np.sin(X[:, 1]) ** 2 + ISHIGAMI_B * X[:, 2] ** 4 * np.sin(X[:, 0])


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> tuple[np.ndarray, np.ndarray]:
    """Analytic first-order and total indices (Sobol' & Levitan 1999; Saltelli et al. 2008, §4.9)."""
    pi = np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    variance = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / variance, np.array([v1 + v13, v2, v13]) / variance


def test_analytic_ishigami_indices_are_the_published_ones():
    s1, st = ishigami_indices()
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=5e-4)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=5e-4)


@pytest.mark.slow  # a large Sobol sample
def test_sobol_on_ishigami_recovers_the_known_indices():
    bounds = {name: (-np.pi, np.pi) for name in ("x1", "x2", "x3")}
    result = analyze_function(ishigami, bounds, method="sobol", samples=4096, seed=3)
    table = result.indices.set_index("parameter")
    s1, st = ishigami_indices()
    for kind, truth in (("S1", s1), ("ST", st)):
        conf = table[f"{kind}_conf"].to_numpy()  # half-width of the 95% bootstrap interval
        assert np.all(conf < 0.05), f"{kind} intervals too wide to test anything: {conf}"
        # Within two half-widths (about 4 standard errors) of the truth.
        np.testing.assert_array_less(np.abs(table[kind].to_numpy() - truth), 2 * conf)
    assert table["rank"].to_dict() == {"x1": 1, "x2": 2, "x3": 3}
    assert len(result.Y) == 4096 * 5


def test_samples_are_reproducible_from_the_seed():
    bounds = {"x": (0.0, 1.0), "y": (2.0, 5.0)}
    np.testing.assert_array_equal(sample("morris", bounds, 4, seed=9), sample("morris", bounds, 4, seed=9))
    assert not np.array_equal(sample("sobol", bounds, 16, seed=9), sample("sobol", bounds, 16, seed=10))
    X = sample("sobol", bounds, 16, seed=9)
    assert X.shape == (16 * 4, 2) and X[:, 1].min() >= 2.0 and X[:, 1].max() <= 5.0


# A parameter the adoption metric does not read: bank b has no employee programme, so its
# cost per employee changes nothing (a branch's spend, by contrast, buys exposure).
NO_OP = "banks.b.employee_media.cost_per_employee"
PARAMS = {"banks.a.referral.rate": (0.0, 0.2), "banks.a.branch.spend": (10.0, 223.0), NO_OP: (0.0, 1000.0)}


@pytest.mark.slow  # a full Morris / Sobol run, 3-7 s each
@pytest.mark.parametrize("method, samples", [("morris", 6), ("sobol", 8)])
def test_a_parameter_that_does_nothing_ranks_last(tmp_path, method, samples):
    out = tmp_path / method
    result = run_sensitivity(TINY, PARAMS, "active", method, samples=samples, out=out, replications=2, seed=4,
                             backend="serial", progress=False, resamples=200)
    table = result.indices.set_index("parameter")
    key = "mu_star" if method == "morris" else "ST"
    # Common random numbers: changing the no-op leaves every run identical, so its effect is exactly zero.
    assert table.loc[NO_OP, key] == 0.0
    assert (table.drop(index=NO_OP)[key] > 0).all()
    assert table.loc[NO_OP, "rank"] == len(PARAMS)
    for name in ("indices.csv", "samples.csv", "sensitivity.json", "runs/manifest.json"):
        assert (out / name).is_file(), name
    record = json.loads((out / "sensitivity.json").read_text())
    assert record["metric"] == "active" and record["method"] == method
    assert json.loads((out / "runs" / "manifest.json").read_text())["metric"] == "active"
    assert len(pd.read_csv(out / "samples.csv")) == len(result.Y)


def test_institution_metric_and_resume(tmp_path):
    kwargs = dict(method="morris", samples=3, out=tmp_path / "m", replications=1, seed=2, backend="serial",
                  progress=False, resamples=100)
    first = run_sensitivity(TINY, PARAMS, "institution:a:customers", **kwargs)
    again = run_sensitivity(TINY, PARAMS, "institution:a:customers", **kwargs)
    assert again.sweep.completed == 0 and again.sweep.skipped == first.sweep.runs
    pd.testing.assert_frame_equal(first.indices, again.indices)


@pytest.mark.parametrize("bounds, metric, samples, message", [
    ({"banks.a.referral.rate": (0.2, 0.1)}, "active", 4, "low 0.2 > high 0.1"),
    ({"banks.a.referral.rate": (0.1, 0.1)}, "active", 4, "low equals high"),
    ({"banks.a.referal.rate": (0.0, 0.1)}, "active", 4, "unknown key 'referal'"),
    ({"banks.a.referral.rate": (0.0, 2.0)}, "active", 4, "less than or equal to 1"),
    ({"banks.a.referral.rate": (0.0, 0.1)}, "actve", 4, "no column 'actve' in the market table"),
    ({"banks.a.referral.rate": (0.0, 0.1)}, "institution:zz:customers", 4, "no institution named 'zz'"),
])
def test_bad_input_fails_before_anything_is_written(tmp_path, bounds, metric, samples, message):
    out = tmp_path / "never"
    with pytest.raises(ScenarioError, match=message):
        run_sensitivity(load_scenario(TINY), bounds, metric, "morris", samples=samples, out=out, replications=1,
                        backend="serial", progress=False)
    assert not out.exists()


def test_sobol_needs_a_power_of_two():
    with pytest.raises(ScenarioError, match="power of 2"):
        sample("sobol", {"x": (0, 1)}, 100, seed=1)
