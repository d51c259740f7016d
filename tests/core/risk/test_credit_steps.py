"""The credit side's step functions (:mod:`sim.core.risk`) run on plain state, with no model."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.funnel import Activations
from sim.core.codes import LoanStatus
from sim.core.params import compile_catalog
from sim.core.population import draw_population
from sim.core.risk.credit_state import new_credit_state, recount
from sim.core.risk.lending import book_activations
from sim.core.risk.observation import observe
from sim.core.risk.settlement import settle
from sim.core.risk.underwriting import decide, open_window
from sim.core.state import CustomerState
from sim.network import build_network
from sim.scenario.loader import deep_merge, validate_data

SCENARIO = {
    "name": "credit_steps",
    "time": {"steps": 12},
    "population": {"size": 1500, "credit": {"subprime_share": 0.4}},
    "network": {"kind": "erdos_renyi", "mean_degree": 6},
    "products": {"loan": {"kind": "credit", "loan": {"term": 3, "renewal": 0.5}}},
    "credit": {"enabled": True, "peer_effect": 1.0},
    "macro": {"level": 3.0},
    "banks": {"bank": {"type": "state", "offers": {"loan": {}}, "credit": {"cutoff": 0.003, "insurer": "guard"}}},
    "insurers": {"guard": {"cutoff": 0.01}},
}


def market(seed: int = 1):
    scenario = validate_data(deep_merge(SCENARIO, {}), "test.yaml")
    rng = np.random.default_rng(seed)
    network = build_network(scenario.network, scenario.population.size, rng, None)
    population = draw_population(scenario.population, network, rng)
    catalog = compile_catalog(scenario)
    state = CustomerState.empty(network.size, catalog.n_offers, len(catalog.products), catalog.n_institutions,
                                len(catalog.platform_ids))
    credit = new_credit_state(catalog, network, population, state, rng)
    return catalog, network, state, credit, rng


def test_underwrite_book_and_settle_without_a_model():
    catalog, network, state, credit, rng = market()
    capital = np.full(catalog.n_institutions, 1.0e6)
    untouched = capital.copy()
    open_window(credit, catalog, capital)
    applicants = rng.choice(network.size, size=600, replace=False)
    offers = np.zeros(applicants.size, dtype=np.int64)
    approved = decide(credit, catalog, state, 0, applicants, offers, np.zeros(applicants.size, np.int8), rng)
    assert 0 < approved.sum() < applicants.size
    borrowers = applicants[approved]
    state.begin(borrowers, 0, 0, 0, 1)
    book_activations(credit, catalog, state, Activations(borrowers, offers[approved],
                                                         np.zeros(borrowers.size, np.int8)), step=1)
    assert (credit.book.status == LoanStatus.PERFORMING).all() and credit.book.size == borrowers.size
    seen_defaults = 0
    for step in range(2, 12):
        settle(credit, catalog, state, network.adjacency, capital, step, rng)
        seen_defaults += observe(credit, catalog, state, step)["market"]["new_defaults"]
        sums = recount(credit)
        for name, value in sums.items():
            np.testing.assert_allclose(getattr(credit, name), value, rtol=1e-9, atol=1e-6, err_msg=name)
    assert seen_defaults > 0 and state.defaulted.sum() == seen_defaults
    assert np.array_equal(capital, untouched), "the credit functions read capital, never change it"
    loans = state.loan[:, 0]
    assert (credit.book.status[loans[loans >= 0]] == LoanStatus.PERFORMING).all()


def test_the_same_generator_gives_the_same_book():
    books = []
    for _ in range(2):
        catalog, network, state, credit, rng = market(seed=7)
        open_window(credit, catalog, np.full(catalog.n_institutions, 1.0e6))
        customers = np.arange(200)
        decide(credit, catalog, state, 0, customers, np.zeros(200, np.int64), np.zeros(200, np.int8), rng)
        books.append(credit.pending_amount.copy())
    assert np.array_equal(*books)


def test_capital_pressure_enters_through_the_capital_argument():
    catalog, network, state, credit, rng = market()
    credit.risk_weighted[:] = 1.0e6
    open_window(credit, catalog, np.full(1, 1.0e9))
    relaxed = credit.offer_cutoff_now.copy()
    open_window(credit, catalog, np.full(1, 1.0e3))
    assert credit.offer_cutoff_now[0] < relaxed[0] == pytest.approx(catalog.risk.offer_cutoff[0])
