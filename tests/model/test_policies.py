"""The pure decision rules: bounded moves, the budget shifts, the logit markup and Roth–Erev learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.model.policies import RothErev, bounded, markup_target, price_sensitivity, shift_budget, shift_toward


@given(before=st.floats(-50, 50), wanted=st.floats(-100, 100), step=st.floats(0, 10),
       low=st.floats(-60, 0), width=st.floats(0.01, 120))
def test_bounded_keeps_bounds_and_max_change(before, wanted, step, low, width):
    high = low + width
    new = bounded(before, wanted, step, low, high)
    assert low - 1e-9 <= new <= high + 1e-9
    if low <= before <= high:
        assert abs(new - before) <= step + 1e-9
        # It moves toward what was wanted, never past it.
        assert (new - before) * (wanted - before) >= -1e-12
        assert abs(new - before) <= abs(wanted - before) + 1e-9


def test_shift_budget_moves_from_dearest_to_cheapest_channel():
    split = {"branch": 0.5, "own_app": 0.3, "p1": 0.2}
    cac = {"branch": 120.0, "own_app": 40.0, "p1": 80.0}
    new = shift_budget(split, cac, step=0.1)
    assert new == pytest.approx({"branch": 0.4, "own_app": 0.4, "p1": 0.2})
    assert sum(new.values()) == pytest.approx(1.0)


def test_shift_budget_with_ltv_over_cac_moves_to_the_highest():
    split = {"branch": 0.5, "own_app": 0.5}
    new = shift_budget(split, {"branch": 3.0, "own_app": 1.5}, step=0.2, higher_is_better=True)
    assert new == pytest.approx({"branch": 0.7, "own_app": 0.3})


def test_shift_budget_never_takes_more_than_a_channel_has():
    new = shift_budget({"a": 0.05, "b": 0.95}, {"a": 10.0, "b": 1.0}, step=0.3)
    assert new == pytest.approx({"a": 0.0, "b": 1.0})
    assert min(new.values()) >= 0.0


def test_shift_budget_leaves_unscored_channels_and_ties_alone():
    split = {"a": 0.4, "b": 0.6}
    assert shift_budget(split, {"a": float("nan"), "b": 3.0}, step=0.1) == split
    assert shift_budget(split, {"a": 2.0, "b": 2.0}, step=0.1) == split


@given(shares=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5),
       scores=st.lists(st.floats(0.1, 500.0), min_size=5, max_size=5), step=st.floats(0, 1))
def test_shift_budget_is_a_split(shares, scores, step):
    total = sum(shares)
    split = {f"c{i}": s / total for i, s in enumerate(shares)}
    new = shift_budget(split, {k: scores[i] for i, k in enumerate(split)}, step)
    assert sum(new.values()) == pytest.approx(1.0)
    assert min(new.values()) >= 0.0
    assert sum(abs(new[k] - split[k]) for k in split) <= 2 * step + 1e-9


def test_markup_target_is_the_logit_nash_markup():
    # Symmetric duopoly: s = 1/2, so p* − c = 2/alpha.
    assert markup_target(1.0, 0.5, 2.0) == pytest.approx(2.0)
    assert markup_target(0.0, 0.75, 1.0) == pytest.approx(4.0)


def test_price_sensitivity_recovers_the_logit_slope():
    alpha = 1.7
    x = np.linspace(-1, 1, 9)
    s = 1 / (1 + np.exp(alpha * x))
    assert price_sensitivity(x, s) == pytest.approx(alpha)
    assert price_sensitivity([0.2, 0.2], [0.4, 0.6]) is None      # no price variation
    assert price_sensitivity([0.0, 1.0], [0.3, 0.6]) is None      # share rose with price: no sensitivity


def test_roth_erev_update_is_the_published_rule():
    learner = RothErev(3, recency=0.1, experimentation=0.2, strength=3.0)
    learner.reinforce(0, 5.0)                  # first payoff sets X = 5 (q(1) = s(1) X / M = 5) and the floor
    assert learner.scale == 5.0
    assert learner.propensities == pytest.approx([4.5, 4.5, 4.5])
    learner.reinforce(1, 7.0)                  # R = 2: (1 − ε)R to the chosen, εR/(M − 1) to each other
    assert learner.propensities == pytest.approx([4.05 + 0.2, 4.05 + 1.6, 4.05 + 0.2])
    assert learner.probabilities.sum() == pytest.approx(1.0)


def test_roth_erev_scales_its_initial_propensities_to_the_first_nonzero_payoff():
    learner = RothErev(3, strength=9.0)
    learner.scale_to(0.0)                      # a zero payoff says nothing of the scale
    assert learner.scale is None and learner.probabilities == pytest.approx([1 / 3] * 3)
    learner.scale_to(-40_000.0)
    assert learner.scale == 40_000.0 and learner.propensities == pytest.approx([120_000.0] * 3)
    learner.scale_to(10.0)                     # set once
    assert learner.scale == 40_000.0


def _choices(seed: int, rounds: int, unit: float) -> np.ndarray:
    """Roth–Erev's choices on a noisy three-action payoff stream expressed in ``unit`` (the same draws)."""
    from sim.scenario.schema import LearningSpec

    spec, rng = LearningSpec(), np.random.default_rng(seed)
    learner = RothErev(3, spec.recency, spec.experimentation, spec.initial_strength)
    means, chosen = np.array([50_000.0, 60_000.0, 70_000.0]), []
    for _ in range(rounds):
        action = learner.choose(rng)
        learner.reinforce(action, unit * (means[action] + 15_000.0 * rng.standard_normal()))
        chosen.append(action)
    return np.asarray(chosen)


