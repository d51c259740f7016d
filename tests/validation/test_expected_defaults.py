"""The credit table's ``expected_defaults``: the default count without its Bernoulli noise.

Each step, ``expected_defaults`` adds over the loans at risk the probability
that each defaults given the state before the draw.  Two checks:

- **Exact, without contagion.** With no peer effect, threshold or macro path
  a loan's probability is its borrower's latent hazard (× the social
  collateral inside a sanctioning circle), so the column must equal the sum
  of hazard × steps at risk computed independently from the loan book.
- **Martingale, with contagion.** Realised defaults minus expected defaults
  is a sum of martingale differences whatever the peer effect does between
  steps, with variance Σ p(1 − p) ≤ Σ p.  Over several replications of a
  market with a strong peer effect the realised total must lie within 3.5
  standard deviations of the expected total; and the test can fail: the
  expected count computed without the peer term (the hazard alone) falls
  far outside that band.
- **Borrowers with several loans.** A borrower defaults on all its loans, so
  a loan's probability is 1 − Π(1 − p) over its borrower's loans: with two
  products the realised total tracks the expected one, which lies far above
  the sum of the loans' own hazards.
"""

from __future__ import annotations

import numpy as np

from sim.experiments.replicate import replication_seed
from sim.model import ChannelModel
from sim.scenario.loader import validate_data

STEPS = 36


def credit_market(peer_effect: float, products: int = 1):
    loans = {f"loan{k}": {"kind": "credit", "loan": {"size_sd": 0.0, "term": 6}} for k in range(products)}
    data = {
        "name": "expected_defaults_test",
        "time": {"steps": STEPS},
        "population": {"size": 4000, "credit": {"subprime_share": 0.4}},
        "network": {"kind": "watts_strogatz", "mean_degree": 8, "rewiring": 0.1},
        "products": loans,
        "choice": {"switching": 0.0},
        "credit": {"enabled": True, "peer_effect": peer_effect},
        "banks": {"bank": {"type": "joint_stock", "retention": 1.0, "credit": {"cutoff": 1.0},
                           "offers": {name: {"price": 1.0, "initial_share": 0.8} for name in loans}}},
    }
    return validate_data(data, "expected_defaults.yaml")


def run(scenario, seed: int):
    model = ChannelModel(scenario, seed=seed)
    model.run()
    return model.tables(0)["credit"], model.loans()


def hazard_sum(book) -> float:
    """Σ over loan-steps at risk (from step 1) of the borrower's latent hazard: each loan on its own."""
    closed = np.where(book["status"].to_numpy() == "performing", STEPS, book["closed"].to_numpy())
    steps = np.clip(closed - np.maximum(book["start"].to_numpy() + 1, 1) + 1, 0, None)
    return float((book["hazard"].to_numpy() * steps).sum())


def realised_expected_and_hazards(scenario, replications: int = 4) -> tuple[float, float, float]:
    realised = expected = hazards = 0.0
    for k in range(replications):
        credit, book = run(scenario, seed=replication_seed(11, k))
        credit = credit[credit["step"] >= 1]
        realised += credit["defaults"].sum()
        expected += credit["expected_defaults"].sum()
        hazards += hazard_sum(book)
    return realised, expected, hazards


def test_without_contagion_expected_defaults_are_the_hazards_of_the_loans_at_risk():
    credit, book = run(credit_market(0.0), seed=3)
    at_risk = credit[credit["step"] >= 1]
    assert np.isclose(at_risk["expected_defaults"].sum(), hazard_sum(book), rtol=1e-9)
    assert at_risk["defaults"].sum() > 100


def test_with_a_peer_effect_realised_defaults_track_expected_ones():
    realised, expected, hazards = realised_expected_and_hazards(credit_market(3.0))
    sd = np.sqrt(expected)
    assert realised > 500
    assert abs(realised - expected) < 3.5 * sd, f"realised {realised:.0f}, expected {expected:.1f} ± {sd:.1f}"
    assert expected - hazards > 3.5 * sd, f"the peer effect adds {expected - hazards:.1f} (sd {sd:.1f})"


def test_a_borrower_with_two_loans_defaults_on_both():
    realised, expected, hazards = realised_expected_and_hazards(credit_market(0.0, products=2))
    sd = np.sqrt(expected)
    assert abs(realised - expected) < 3.5 * sd, f"realised {realised:.0f}, expected {expected:.1f} ± {sd:.1f}"
    assert expected - hazards > 3.5 * sd, f"two loans' joint default adds {expected - hazards:.1f} (sd {sd:.1f})"
