"""Size invariance of the baseline: the strategy's answers do not depend on the population size.

The baseline at 5,000 and at 50,000 customers (its full 60 steps after the
24-step burn-in), 30 and 8 replications (the 50k runs' means are ~3× more
precise per replication, so fewer suffice).  For every quantity of
:func:`sim.experiments.invariance.size_quantities` — market share of each
institution at the final step, CAC by channel over the run, the run's
default rate, LTV per customer by channel and the pooled payback age by
channel — the difference of the two sizes' replication means is tested by
Welch's t-test, and the family of ~30 tests is adjusted by **Holm's
step-down procedure** at a family-wise error rate of 5% (so a true
size-invariant model fails this test with probability at most 5%, whatever
the seed; with the fixed seed the outcome is deterministic).  A quantity that
scaled like 1/N (the old fixed-cost CAC: ×10 between the sizes) differs by
hundreds of standard errors.

The run's **default rate** is NOT size-invariant either, and is tested as an
expected failure: 0.00248 per borrower-step at 5k against 0.00233 at 50k
(Holm-adjusted p = 0.003, with seed 11).  The cause is open: it is not the
capital rule (with every lender's ``credit.capital_ratio`` at 1, so that the
cut-off factor is 1 throughout, the gap is the same, 0.00247 against 0.00235)
and not contagion (no contagion defaults in the baseline).

The per-cohort ``payback_age`` of ``summary.json`` is NOT size-invariant and
is tested separately as an expected failure: it is the first age at which a
cohort's noisy cumulative margin reaches its cost, and a first passage of a
noisy path comes earlier the noisier the path, i.e. the smaller the cohort
(cohorts are cells of one step × institution × channel × product, 10× smaller
at 5k).  Measured: branch 3.65 months at 5k against 4.40 at 50k, platform
finmarket 6.07 against 7.66.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.experiments.invariance import compare_sizes, size_quantities
from sim.scenario import load_scenario

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SMALL, LARGE = (5_000, 30), (50_000, 8)
SEED = 11


def quantities(size: int, replications: int):
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", {"population.size": size})
    return size_quantities(sim.run(scenario, replications=replications, seed=SEED).tables)


@pytest.fixture(scope="module")
def comparison():
    return compare_sizes(quantities(*SMALL), quantities(*LARGE), alpha=0.05).set_index("quantity")


def test_shares_cac_ltv_and_pooled_payback_agree_between_5k_and_50k(comparison):
    invariant = comparison[~comparison.index.str.startswith("payback ") & (comparison.index != "default rate")]
    kinds = {q.split(" ")[0] for q in invariant.index}
    assert kinds == {"share", "cac", "ltv", "pooled"}
    assert len(invariant) >= 23          # 6 shares, 6 CACs, 6 LTVs, 5 pooled paybacks
    failing = invariant[~invariant["agree"]]
    assert failing.empty, failing[["mean_small", "mean_large", "difference", "se", "p_holm"]].to_string()


@pytest.mark.xfail(strict=True, reason="the default rate is ~6% higher at 5k than at 50k (cause not found; "
                                       "not the capital rule: module docstring)")
def test_default_rate_agrees_between_5k_and_50k(comparison):
    assert bool(comparison.loc["default rate", "agree"]), comparison.loc["default rate"].to_dict()


@pytest.mark.xfail(strict=True, reason="per-cohort payback_age is a first passage of a cohort's noisy margin: "
                                       "earlier for the smaller cohorts of a smaller population (module docstring)")
def test_per_cohort_payback_age_agrees_between_5k_and_50k(comparison):
    payback = comparison[comparison.index.str.startswith("payback ")]
    assert not payback.empty
    assert payback["agree"].all(), payback[["mean_small", "mean_large", "p_holm"]].to_string()
