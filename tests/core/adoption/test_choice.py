"""Tests of comparison and choice (:mod:`sim.core.adoption.choice`): a multinomial logit.

The argmax of utility plus i.i.d. Gumbel noise is a draw from the logit
probabilities (McFadden, 1974); these tests check the sampled choices
against :func:`logit_probabilities` computed independently of the draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.core.adoption.choice import NO_CHOICE, choose, logit_probabilities, utilities
from sim.core.codes import NO_CHANNEL, Channel
from sim.core.params import compile_catalog

VALUES = np.array([0.5, -0.3, 1.2, 0.0, -1.0])
AVAILABLE = np.array([True, True, False, True, True])


def _softmax(values: np.ndarray, extra: float | None = None) -> np.ndarray:
    w = np.exp(values)
    total = w.sum() + (np.exp(extra) if extra is not None else 0.0)
    return w / total


def test_logit_probabilities_match_the_softmax():
    p = logit_probabilities(VALUES[None, :], AVAILABLE[None, :])[0]
    expected = np.zeros(5)
    expected[AVAILABLE] = _softmax(VALUES[AVAILABLE])
    assert p == pytest.approx(expected)
    assert p.sum() == pytest.approx(1.0)
    with_outside = logit_probabilities(VALUES[None, :], AVAILABLE[None, :], outside_utility=0.7)[0]
    assert with_outside[AVAILABLE] == pytest.approx(_softmax(VALUES[AVAILABLE], 0.7))
    assert 1 - with_outside.sum() == pytest.approx(np.exp(0.7) / (np.exp(VALUES[AVAILABLE]).sum() + np.exp(0.7)))


def test_logit_probabilities_are_stable_and_shift_invariant():
    big = logit_probabilities((VALUES + 1_000.0)[None, :], AVAILABLE[None, :])[0]
    assert np.isfinite(big).all()
    assert big == pytest.approx(logit_probabilities(VALUES[None, :], AVAILABLE[None, :])[0])


@pytest.mark.parametrize("outside", [None, 0.4])
def test_choice_frequencies_match_logit_probabilities(outside):
    """Chi-square goodness of fit over 200 000 identical rows (unavailable and outside included)."""
    rows = 200_000
    rng = np.random.default_rng(1)
    value = np.tile(VALUES, (rows, 1))
    available = np.tile(AVAILABLE, (rows, 1))
    chosen = choose(value, available, outside, rng)
    assert not (chosen == 2).any(), "an unavailable offer was chosen"
    p = logit_probabilities(VALUES[None, :], AVAILABLE[None, :], outside)[0][AVAILABLE]
    observed = np.array([np.count_nonzero(chosen == j) for j in np.flatnonzero(AVAILABLE)])
    if outside is None:
        assert not (chosen == NO_CHOICE).any()
        assert stats.chisquare(observed, p * rows).pvalue > 1e-3, (observed / rows, p)
    else:
        outside_share = 1 - p.sum()
        observed = np.append(observed, np.count_nonzero(chosen == NO_CHOICE))
        assert stats.chisquare(observed, np.append(p, outside_share) * rows).pvalue > 1e-3
        assert observed[-1] / rows == pytest.approx(
            outside_share, abs=4 * np.sqrt(outside_share * (1 - outside_share) / rows)
        )


def test_heterogeneous_rows_match_their_own_probabilities():
    rng = np.random.default_rng(2)
    rows = 100_000
    value = rng.normal(0, 1.5, size=(rows, 3))
    available = rng.random((rows, 3)) < 0.8
    chosen = choose(value, available, -0.5, rng)
    p = logit_probabilities(value, available, -0.5)
    for j in range(3):
        expected = p[:, j].sum()
        sd = np.sqrt((p[:, j] * (1 - p[:, j])).sum())
        assert abs(np.count_nonzero(chosen == j) - expected) < 4 * sd
    assert available[np.flatnonzero(chosen >= 0), chosen[chosen >= 0]].all()


def test_nothing_available_means_no_choice():
    rng = np.random.default_rng(3)
    value = np.zeros((4, 3))
    available = np.zeros((4, 3), dtype=bool)
    available[0, 1] = True
    chosen = choose(value, available, None, rng)
    assert chosen.tolist() == [1, NO_CHOICE, NO_CHOICE, NO_CHOICE]
    assert choose(np.zeros((0, 3)), np.zeros((0, 3), bool), None, rng).size == 0


def test_utilities_follow_the_documented_formula(make_scenario):
    scenario = make_scenario({
        "choice": {"price": -1.5, "convenience": 0.7, "trust": 2.0, "incentive": 0.5, "live_stream": 0.3},
        "banks": {
            "b": {"offers": {"payments": {"price": 1.0, "brand": 0.25}}, "referral": {"welcome": 80.0}},
            "c": {"type": "joint_stock", "offers": {"payments": {"price": 2.0}}},
        },
    })
    catalog = compile_catalog(scenario)
    affinity = np.array([0.8, 0.3], dtype=np.float32)
    trust = np.array([[0.9, 0.1], [0.4, 0.6]], dtype=np.float32)
    offers = catalog.offers_of_product(0)
    channels = np.array([[Channel.BRANCH, Channel.REFERRAL], [Channel.LIVE_STREAM, NO_CHANNEL]])
    value = utilities(np.array([0, 1]), offers, channels, affinity, trust, catalog)

    def expected(customer, offer, channel):
        inst = catalog.offer_institution[offer]
        aff = affinity[customer]
        convenience = {Channel.BRANCH: 1 - aff, NO_CHANNEL: 0.5}.get(channel, aff)
        v = (-1.5 * catalog.price[offer] + 0.7 * convenience + 2.0 * trust[customer, inst] + catalog.brand[offer])
        if channel == Channel.REFERRAL:
            v += 0.5 * catalog.referral_welcome[inst] / 100
        if channel == Channel.LIVE_STREAM:
            v += 0.3
        return v

    for c in range(2):
        for j, o in enumerate(offers):
            assert value[c, j] == pytest.approx(expected(c, o, channels[c, j]), rel=1e-6), (c, j)
    # Digital channels: the own app is as convenient as the customer's affinity.
    own = utilities(np.array([0]), offers[:1], np.array([[Channel.OWN_APP]]), affinity, trust, catalog)
    assert own[0, 0] == pytest.approx(expected(0, offers[0], Channel.OWN_APP), rel=1e-6)


def test_offer_by_offer_comparison_is_numpys_argmax_with_ties_nan_and_nothing_available():
    from sim.core.adoption.choice import _best_of_few

    rng = np.random.default_rng(11)
    value = rng.integers(0, 3, (4, 2_000)).astype(float)          # many exact ties
    value[1, ::97] = np.nan
    value[3, ::89] = np.inf
    available = rng.random((4, 2_000)) < 0.7
    available[:, :5] = False                                       # rows with nothing available
    noise = np.zeros_like(value)
    best, best_value = _best_of_few(value, available, noise)
    noisy = np.where(available, value + noise, -np.inf).T
    assert np.array_equal(best, np.argmax(noisy, axis=1))
    assert np.array_equal(best_value, noisy[np.arange(noisy.shape[0]), best], equal_nan=True)


@pytest.mark.parametrize("cols", [1, 3, 8, 12])                   # offer by offer up to FEW_OFFERS, argmax above
@pytest.mark.parametrize("outside", [None, 0.3])
def test_choose_draws_what_a_row_argmax_of_the_noisy_utilities_draws(cols, outside):
    from sim.core.sampling import gumbel

    rng = np.random.default_rng(5)
    value = rng.normal(size=(3_000, cols))
    available = rng.random((3_000, cols)) < 0.6
    # Layout of the utilities (column-major from utilities(), or C) does not change the choice.
    for values in (value, np.asfortranarray(value)):
        got = choose(values, available, outside, np.random.default_rng(9))
        draws = np.random.default_rng(9)
        noisy = np.where(available, value + gumbel(value.shape, draws), -np.inf)
        best = np.argmax(noisy, axis=1)
        top = noisy[np.arange(noisy.shape[0]), best]
        expected = np.where(np.isfinite(top), best, NO_CHOICE)
        if outside is not None:
            expected = np.where(top > outside + gumbel(value.shape[0], draws), expected, NO_CHOICE)
        assert np.array_equal(got, expected)
