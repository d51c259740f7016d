"""The relationship tally, moved by the relationships begun and ended, equals a count from scratch at every step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.core.adoption.cells import relationship_cells
from sim.core.state import CustomerState
from sim.model import ChannelModel

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def from_scratch(model: ChannelModel) -> tuple[np.ndarray, list[np.ndarray]]:
    """(K, I, C + 1, 4) cell counts and per-product cohort counts, read from every customer."""
    state, K = model.state, model.state.provider.shape[1]
    holders = [np.flatnonzero(state.provider[:, k] >= 0) for k in range(K)]
    cells = relationship_cells(state, model.catalog, holders, model.population.city_tier).counts
    cohorts = [np.bincount(model.cohorts.codes(state, who, k), minlength=model.tally.cohorts[k].size)
               for k, who in enumerate(holders)]
    return cells, cohorts


# Churn, switching and credit (defaults, loans not renewed) all end relationships; the funnel and switching begin them.
@pytest.mark.parametrize("name", ["baseline", "p2p_collapse", "referral_bonus_war"])
def test_the_tally_is_a_count_of_every_customer_at_every_step(name):
    scenario = sim.load_scenario(SCENARIOS / f"{name}.yaml",
                                 overrides={"population.size": 1500, "time.burn_in": 3})
    model = ChannelModel(scenario, seed=5)
    steps, changes = 14, 0
    for _ in range(steps):
        model.step()
        changes += sum(model.last[key] for key in ("new_active", "churned", "switched"))
        cells, cohorts = from_scratch(model)
        assert np.array_equal(model.tally.cells, cells), f"{name}: cell counts at step {model.steps}"
        for k, counts in enumerate(cohorts):
            assert np.array_equal(model.tally.cohorts[k], counts), f"{name}: cohort counts of product {k}"
    assert changes > 3 * steps, "the run should begin and end relationships"
    assert model.tally.cells.sum() > 0


def test_relationships_are_written_only_by_begin_and_end():
    state = CustomerState.empty(6, 2, 1, 2, 0)
    with pytest.raises(ValueError, match="read-only"):
        state.provider[0, 0] = 1
    state.begin(np.array([1, 3]), 0, np.array([0, 1]), 2, since=4)
    state.begin(np.array([3]), 0, 0, 1, since=5)            # a switch: the old relationship ends first
    state.end(np.array([1, 2]), 0)                           # customer 2 holds nothing: no change for it
    assert state.provider[:, 0].tolist() == [-1, -1, -1, 0, -1, -1]
    assert (state.channel[3, 0], state.since[3, 0]) == (1, 5)
    changes = state.take_changes()
    assert [(c.customers.tolist(), c.provider.tolist(), c.sign) for c in changes] == [
        ([1, 3], [0, 1], 1), ([3], [1], -1), ([3], [0], 1), ([1], [0], -1)]
    assert state.take_changes() == [] and state.changes == []