@pytest.mark.parametrize("unit", [2.0, 1e-4, 7.3])
def test_roth_erev_learns_the_same_whatever_the_payoffs_unit(unit):
    # A market twice as large, profits in units of 10,000 yuan, or another currency: the same choices, seed by seed.
    for seed in range(20):
        np.testing.assert_array_equal(_choices(seed, 60, unit), _choices(seed, 60, 1.0))
    # Not vacuous: the learner does move between actions, and another seed chooses otherwise.
    assert len(set(_choices(0, 60, 1.0))) > 1
    assert not np.array_equal(_choices(0, 60, 1.0), _choices(1, 60, 1.0))


def _bandit(seed: int, rounds: int, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # s(1) = M with 0/1 payoffs (X = 1): the basic rule's unit initial propensities.
    learner = RothErev(len(means), recency=0.0, experimentation=0.0, strength=float(len(means)))
    chosen = np.empty(rounds, dtype=np.int64)
    for t in range(rounds):
        action = learner.choose(rng)
        learner.reinforce(action, float(rng.random() < means[action]))
        chosen[t] = action
    return chosen, np.cumsum(means.max() - means[chosen])


def test_roth_erev_learns_the_best_arm_of_a_stationary_bandit_with_sublinear_regret():
    means = np.array([0.3, 0.5, 0.8])
    rounds, seeds = 4000, 20
    early, late, ratio = [], [], []
    for seed in range(seeds):
        chosen, regret = _bandit(seed, rounds, means)
        early.append(np.mean(chosen[:30] == 2))
        late.append(np.mean(chosen[-500:] == 2))
        ratio.append(regret[-1] / regret[rounds // 2 - 1])
    early, late, ratio = map(np.asarray, (early, late, ratio))
    se = lambda v: v.std(ddof=1) / math.sqrt(seeds)   # noqa: E731
    # The best arm's share rises from about a third toward one …
    assert late.mean() - 3 * se(late) > 0.8
    assert (late - early).mean() - 3 * se(late - early) > 0.3
    # … and regret grows sublinearly: regret(T) / regret(T/2) is 2 for linear growth.
    assert ratio.mean() + 3 * se(ratio) < 1.9


def test_shift_budget_empties_a_channel_exactly_after_repeated_moves():
    # 0.3 − 6 × 0.05 is 2.8e-17 in binary floating point; the split must reach 0, which buys no exposure.
    split = {"branch": 0.3, "own_app": 0.7}
    for _ in range(8):
        split = shift_budget(split, {"branch": 100.0, "own_app": 10.0}, step=0.05)
    assert split["branch"] == 0.0 and split["own_app"] == 1.0


def _two_actions(seed: int, rounds: int, means: tuple[float, float], sd: float = 0.3) -> float:
    """Probability of action 0 after ``rounds`` of the learning policy's default Roth–Erev on noisy payoffs."""
    from sim.scenario.schema import LearningSpec

    spec = LearningSpec()
    rng = np.random.default_rng(seed)
    learner = RothErev(2, spec.recency, spec.experimentation, spec.initial_strength)
    for _ in range(rounds):
        action = learner.choose(rng)
        learner.reinforce(action, means[action] + sd * rng.standard_normal())
    return float(learner.probabilities[0])


def test_roth_erev_with_the_policys_defaults_concentrates_on_the_better_of_two_actions():
    # Two actions paying N(1.0, 0.3) and N(0.6, 0.3) a period; 60 periods (15 years of quarterly decisions).
    seeds = 200
    better = np.array([_two_actions(seed, 60, (1.0, 0.6)) for seed in range(seeds)])
    prefer = np.mean(better > 0.5)
    # Measured: mean probability of the better action 0.84 (SE 0.011); 97% of the learners prefer it.
    assert better.mean() - 3 * better.std(ddof=1) / math.sqrt(seeds) > 0.75
    assert prefer - 3 * math.sqrt(prefer * (1 - prefer) / seeds) > 0.85
    # Control: with equal payoffs neither action is favoured (the rule has no bias toward the first action).
    equal = np.array([_two_actions(seed, 60, (0.8, 0.8)) for seed in range(seeds)])
    assert abs(equal.mean() - 0.5) < 3 * equal.std(ddof=1) / math.sqrt(seeds)


def test_shift_toward_moves_a_step_to_one_channel_from_the_others_in_proportion():
    new = shift_toward({"branch": 0.5, "own_app": 0.3, "p1": 0.2}, "p1", 0.1)
    assert new == pytest.approx({"branch": 0.5 - 0.1 * 0.5 / 0.8, "own_app": 0.3 - 0.1 * 0.3 / 0.8, "p1": 0.3})
    assert new["branch"] / new["own_app"] == pytest.approx(0.5 / 0.3)
    # A channel already holding everything cannot gain; repeated moves empty the others exactly.
    split = {"a": 0.25, "b": 0.75}
    for _ in range(10):
        split = shift_toward(split, "b", 0.1)
    assert split == {"a": 0.0, "b": 1.0}
    assert shift_toward(split, "b", 0.1) == split


@given(shares=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5), pick=st.integers(0, 4), step=st.floats(0, 1))
def test_shift_toward_is_a_split_within_the_step(shares, pick, step):
    total = sum(shares)
    if total <= 0:
        return
    split = {f"c{i}": s / total for i, s in enumerate(shares)}
    channel = f"c{pick % len(split)}"
    new = shift_toward(split, channel, step)
    assert sum(new.values()) == pytest.approx(1.0, abs=1e-9) and min(new.values()) >= 0.0
    assert new[channel] >= split[channel] - 1e-12
    assert sum(abs(new[k] - split[k]) for k in split) <= 2 * step + 1e-9
