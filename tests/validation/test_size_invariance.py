"""Size invariance of the baseline: the strategy's answers do not depend on the population size.

The baseline at 5,000 and at 50,000 customers (its full 60 steps after the
24-step burn-in), seed 11.  For every quantity of
:func:`sim.experiments.invariance.size_quantities` — market share of each
institution at the final step, CAC by channel over the run, LTV per customer
by channel and the (pooled) payback age by channel, the figure
``summary.json`` reports — the difference of the two sizes' replication means
over the first 30 and 8 replications (the 50k runs' means are ~3× more
precise per replication) is tested by Welch's t-test, and the family of ~25
tests (with the default rate, below) is adjusted by **Holm's step-down
procedure** at a family-wise error rate of 5% (so a true size-invariant model fails this test with probability
at most 5%, whatever the seed; with the fixed seed the outcome is
deterministic).  A quantity that scaled like 1/N (the old fixed-cost CAC: ×10
between the sizes) differs by hundreds of standard errors.

**The default rate** is in the same family, on more replications (90 and
16): its sampling error is mostly the Poisson noise of the defaults
themselves (~135 per replication at 5k, ±9%), so 30 and 8 replications
resolve only differences of ~6%.  With them the seed-11 runs showed 0.00248
(5k) against 0.00233 (50k), which an earlier version of this test recorded as
a size effect.  It is not one: seed 11's 5k replications 30 to 89 give
0.00239 and its 50k replications 8 to 15 0.00240; an independent seed (12)
gives 0.00234 ± 0.00003 at 5k (60 replications) against 0.00239 ± 0.00002 at
50k (15), the opposite sign; and the expected default rate of a replication
(the mean hazard of its borrowers at risk, free of the Poisson noise) is
0.002414 ± 0.000017 at 1k (80), 0.002405 ± 0.000007 at 5k (90), 0.002399 ±
0.000012 at 15k (12) and 0.002386 ± 0.000006 at 50k (8), no trend with the
size.  The realised rate minus the expected one is a martingale with mean 0
and Poisson variance; the seed-11 gap was its +1.3 and −2.3 standard-error
draws at the two sizes, on top of a +2 standard-error draw of the expected
rate in the first 30 replications at 5k.  On 90 and 16 replications:
0.002416 ± 0.000020 against 0.002367 ± 0.000017 (Welch p = 0.06, 2% apart).

The (pooled) payback: branch 11.9 ± 0.2 months at 5k against 12.6 ± 0.1 at
50k, own app 5.01 against 5.08, the platforms 0.8 to 1.4 months.

**The per-cohort payback** (``summary.json`` ``cohort_payback_age``, a
secondary figure) is NOT size-invariant, and the test asserts the explained
direction: it is the first age at which one cohort cell's (one step ×
institution × channel × product) noisy cumulative margin reaches its cost,
averaged over the cells that paid back, and a first passage of a noisy path
comes earlier the noisier the path, i.e. the smaller the cohort (10× smaller
at 5k): 3.65 ± 0.04 months through the branch at 5k against 4.39 ± 0.02 at
50k (16 standard errors).  The pooled payback (:mod:`sim.experiments.payback`)
reads one smooth curve per channel and agrees between the sizes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiments.invariance import compare_sizes, size_quantities
from sim.scenario import load_scenario

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SMALL, LARGE = 5_000, 50_000
#: Replications of the family test and of the default rate (the family's are the first of each size's runs).
FAMILY = {SMALL: 30, LARGE: 8}
DEFAULT_RATE = {SMALL: 90, LARGE: 16}
SEED = 11


def quantities(size: int, replications: int) -> pd.DataFrame:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", {"population.size": size})
    return size_quantities(sim.run(scenario, replications=replications, seed=SEED).tables)


@pytest.fixture(scope="module")
def runs() -> dict[int, pd.DataFrame]:
    return {size: quantities(size, max(FAMILY[size], DEFAULT_RATE[size])) for size in (SMALL, LARGE)}


@pytest.fixture(scope="module")
def comparison(runs):
    """The family: every quantity on its first ``FAMILY`` replications, the default rate on ``DEFAULT_RATE``."""
    frames = []
    for size in (SMALL, LARGE):
        frame = runs[size].drop(columns=[q for q in runs[size].columns if q.startswith("cohort payback ")])
        # compare_sizes reads each column's defined values: hide the replications past the family's.
        others = frame.columns != "default rate"
        frame.loc[frame.index >= FAMILY[size], others] = float("nan")
        frames.append(frame)
    return compare_sizes(*frames, alpha=0.05).set_index("quantity")


def test_shares_cac_ltv_payback_and_default_rate_agree_between_5k_and_50k(comparison):
    kinds = {q.split(" ")[0] for q in comparison.index}
    assert kinds == {"share", "cac", "default", "ltv", "payback"}
    assert len(comparison) >= 24          # 6 shares, 6 CACs, the default rate, 6 LTVs, 5 paybacks
    rate = comparison.loc["default rate"]
    assert (rate["n_small"], rate["n_large"]) == (DEFAULT_RATE[SMALL], DEFAULT_RATE[LARGE])
    assert comparison.drop(index="default rate")["n_small"].max() == FAMILY[SMALL]
    failing = comparison[~comparison["agree"]]
    assert failing.empty, failing[["mean_small", "mean_large", "difference", "se", "p_holm"]].to_string()
    # And the default rates differ by less than 5% of the rate (about 5 standard errors of the difference).
    assert abs(rate["difference"]) <= 0.05 * rate["mean_large"], rate.to_dict()


def test_per_cohort_payback_falls_with_the_population_size(runs):
    small, large = (runs[size].loc[runs[size].index < FAMILY[size]] for size in (SMALL, LARGE))
    row = compare_sizes(small[["cohort payback branch"]], large[["cohort payback branch"]]).iloc[0]
    # Earlier for the smaller cohorts of the smaller population, by more than 5 standard errors.
    assert row["difference"] > 5 * row["se"], row.to_dict()
