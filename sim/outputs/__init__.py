"""Output layer: Parquet tables, summary.json, deck charts, comparison report, console view.

Typical use after a run::

    import sim
    result = sim.run(scenario)
    sim.save(result, Path("results") / scenario.name)      # = sim.outputs.save_run
    print(render_summary(result.summary, scenario.name))

The figures themselves (summary statistics, key metrics) are computed in
:mod:`sim.experiments`; this layer writes and draws them.
"""

from sim.experiments.schema import STAGES, TABLE_NAMES, channel_order
from sim.experiments.stats import group_mean_ci, mean_ci
from sim.outputs.console import format_stat, print_summary, render_summary, summary_renderable
from sim.outputs.deck import plot_all
from sim.outputs.plots import plot_adoption, plot_cac_by_channel, plot_funnel_by_channel, plot_market_share
from sim.outputs.results import run_metadata, save_run, scenario_yaml, write_json, write_results
from sim.outputs.summary import summarize, to_jsonable, write_summary
from sim.outputs.tables import read_tables, write_tables
from sim.outputs.value_plots import plot_ltv_cac_by_channel, plot_payback_by_channel, plot_retention_by_channel

__all__ = [
    "STAGES",
    "TABLE_NAMES",
    "channel_order",
    "format_stat",
    "group_mean_ci",
    "mean_ci",
    "plot_adoption",
    "plot_all",
    "plot_cac_by_channel",
    "plot_funnel_by_channel",
    "plot_ltv_cac_by_channel",
    "plot_market_share",
    "plot_payback_by_channel",
    "plot_retention_by_channel",
    "print_summary",
    "read_tables",
    "render_summary",
    "run_metadata",
    "save_run",
    "scenario_yaml",
    "summarize",
    "summary_renderable",
    "to_jsonable",
    "write_json",
    "write_results",
    "write_summary",
    "write_tables",
]
