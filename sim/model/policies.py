"""Pure decision rules: bounded moves, the budget shifts, the markup estimate and Roth–Erev learning.

Nothing here reads the model: each function maps numbers an institution has
observed to the numbers it would set, so each rule is tested on its own
(tests/model/test_policies.py).  :mod:`sim.model.decisions` applies them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


def bounded(before: float, wanted: float, max_change: float, low: float, high: float) -> float:
    """``wanted``, moved at most ``max_change`` away from ``before`` and kept inside [low, high].

    Parameters
    ----------
    before : float
        The lever's value now.
    wanted : float
        The value the rule would like.
    max_change : float
        Largest absolute change per decision.
    low, high : float
        Bounds of the lever.

    Returns
    -------
    float
        The value to set.
    """
    step = min(max(wanted - before, -max_change), max_change)
    new = min(max(before + step, low), high)
    if new == before:
        return float(before)
    # Rounded to 12 significant digits so that repeated steps do not pile up binary fractions (0.1 + 0.2).
    rounded = float(f"{new:.12g}")
    return min(max(rounded, min(before, new)), max(before, new))     # rounding never moves past either end


def shift_budget(split: Mapping[str, float], score: Mapping[str, float], step: float,
                 higher_is_better: bool = False) -> dict[str, float]:
    """Move up to ``step`` of the budget from the worst-scoring channel to the best-scoring one.

    Parameters
    ----------
    split : mapping of str to float
        Channel → share of the budget, summing to 1.
    score : mapping of str to float
        Channel → score, e.g. marginal CAC (lower is better) or LTV/CAC
        (higher is better).  Channels without a finite score (no spend or no
        acquisitions seen) keep their share.
    step : float
        Largest share of the whole budget moved in one decision.
    higher_is_better : bool
        True for LTV/CAC, False for CAC.

    Returns
    -------
    dict of str to float
        The new split: same keys, non-negative, summing to 1.
    """
    new = {k: float(v) for k, v in split.items()}
    scored = {k: float(s) for k, s in score.items() if k in new and math.isfinite(s)}
    if len(scored) < 2:
        return new
    sign = -1.0 if higher_is_better else 1.0
    best = min(scored, key=lambda k: (sign * scored[k], k))
    funded = {k: s for k, s in scored.items() if new[k] > 0 and k != best}
    if not funded:
        return new
    worst = max(funded, key=lambda k: (sign * funded[k], k))
    if sign * scored[worst] <= sign * scored[best]:
        return new
    moved = min(step, new[worst])
    # Rounded to 12 decimals, so that repeated moves leave an emptied channel at 0, not at a binary residue
    # such as 2.8e-17 (which would still buy a vanishing, but non-zero, exposure).
    new[worst] = round(new[worst] - moved, 12)
    new[best] = round(new[best] + moved, 12)
    return new


def shift_toward(split: Mapping[str, float], channel: str, step: float) -> dict[str, float]:
    """Move up to ``step`` of the budget to ``channel``, taken from the other channels in proportion to their shares.

    Parameters
    ----------
    split : mapping of str to float
        Channel → share of the budget, summing to 1.
    channel : str
        The channel that gains (a key of ``split``).
    step : float
        Largest share of the whole budget moved in one decision.

    Returns
    -------
    dict of str to float
        The new split: same keys, non-negative, summing to 1; the other
        channels keep their proportions to one another.  Shares are rounded
        to 12 decimals, so a channel emptied by repeated moves is at 0.
    """
    new = {k: float(v) for k, v in split.items()}
    others = sum(v for k, v in new.items() if k != channel)
    moved = min(step, others)
    if moved <= 0:
        return new
    for k in new:
        if k != channel:
            new[k] = round(new[k] * (1.0 - moved / others), 12)
    new[channel] = max(split[channel], round(1.0 - sum(v for k, v in new.items() if k != channel), 12))
    return new


def markup_target(unit_cost: float, share: float, sensitivity: float) -> float:
    """The logit Lerner price ``c + 1 / (b (1 − s))`` for own share ``s`` and price sensitivity ``b``.

    Under logit demand the first-order condition of per-step profit
    ``(p − c) N s(p)`` is ``p − c = 1 / (b (1 − s))`` (Anderson, de Palma &
    Thisse 1992); iterating it is the best-response dynamics of the price game.
    """
    return unit_cost + 1.0 / (sensitivity * max(1.0 - share, 1e-9))


def price_sensitivity(relative_prices: Sequence[float], shares: Sequence[float]) -> float | None:
    """Least-squares slope b of ``logit(share) = a − b·(own price − rivals' mean price)``.

    Returns None while the prices have not varied (nothing to learn from) or
    the slope is not a positive sensitivity.
    """
    # Plain Python: the histories are a few dozen periods, and numpy's overhead would dominate.
    x = [float(v) for v in relative_prices]
    if len(x) < 2 or max(x) - min(x) < 1e-9:
        return None
    y = []
    for share in shares:
        s = min(max(float(share), 1e-6), 1 - 1e-6)
        y.append(math.log(s / (1.0 - s)))
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxx = sum((a - mx) ** 2 for a in x)
    slope = -sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sxx
    return slope if slope > 0 else None


@dataclass
class RothErev:
    """Roth–Erev reinforcement learning over a discrete menu (Roth & Erev 1995; Erev & Roth 1998).

    Each action ``j`` has a propensity ``q_j``; it is chosen with probability
    ``q_j / Σ q``.  The initial propensities are scaled to the payoffs, as in
    Erev & Roth (1998): ``q_j(1) = s(1) · X / M`` with ``s(1)`` the strength
    of the initial propensities, ``M`` the menu's size and ``X`` the payoff
    scale, here the absolute value of the first non-zero payoff the learner
    sees (:meth:`scale_to`; until then every action is equally likely,
    whatever the scale).  After its payoff ``x`` is seen, the reinforcement is
    ``R = max(x − x_min, 0)`` with ``x_min`` the lowest payoff seen so far
    (payoffs shifted to be non-negative), and every propensity is updated
    ``q_j ← (1 − φ) q_j + E_j`` with ``E_j = (1 − ε) R`` for the chosen
    action and ``ε R / (M − 1)`` for the others (recency φ, experimentation ε).
    Multiplying every payoff by a constant ``c > 0`` multiplies every
    propensity by ``c`` and leaves the choice probabilities unchanged.

    Parameters
    ----------
    actions : int
        Size M of the menu.
    recency : float
        φ, share of every propensity forgotten per update.
    experimentation : float
        ε, share of a reinforcement spread over the other actions.
    strength : float
        s(1), the initial propensities' total in units of the payoff scale X
        (Erev & Roth 1998 estimate 9).
    """

    actions: int
    recency: float = 0.1
    experimentation: float = 0.05
    strength: float = 9.0
    propensities: np.ndarray = field(init=False)
    floor: float | None = field(init=False, default=None)
    scale: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # In units of the payoff scale X until it is known (equal propensities: the probabilities need no X).
        self.propensities = np.full(self.actions, float(self.strength) / self.actions)

    @property
    def probabilities(self) -> np.ndarray:
        """Choice probabilities of the actions now."""
        return self.propensities / self.propensities.sum()

    def choose(self, rng: np.random.Generator) -> int:
        """Draw an action by its probability."""
        return int(rng.choice(self.actions, p=self.probabilities))

    def scale_to(self, payoff: float) -> None:
        """Take ``X = |payoff|`` as the payoff scale, if none is set yet and ``payoff`` is not zero.

        The propensities, kept in units of X until then, are multiplied by
        X, so the initial ones are ``s(1) · X / M``.
        """
        if self.scale is None and payoff != 0.0 and math.isfinite(payoff):
            self.scale = abs(float(payoff))
            self.propensities = self.propensities * self.scale

    def reinforce(self, action: int, payoff: float) -> None:
        """Learn from ``payoff`` of ``action`` (setting the payoff scale from it if none is set yet)."""
        self.scale_to(payoff)
        if self.floor is None or payoff < self.floor:
            self.floor = float(payoff)
        reward = max(float(payoff) - self.floor, 0.0)
        spill = self.experimentation * reward / (self.actions - 1) if self.actions > 1 else 0.0
        gains = np.full(self.actions, spill)
        gains[action] = (1.0 - self.experimentation) * reward if self.actions > 1 else reward
        self.propensities = (1.0 - self.recency) * self.propensities + gains
        # Propensities never reach zero (an action forgotten entirely could never be tried again).
        lowest = 1e-12 * self.strength / self.actions * (1.0 if self.scale is None else self.scale)
        np.maximum(self.propensities, lowest, out=self.propensities)
