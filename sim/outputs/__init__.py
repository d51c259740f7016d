"""Output layer: Parquet tables, summary with intervals, deck charts, console view.

Typical use after a run::

    from sim.outputs import write_results, render_summary
    paths = write_results(Path("results") / name, tables, scenario_name=name,
                          resolved_scenario=resolved, seed=seed, replications=reps)
    print(render_summary(paths["summary_data"], name))
"""

from sim.outputs.console import format_stat, print_summary, render_summary, summary_renderable
from sim.outputs.plots import (
    plot_adoption,
    plot_all,
    plot_cac_by_channel,
    plot_funnel_by_channel,
    plot_market_share,
)
from sim.outputs.results import run_metadata, scenario_yaml, write_json, write_results
from sim.outputs.schema import STAGES, TABLE_NAMES, channel_order
from sim.outputs.summary import group_mean_ci, mean_ci, summarize, to_jsonable, write_summary
from sim.outputs.tables import read_tables, write_tables

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
    "plot_market_share",
    "print_summary",
    "read_tables",
    "render_summary",
    "run_metadata",
    "scenario_yaml",
    "summarize",
    "summary_renderable",
    "to_jsonable",
    "write_json",
    "write_results",
    "write_summary",
    "write_tables",
]
