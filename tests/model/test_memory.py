"""Memory stays flat across runs in one process (a sweep worker, a dashboard reset loop, a notebook).

Mesa 3.3 keeps every model alive through the class-level ``Agent._ids``
table; the package's agents count ids in a table that holds models weakly
(:class:`sim.model.agents.ModelCounters`).  Before that change each
3,000-customer model here left about 9 MB behind.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import mesa
import pytest

from sim.model.agents import MODEL_COUNTERS
from sim.model.model import ChannelModel

MODELS = 30
#: Bound on what each model may leave behind (the issue's 2 MB per model).
GROWTH_PER_MODEL = 2 * 1024**2


def run_one(scenario) -> None:
    model = ChannelModel(scenario, seed=1)
    model.run(2)
    model.tables()


@pytest.mark.slow  # thirty models, about 20 s
def test_thirty_models_in_a_row_leave_less_than_2_mb_each(make_scenario):
    scenario = make_scenario({"population": {"size": 3000}, "network": {"kind": "watts_strogatz", "mean_degree": 10},
                              "banks": {"b": {"own_app": {"spend": 51.2933, "followers": 0.2}}}})
    run_one(scenario)                  # warm caches (imports, lazily built tables) before measuring
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(MODELS):
            run_one(scenario)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth / MODELS <= GROWTH_PER_MODEL, f"{growth / MODELS / 1024**2:.1f} MB left behind per model"


def test_a_model_nobody_references_is_freed(make_scenario):
    model = ChannelModel(make_scenario(), seed=1)
    model.step()
    gc.collect()  # models earlier tests left for the collector must not be counted here
    ref = weakref.ref(model)
    counters = len(MODEL_COUNTERS)
    del model
    gc.collect()
    assert ref() is None, "something still holds the model"
    assert len(MODEL_COUNTERS) == counters - 1
    assert all(not isinstance(key, ChannelModel) for key in mesa.Agent._ids), "Mesa's own id table holds a model"


def test_agent_ids_are_unique_within_a_model_and_restart_per_model(make_scenario):
    first = ChannelModel(make_scenario(), seed=1)
    second = ChannelModel(make_scenario(), seed=1)
    ids = [agent.unique_id for agent in first.agents]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == list(range(1, len(ids) + 1))
    assert sorted(agent.unique_id for agent in second.agents) == sorted(ids)
