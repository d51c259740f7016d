"""Tests of :mod:`sim.core.sampling`: the shared random draws.

``bernoulli_subset`` has two branches (one uniform per candidate for large
``p``, geometric gaps for small ``p``); both must give independent
Bernoulli(p) trials, one per candidate.  Tolerances are a few binomial
standard errors, or chi-square p-values above 1e-3, with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.core import sampling
from sim.core.sampling import bernoulli_subset, gumbel


def _counts_and_hits(n: int, p: float, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Success counts per draw and how often each position succeeded over ``draws`` draws."""
    rng = np.random.default_rng(seed)
    candidates = np.arange(n)
    counts = np.empty(draws, dtype=np.int64)
    hits = np.zeros(n, dtype=np.int64)
    for d in range(draws):
        chosen = bernoulli_subset(candidates, p, rng)
        counts[d] = chosen.size
        hits[chosen] += 1
    return counts, hits


@pytest.mark.parametrize("p", [0.003, 0.05, 0.099, 0.1, 0.3, 0.9])
def test_mean_count_is_n_p(p):
    n, draws = 20_000, 50
    counts, _ = _counts_and_hits(n, p, draws, seed=1)
    total = counts.sum()
    expected = n * draws * p
    sd = np.sqrt(n * draws * p * (1 - p))
    assert abs(total - expected) < 4 * sd, (total, expected, sd)
    # The spread of one draw's count is binomial too (not, e.g., a fixed n*p).
    assert counts.var(ddof=1) == pytest.approx(n * p * (1 - p), rel=0.6)


@pytest.mark.parametrize("p", [0.01, 0.3])
def test_success_positions_are_uniform(p):
    """Chi-square over position bins: no position is favoured (e.g. no truncation at the end)."""
    n, draws, bins = 1_000, 400, 20
    _, hits = _counts_and_hits(n, p, draws, seed=2)
    per_bin = hits.reshape(bins, -1).sum(axis=1)
    result = stats.chisquare(per_bin)
    assert result.pvalue > 1e-3, per_bin
    # The last positions are reached as often as the first ones.
    assert hits[-50:].sum() == pytest.approx(hits[:50].sum(), rel=0.25)


def test_result_is_a_sorted_subset_without_repeats():
    rng = np.random.default_rng(3)
    candidates = rng.permutation(np.arange(100, 5_100))
    for p in (0.001, 0.02, 0.5):
        chosen = bernoulli_subset(candidates, p, rng)
        assert np.isin(chosen, candidates).all()
        assert np.unique(chosen).size == chosen.size
        # Successes keep the candidates' order.
        positions = np.flatnonzero(np.isin(candidates, chosen))
        assert np.array_equal(candidates[positions], chosen)


def test_edge_cases():
    rng = np.random.default_rng(4)
    candidates = np.arange(10)
    assert bernoulli_subset(candidates, 0.0, rng).size == 0
    assert np.array_equal(bernoulli_subset(candidates, 1.0, rng), candidates)
    assert bernoulli_subset(candidates[:0], 0.5, rng).size == 0
    assert bernoulli_subset(candidates[:0], 0.01, rng).size == 0


def test_tiny_candidate_sets_with_small_p():
    """With n = 3 and p = 0.05 the geometric branch must still give P(success) = p per candidate."""
    counts, hits = _counts_and_hits(3, 0.05, 20_000, seed=5)
    trials = 20_000
    for h in hits:
        assert abs(h - trials * 0.05) < 4 * np.sqrt(trials * 0.05 * 0.95)
    # Independence: P(all three) = p^3, P(none) = (1-p)^3.
    none = np.count_nonzero(counts == 0)
    assert abs(none - trials * 0.95**3) < 4 * np.sqrt(trials * 0.95**3 * (1 - 0.95**3))


def test_geometric_and_uniform_branches_agree_in_distribution(monkeypatch):
    """Force each branch at the same p and compare count distributions and per-position rates."""
    n, p, draws = 400, 0.05, 3_000
    monkeypatch.setattr(sampling, "_GEOMETRIC_BELOW", 1.0)   # always geometric gaps
    geo_counts, geo_hits = _counts_and_hits(n, p, draws, seed=21)
    monkeypatch.setattr(sampling, "_GEOMETRIC_BELOW", 0.0)   # always one uniform per candidate
    uni_counts, uni_hits = _counts_and_hits(n, p, draws, seed=22)

    # Both count distributions are Binomial(n, p) (chi-square goodness of fit on binned counts)...
    edges = np.array([0, 14, 17, 19, 21, 23, 26, n + 1])
    expected = np.diff(stats.binom(n, p).cdf(edges - 1)) * draws
    for counts in (geo_counts, uni_counts):
        observed = np.histogram(counts, edges)[0]
        assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3, observed
    # ...and agree with each other (two-sample chi-square on binned counts).
    table = np.vstack([np.histogram(geo_counts, edges)[0], np.histogram(uni_counts, edges)[0]])
    assert stats.chi2_contingency(table).pvalue > 1e-3, table
    # Per-position success frequencies agree in distribution too.
    assert stats.chi2_contingency(np.vstack([geo_hits.reshape(20, -1).sum(1),
                                             uni_hits.reshape(20, -1).sum(1)])).pvalue > 1e-3


def test_gumbel_moments():
    rng = np.random.default_rng(9)
    x = gumbel(400_000, rng)
    assert x.mean() == pytest.approx(np.euler_gamma, abs=0.01)
    assert x.var() == pytest.approx(np.pi**2 / 6, rel=0.02)
    assert gumbel((3, 4), rng).shape == (3, 4)


def test_bernoulli_positions_with_a_vanishing_probability_finds_nothing_and_does_not_overflow():
    # p = 1e-20 draws geometric gaps near 1e20, past int64 once summed; the gaps are clipped at n + 1.
    rng = np.random.default_rng(3)
    for _ in range(50):
        hits = sampling.bernoulli_positions(3000, 1e-20, rng)
        assert hits.size == 0 or ((hits >= 0) & (hits < 3000)).all()


def test_bernoulli_positions_clipping_changes_no_draw_at_ordinary_probabilities():
    # Same generator state, same positions as the unclipped geometric-gap construction.
    n, p = 10_000, 0.002
    clipped = sampling.bernoulli_positions(n, p, np.random.default_rng(11))
    rng = np.random.default_rng(11)
    expected = n * p
    draws = int(expected + 6.0 * np.sqrt(expected) + 16)
    positions = np.cumsum(rng.geometric(p, size=draws)) - 1
    while positions[-1] < n:
        positions = np.concatenate([positions, np.cumsum(rng.geometric(p, size=draws)) + positions[-1]])
    np.testing.assert_array_equal(clipped, positions[positions < n])


@pytest.mark.parametrize("p", [1e-300, 1e-17, 2e-6, 0.02, 0.03, 0.0999])
def test_gaps_are_numpys_geometric_draws(p):
    # The gaps come from standard exponentials with the logarithm taken once; they must be the numbers
    # rng.geometric draws (clipped at n + 1), and leave the generator where rng.geometric leaves it.
    n, draws = 5000, 4000
    for seed in range(5):
        ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = np.cumsum(np.minimum(numpys.geometric(p, size=draws), n + 1))
        np.testing.assert_array_equal(sampling._gaps(ours, p, draws, n), expected)
        assert ours.random() == numpys.random()
