"""The dashboard's charts, drawn from tables and model state without a browser."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from sim.dashboard import charts
from sim.model.model import ChannelModel
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_dashboard  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.fixture(scope="module")
def small_model(baseline):
    model = ChannelModel(with_overrides(baseline, {"population.size": 1500}), seed=3)
    model.run(6)
    return model


def _drawn(fig: Figure) -> int:
    """Number of data artists on the figure's first axes (lines, bars, collections)."""
    ax = fig.axes[0]
    return len(ax.lines) + len(ax.patches) + len(ax.collections)


def test_each_chart_draws_the_models_tables(small_model):
    tables = charts.tables_of(small_model)
    available = charts.available_charts(tables)
    assert [c.name for c in available][:3] == ["market_share", "funnel", "cac"]
    for chart in available:
        fig = charts.chart_figure(chart, tables)
        assert _drawn(fig) > 0, chart.name
        assert f"(step {small_model.steps})" in fig.axes[0].get_title(loc="left")
        assert charts.figure_png(fig).startswith(PNG)


def test_market_share_lines_are_the_tables(small_model):
    tables = charts.tables_of(small_model)
    fig = charts.chart_figure(charts.CHARTS[0], tables)
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    inst = tables["institutions"]
    citic = inst[inst["institution"] == "citic"]
    np.testing.assert_allclose(lines["citic"].get_ydata(), citic["market_share"])
    assert lines["chatpay"].get_linestyle() == "--"  # platforms dashed, as in the deck


def test_tables_are_built_once_per_step(small_model, monkeypatch):
    calls = []
    original = type(small_model).tables
    monkeypatch.setattr(type(small_model), "tables", lambda self, *a: calls.append(1) or original(self, *a))
    charts._TABLES.pop(small_model, None)
    first = charts.tables_of(small_model)
    assert charts.tables_of(small_model) is first and len(calls) == 1


def test_charts_before_anything_happened(baseline):
    model = ChannelModel(with_overrides(baseline, {"population.size": 300}), seed=1)
    for chart in charts.available_charts(charts.tables_of(model)):
        assert charts.figure_png(charts.chart_figure(chart, charts.tables_of(model))).startswith(PNG)


def test_credit_chart_only_when_the_run_has_credit_data(make_tables):
    tables = make_tables(replications=1, steps=5)
    assert "default_rate" in tables["market"].columns
    assert "credit" in [c.name for c in charts.available_charts(tables)]
    without = {**tables, "market": tables["market"].drop(columns="default_rate")}
    assert "credit" not in [c.name for c in charts.available_charts(without)]
    # Columns present but empty (risk side switched off): no chart either.
    empty = {**tables, "market": tables["market"].assign(default_rate=np.nan, borrowers=0)}
    assert "credit" not in [c.name for c in charts.available_charts(empty)]
    # Insurer capital alone is enough, from an insurers table.
    steps = np.arange(6)
    insurers = {**without, "insurers": __import__("pandas").DataFrame(
        {"replication": 0, "step": steps, "insurer": "guarantor", "capital": 1e6 - 1e4 * steps})}
    assert "credit" in [c.name for c in charts.available_charts(insurers)]
    credit = next(c for c in charts.CHARTS if c.name == "credit")
    for case in (tables, insurers):
        fig = charts.chart_figure(credit, case)
        assert sum(len(ax.lines) for ax in fig.axes) >= 1


def test_neighbourhood_is_a_bfs_ball_with_a_fixed_layout(small_model):
    adjacency = small_model.network.adjacency
    hood = charts.sample_neighbourhood(adjacency, size=200, seed=5)
    assert hood.nodes.size == 200 and np.unique(hood.nodes).size == 200
    assert hood.positions.shape == (200, 2) and np.isfinite(hood.positions).all()
    # Every edge of the sample is an edge of the network among sampled customers, and all of them are there.
    sub = adjacency[hood.nodes][:, hood.nodes]
    assert hood.edges.shape[0] == sub.nnz // 2
    assert all(adjacency[hood.nodes[a], hood.nodes[b]] for a, b in hood.edges[:50])
    # A ball: every sampled customer is within a few hops of the root, through sampled customers.
    import scipy.sparse.csgraph as csgraph

    hops = csgraph.shortest_path(sub, unweighted=True, indices=0)
    assert np.isfinite(hops).all() and hops.max() <= 10
    again = charts.sample_neighbourhood(adjacency, size=200, seed=5)
    np.testing.assert_array_equal(again.nodes, hood.nodes)
    np.testing.assert_allclose(again.positions, hood.positions)


def test_neighbourhood_is_shared_by_models_on_the_same_network(baseline):
    scenario = with_overrides(baseline, {"population.size": 800})
    a = ChannelModel(scenario, seed=4)
    b = ChannelModel(with_overrides(scenario, {"banks.citic.referral.bonus": 50}), seed=4)
    assert charts.neighbourhood_of(a, 100) is charts.neighbourhood_of(b, 100)


def test_network_colours_follow_the_providers(small_model):
    hood = charts.neighbourhood_of(small_model, 250)
    mode = charts.colour_modes(small_model)[0]
    assert mode == f"provider: {small_model.catalog.products[0]}"
    paint = charts.colouring(small_model, hood.nodes, mode)
    provider = small_model.state.provider[hood.nodes, 0]
    none = np.asarray(charts.NO_PROVIDER)
    assert np.all((paint.colors == none).all(axis=1) == (provider < 0))
    same = provider == provider[provider >= 0][0]
    assert (paint.colors[same] == paint.colors[same][0]).all()
    won = paint.new
    assert np.array_equal(won, (provider >= 0) & (small_model.state.since[hood.nodes, 0] == small_model.steps))
    fig = charts.network_figure(small_model, hood, mode)
    assert charts.figure_png(fig).startswith(PNG)


def test_drawing_never_changes_the_run(baseline):
    scenario = with_overrides(baseline, {"population.size": 600})
    watched, alone = ChannelModel(scenario, seed=9), ChannelModel(scenario, seed=9)
    for _ in range(3):
        watched.step()
        alone.step()
        hood = charts.neighbourhood_of(watched, 100)
        charts.network_figure(watched, hood, charts.colour_modes(watched)[0])
        for chart in charts.available_charts(charts.tables_of(watched)):
            charts.chart_figure(chart, charts.tables_of(watched))
    np.testing.assert_array_equal(watched.state.provider, alone.state.provider)


def test_a_redraw_round_steps_once_and_draws_every_chart_and_the_network(baseline):
    """What the dashboard redraws after *Step* (timed by benchmarks/bench_dashboard.py, not here)."""
    model = ChannelModel(with_overrides(baseline, {"population.size": 1500}), seed=5)
    hood = charts.neighbourhood_of(model, 100)
    images = bench_dashboard.redraw_round(model, hood, charts.colour_modes(model)[0])
    assert model.steps == 1
    assert len(images) == len(charts.available_charts(charts.tables_of(model))) + 1
    assert all(image.startswith(PNG) for image in images)
    assert len(set(images)) == len(images)


def test_chart_text_is_large_enough_for_a_projector():
    """Every font size of the live charts is at least MIN_FONT_SIZE points (18 pixels at the cards' dpi)."""
    assert charts.MIN_FONT_SIZE >= 12 and charts.DPI >= 100
    for key, value in charts.STYLE.items():
        if key.endswith(("size", "fontsize")):
            assert value >= charts.MIN_FONT_SIZE, f"{key} = {value}"
