"""Agent-based simulation of channel competition between banks and internet platforms.

The public API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml", overrides={"banks.citic.referral.bonus": 100})
    result = sim.run(scenario, replications=5, seed=1)     # tables as DataFrames
    model = sim.ChannelModel(scenario, seed=1)             # a Mesa model to step by hand
"""

from sim.errors import ScenarioError
from sim.experiments.replicate import RunResult, run
from sim.model.model import ChannelModel
from sim.scenario import load_scenario
from sim.version import __version__

__all__ = ["load_scenario", "run", "ChannelModel", "RunResult", "ScenarioError", "__version__"]
