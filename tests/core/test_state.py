"""Tests of the customer state's one-pass summaries (:class:`sim.core.state.CustomerState`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.state import CustomerState


@pytest.mark.parametrize("institutions", [3, 7, 8, 20, 70])
def test_private_domains_are_customers_and_followers(institutions):
    rng = np.random.default_rng(institutions)
    n, K = 400, 3
    state = CustomerState.empty(n, 4, K, institutions, 1)
    provider = rng.integers(-1, institutions, size=(n, K))
    for k in range(K):
        holders = np.flatnonzero(provider[:, k] >= 0)
        state.begin(holders, k, provider[holders, k], 0, 0)
    state.follower[:] = rng.random((n, institutions)) < 0.1
    asked = np.arange(0, institutions, 2)
    domains = state.private_domains(asked)
    expected = state.customer_of(institutions) | state.follower
    assert sorted(domains) == asked.tolist()
    for i in asked:
        assert domains[i].tolist() == np.flatnonzero(expected[:, i]).tolist()


def test_holder_count_counts_customers_with_any_product():
    state = CustomerState.empty(5, 2, 3, 2, 1)
    for customer, product, provider in ((0, 0, 1), (2, 1, 0), (2, 2, 1), (4, 2, 0)):
        state.begin(np.array([customer]), product, provider, 0, 0)
    assert state.holder_count() == 3
