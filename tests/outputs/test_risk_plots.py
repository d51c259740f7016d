"""Credit-side run charts: honest intervals, no empty lines or legends, one step label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.outputs.risk_plots import (
    RISK_CHARTS,
    plot_cascade_size,
    plot_default_rate_by_lender,
    plot_lender_losses,
    pooled_default_rates,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def credit_tables():
    """A small baseline run: credit on, no insurer, no contagion (the calibrated peer effect set to 0)."""
    scenario = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml",
                                 {"population.size": 1500, "time.steps": 24, "credit.peer_effect": 0.0})
    return sim.run(scenario, replications=3, seed=11).tables


def test_pooled_default_rates_are_proportions_with_wilson_bounds(credit_tables):
    pooled = pooled_default_rates(credit_tables["institutions"], window=3)
    assert len(pooled) and (pooled["low"] >= 0).all() and (pooled["high"] <= 1).all()
    assert (pooled["low"] <= pooled["rate"]).all() and (pooled["rate"] <= pooled["high"]).all()
    one = pooled.iloc[0]
    assert one["rate"] == pytest.approx(one["defaults"] / one["at_risk"])


def test_default_rate_chart_never_goes_below_zero(credit_tables):
    ax = plot_default_rate_by_lender(credit_tables, time_unit="month")
    assert ax.get_xlabel() == "Step (month)"
    for band in ax.collections:
        for path in band.get_paths():
            assert path.vertices[:, 1].min() >= 0
    assert "pooled by quarter" in " ".join(t.get_text() for t in ax.texts)


def test_cascade_without_contagion_draws_no_contagion_line(credit_tables):
    assert credit_tables["market"]["contagion_defaults"].sum() == 0
    ax = plot_cascade_size(credit_tables, time_unit="week")
    assert [line.get_label() for line in ax.lines] == ["all defaults"]
    assert "no default was due to contagion" in " ".join(t.get_text() for t in ax.texts)
    assert ax.get_xlabel() == "Step (week)"


def test_lender_losses_have_no_offset_and_no_insurer_entry_without_insurers(credit_tables):
    ax = plot_lender_losses(credit_tables)
    assert ax.get_legend() is None
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels and not any("e" in label for label in labels)
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_every_time_axis_says_step_and_its_unit(credit_tables, tmp_path):
    from sim.outputs.deck import plot_all
    from sim.outputs.plots import plot_adoption, plot_market_share

    for draw in (plot_market_share, plot_adoption):
        assert draw(credit_tables, time_unit="month").get_xlabel() == "Step (month)"
    written = plot_all(credit_tables, tmp_path, time_unit="month")
    assert {p.name for p in written} >= {name for name, *_ in RISK_CHARTS if name != "insurer_capital.png"}
    assert np.all([p.stat().st_size > 0 for p in written])


def test_lender_legends_show_display_names(credit_tables):
    from sim.outputs.formats import display_names

    names = display_names([sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")])
    ax = plot_default_rate_by_lender(credit_tables, names=names)
    labels = {text.get_text() for text in ax.get_legend().get_texts()}
    assert "Large state bank" in labels and "icbc" not in labels
