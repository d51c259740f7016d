"""Logit–Bertrand: two banks that set prices by the ``rule`` policy reach the analytic Nash price.

Two banks sell one product; every customer knows both offers from the start
(``initial_awareness: 1``) and re-chooses every step (``choice.switching: 1``,
every application approved) by a multinomial logit whose only term is
``−α·price``.  Each bank's per-step profit is ``(p − c)·N·s`` (revenue =
price, the fee paid; unit cost ``c`` = ``service_cost``).  The
symmetric Nash equilibrium of this game is ``p* − c = 1/(α(1 − s))`` with
``s = 1/2``, i.e. ``p* = c + 2/α`` (Anderson, de Palma & Thisse 1992).

Tolerance.  Shares are binomial: over a decision period of ``E`` steps the
mean share has sd ``σ_s = sqrt(s(1 − s)/(N E))`` and its log-odds sd
``σ_y = σ_s/(s(1 − s))``.  The rule's price ``c + 1/(b̂(1 − s̄))`` carries
two errors: (i) the estimated sensitivity ``b̂`` (least squares of log-odds
share on relative price over the bank's own history, sd ``σ_b = σ_y/sqrt(Σ(x − x̄)²)``),
giving ``(p* − c)·σ_b/α`` in price, common to a replication; and (ii) the
share's own noise, ``σ_t = σ_s/(α(1 − s)²)`` per period, of which a mean
over the last K periods keeps about ``σ_t/sqrt(K)``.  Each replication's
mean price over its last K decisions must lie within 4 combined sd of p*.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.model import ChannelModel
from tests.conftest import BASE_SCENARIO, build_scenario

ALPHA, COST, N, EVERY, STEPS, LAST = 1.0, 1.0, 4000, 3, 150, 20


def bank(price: float, step: float = 0.25) -> dict:
    return {
        "type": "joint_stock",
        "offers": {"payments": {"price": price, "service_cost": COST,
                                "initial_share": 0.5, "initial_awareness": 1.0}},
        "branch": {"coverage": [1, 1, 1, 1], "spend": 50.0},       # p = 1 on the unit curve below
        "referral": {"enabled": False},
        "retention": 1.0,
        "policy": {"kind": "rule", "price_step": step, "answer_threshold": None,
                   "price_bounds": {"low": 0.0, "high": 10.0}},
    }


def duopoly(price_x: float, price_y: float):
    return build_scenario({
        "population": {"size": N}, "time": {"steps": STEPS}, "network": {"kind": "erdos_renyi", "mean_degree": 2},
        "funnel": {"apply": 1.0, "approve": 1.0},
        "marketing": {"response": {"branch": {"p_max": 1.0, "s0": 1.0}}},
        "choice": {"price": -ALPHA, "convenience": 0.0, "trust": 0.0, "live_stream": 0.0, "incentive": 0.0,
                   "switching": 1.0},
        "decisions": {"every": EVERY},
        "banks": {"x": bank(price_x), "y": bank(price_y)},
    }, base={**BASE_SCENARIO, "banks": {}})


def price_paths(model) -> dict[str, np.ndarray]:
    log = [c for c in model.levers.log if c.path == "offers.payments.price"]
    return {b: np.array([c.after for c in log if c.owner == f"banks.{b}"]) for b in ("x", "y")}


def tolerance(model, name: str) -> float:
    """4 sd of a replication's late mean price around p* (module docstring)."""
    s = 0.5
    sigma_s = math.sqrt(s * (1 - s) / (N * EVERY))
    sigma_y = sigma_s / (s * (1 - s))
    sigma_t = sigma_s / (ALPHA * (1 - s) ** 2)
    relative = np.array([x for x, _ in model.institution(name).memory.price_history["payments"]])
    sigma_b = sigma_y / math.sqrt(((relative - relative.mean()) ** 2).sum())
    return 4 * math.hypot((1.0 / (ALPHA * (1 - s))) * sigma_b / ALPHA, sigma_t / math.sqrt(LAST))


@pytest.mark.parametrize("seed", range(4))
def test_adaptive_price_converges_to_the_logit_nash_price(seed):
    nash = COST + 1.0 / (ALPHA * (1 - 0.5))
    model = ChannelModel(duopoly(2.0, 4.5), seed=seed)
    model.run()
    for name, path in price_paths(model).items():
        late = path[-LAST:].mean()
        assert abs(late - nash) < tolerance(model, name), (name, late, nash, tolerance(model, name))
        # The decisions kept to the price step and bounds.
        assert np.abs(np.diff(path)).max() <= 0.25 + 1e-9
        assert path.min() >= 0.0 and path.max() <= 10.0
    shares = model.tables()["institutions"].query("step > 100").groupby("institution")["market_share"].mean()
    # Mean of 50 binomial shares around 1/2 (their sd 0.5/sqrt(N) each), allowing the prices' spread.
    assert shares.loc["x"] == pytest.approx(0.5, abs=0.01)


def test_equal_starting_prices_still_find_the_nash_price():
    """Level prices give the rule no relative price to learn from: it explores at random first."""
    nash = COST + 2.0 / ALPHA
    model = ChannelModel(duopoly(1.5, 1.5), seed=11)
    model.run()
    for name, path in price_paths(model).items():
        assert abs(path[-LAST:].mean() - nash) < tolerance(model, name)
