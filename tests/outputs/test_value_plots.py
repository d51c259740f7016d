"""Customer-value charts (:mod:`sim.outputs.value_plots`) drawn from a real run's cohorts, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiments.summary import summarize
from sim.model import ChannelModel
from sim.outputs.value_plots import (
    channel_label,
    plot_ltv_cac_by_channel,
    plot_payback_by_channel,
    plot_retention_by_channel,
    retention_curves,
)
from tests.core.adoption.test_economics import MARKET

STEPS = 12


@pytest.fixture(scope="module")
def tables(make_scenario):
    import pandas as pd

    runs = []
    for replication in range(2):
        model = ChannelModel(make_scenario(MARKET, {"time": {"steps": STEPS}}), seed=20 + replication)
        model.run()
        runs.append(model.tables(replication))
    return {name: pd.concat([run[name] for run in runs], ignore_index=True) for name in runs[0]}


def test_retention_at_an_age_is_held_over_acquired_by_cohorts_old_enough(tables):
    cohorts = tables["cohorts"]
    curves = retention_curves(cohorts[cohorts.cohort >= 1], [0, 1], min_base=1)
    channel, age = "branch", 4
    by_hand = []
    for rep in (0, 1):
        won = cohorts[(cohorts.replication == rep) & (cohorts.channel == channel) & (cohorts.cohort >= 1)
                      & (cohorts.cohort <= STEPS - age)]
        acquired = won.drop_duplicates(["cohort", "institution", "product"]).acquired.sum()
        by_hand.append(won[won.age == age].active.sum() / acquired)
    row = curves[(curves.channel == channel) & (curves.age == age)]
    assert float(row["mean"].iloc[0]) == pytest.approx(np.mean(by_hand))
    assert (curves[curves.age == 0]["mean"] == 1.0).all()


def test_ltv_cac_and_payback_bars_are_the_summary_figures(tables):
    value = summarize(tables)["customer_value"]["by_channel"]
    ax = plot_ltv_cac_by_channel(tables)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    heights = [p.get_height() for p in ax.patches]
    assert labels and len(labels) == len(heights)
    for label, height in zip(labels, heights, strict=True):
        channel = next(c for c in value if channel_label(c) == label)
        assert height == pytest.approx(value[channel]["ltv_to_cac"]["mean"])
    ax = plot_payback_by_channel(tables)
    for label, patch in zip([t.get_text() for t in ax.get_xticklabels()], ax.patches, strict=True):
        channel = next(c for c in value if channel_label(c) == label)
        assert patch.get_height() == pytest.approx(value[channel]["payback_age"]["mean"])


def test_retention_chart_draws_a_line_per_channel_within_0_and_100_percent(tables, tmp_path):
    ax = plot_retention_by_channel(tables, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0
    assert ax.lines and all(0.0 <= y <= 1.0 for line in ax.lines for y in line.get_ydata())
    assert ax.get_ylim()[0] == 0.0


def test_charts_without_cohorts_say_so(tables):
    empty = {**tables, "cohorts": tables["cohorts"].iloc[0:0]}
    for plot in (plot_retention_by_channel, plot_ltv_cac_by_channel, plot_payback_by_channel):
        ax = plot(empty)
        assert not ax.lines and not ax.patches and ax.texts
