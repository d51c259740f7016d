"""Agent-based simulation of channel competition between banks and internet platforms.

The public API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml", overrides={"banks.citic.referral.bonus": 100})
    result = sim.run(scenario, replications=5, seed=1)     # tables as DataFrames
    model = sim.ChannelModel(scenario, seed=1)             # a Mesa model to step by hand
    sim.save(result, "results/my_run")                     # tables, summary.json, plots (sim.outputs.save_run)
    sim.save(result, "results/my_run", overwrite=True)     # replace it; never a folder of other files
"""

from sim.errors import ScenarioError
from sim.experiments.replicate import RunResult, run
from sim.model.model import ChannelModel
from sim.scenario import load_scenario
from sim.version import __version__

__all__ = ["load_scenario", "run", "save", "ChannelModel", "RunResult", "ScenarioError", "__version__"]


def __getattr__(name: str):
    # ``sim.save`` is sim.outputs.save_run, imported on first use so that ``import sim`` does not load matplotlib.
    if name == "save":
        from sim.outputs.results import save_run

        return save_run
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
