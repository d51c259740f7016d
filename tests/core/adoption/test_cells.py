"""The step's relationships by cell against the relationships one by one (sim.core.adoption.cells)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.cells import relationship_cells
from sim.core.adoption.cohorts import CohortBook, Earnings
from sim.core.adoption.economics import MARGIN_PARTS, relationship_margin
from sim.model import ChannelModel
from tests.core.adoption.test_economics import CREDIT_MARKET


@pytest.fixture(scope="module")
def model(make_scenario):
    model = ChannelModel(make_scenario(CREDIT_MARKET), seed=5)
    model.run(4)
    return model


def _one_by_one(model):
    """The relationships one by one (relationship_margin) and each one's city tier."""
    margins = relationship_margin(model.state, model.catalog, model.credit.book)
    return margins, model.population.city_tier[margins.customer].astype(np.int64)


def test_the_counts_are_a_scan_of_every_customer(model):
    cat, state, tier = model.catalog, model.state, model.population.city_tier
    held, via = model.relationships.held, model.relationships.via
    assert held.sum() == np.count_nonzero(state.provider >= 0) > 0
    for i in range(cat.n_institutions):
        for k in range(len(cat.products)):
            mine = state.provider[:, k] == i
            assert [held[i, k, t] for t in range(4)] == [np.count_nonzero(mine & (tier == t)) for t in range(4)]
            assert [via[i, c, k] for c in range(cat.n_channels)] == [
                np.count_nonzero(mine & (state.channel[:, k] == c)) for c in range(cat.n_channels)]


def test_the_loan_relationships_are_the_performing_loans_of_lenders_not_p2p(model):
    cat, state, book = model.catalog, model.state, model.credit.book
    loans = model.relationships.loans
    k = cat.products.index("credit")
    holders = np.flatnonzero(state.provider[:, k] >= 0)
    lender = state.provider[holders, k]
    loan = state.loan[holders, k]
    performing = np.flatnonzero((loan >= 0) & ~cat.risk.is_p2p[lender])
    assert performing.size > 0, "the scenario should hold performing loans"
    assert (loans[k].customer == holders[performing]).all()
    ids = loan[performing]
    interest = book.amount[ids] * book.rate[ids] / cat.steps_per_year
    funding = book.amount[ids] * cat.risk.cost_of_funds[lender[performing]] / cat.steps_per_year
    assert np.allclose(loans[k].interest, interest, rtol=1e-15) and np.allclose(loans[k].funding_cost, funding)
    offer = cat.offer_of[lender[performing], k]
    gross = cat.price[offer] + interest
    assert np.allclose(loans[k].margin + loans[k].revenue_share, gross - funding - cat.service_cost[offer])
    assert all(loans[j].customer.size == 0 for j in range(len(loans)) if j != k)


def test_the_ledger_is_the_relationships_summed_one_by_one(model):
    margins, tier = _one_by_one(model)
    cat, ledger = model.catalog, model.ledger
    I, K = cat.n_institutions, len(cat.products)
    cell = margins.institution.astype(np.int64) * K + margins.product
    for part in MARGIN_PARTS:
        expected = np.bincount(cell, weights=getattr(margins, part), minlength=I * K).reshape(I, K)
        assert np.allclose(ledger.by_product[part], expected, rtol=1e-12, atol=1e-9), part
    by_tier = np.bincount(margins.institution * 4 + tier, weights=margins.margin, minlength=I * 4).reshape(I, 4)
    assert np.allclose(ledger.by_tier["margin"], by_tier, rtol=1e-12, atol=1e-9)
    shared = margins.share_to >= 0
    assert shared.any(), "the scenario should share revenue with a platform"
    platform_fees = ledger.platform_income - np.bincount(margins.share_to[shared],
                                                         weights=margins.revenue_share[shared], minlength=I)
    assert np.allclose(platform_fees[cat.institution_kind == "bank"], 0.0, atol=1e-9)


def test_the_margins_by_entry_channel_are_the_relationships_summed_one_by_one(model):
    margins, _ = _one_by_one(model)
    cat = model.catalog
    width = cat.n_channels + 1
    code = margins.institution.astype(np.int64) * width + margins.channel + 1
    expected = np.bincount(code, weights=margins.margin, minlength=cat.n_institutions * width)
    assert np.allclose(model._channel_margins(model.steps), expected.reshape(-1, width)[:, 1:],
                       rtol=1e-12, atol=1e-9)


def test_the_cohort_margins_are_the_relationships_summed_one_by_one(model):
    margins, _ = _one_by_one(model)
    cat, state = model.catalog, model.state
    K = len(cat.products)
    holders = [np.flatnonzero(state.provider[:, k] >= 0) for k in range(K)]
    rel = relationship_cells(state, cat, holders, model.population.city_tier, model.credit.book)
    by_cell, by_one = (CohortBook(cat.n_institutions, cat.n_channels, K) for _ in range(2))
    step = model.steps
    by_cell.observe(step, state, holders, Earnings(rel.cells.provider_margin,
                                                   [(loans.customer, loans.margin) for loans in rel.loans]))
    bounds = np.searchsorted(margins.product, np.arange(K + 1))
    by_one.observe(step, state, holders,
                   Earnings.per_relationship(holders, [margins.margin[bounds[k]:bounds[k + 1]] for k in range(K)],
                                             by_one))
    (_, cells, held, _, earned), (_, cells_one, held_one, _, earned_one) = by_cell.entries[0], by_one.entries[0]
    assert (cells == cells_one).all() and (held == held_one).all()
    assert np.allclose(earned, earned_one, rtol=1e-12, atol=1e-9)
    assert np.abs(earned).sum() > 0
