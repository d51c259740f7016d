"""Deck charts: files written, content matches the tables, edge cases draw without error."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import imread

from sim.outputs import (
    plot_adoption,
    plot_all,
    plot_cac_by_channel,
    plot_funnel_by_channel,
    plot_market_share,
)
from sim.outputs._style import DPI, FIGSIZE

CHART_FILES = ["market_share.png", "funnel_by_channel.png", "cac_by_channel.png", "adoption.png",
               "retention_by_channel.png", "ltv_cac_by_channel.png", "payback_by_channel.png"]
PLOTTERS = [plot_market_share, plot_funnel_by_channel, plot_cac_by_channel, plot_adoption]


def assert_png(path):
    """A real, slide-sized, not blank PNG image."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[:2] == (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI))
    assert image[..., :3].std() > 0.01


@pytest.mark.slow  # draws and writes seven charts
def test_plot_all_writes_the_deck_charts(output_tables, tmp_path):
    paths = plot_all(output_tables, tmp_path / "plots", "Demo")
    assert [p.name for p in paths] == CHART_FILES
    for path in paths:
        assert_png(path)
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(CHART_FILES)


def test_plot_all_with_one_replication(make_tables, tmp_path):
    for path in plot_all(make_tables(replications=1, steps=3), tmp_path, "One"):
        assert_png(path)


def test_plot_all_with_empty_tables(output_tables, tmp_path):
    tables = {name: frame.iloc[0:0] for name, frame in output_tables.items()}
    tables["market"] = output_tables["market"]
    for path in plot_all(tables, tmp_path, ""):
        assert_png(path)


def test_titles_carry_the_prefix(output_tables):
    for plot in PLOTTERS:
        ax = plot(output_tables, title="Scenario A: chart")
        assert ax.get_title(loc="left") == "Scenario A: chart"


def test_draws_on_a_given_axes_without_writing(output_tables, tmp_path):
    fig = Figure(figsize=(16, 10))
    axes = fig.subplots(2, 2).ravel()
    for plot, ax in zip(PLOTTERS, axes, strict=True):
        assert plot(output_tables, ax=ax) is ax
        assert ax.lines or ax.patches
    assert list(tmp_path.iterdir()) == []
    fig.savefig(tmp_path / "panel.png")  # the caller's figure still renders
    assert (tmp_path / "panel.png").stat().st_size > 0


@pytest.mark.slow  # draws every chart
def test_no_pyplot_figures_are_left_open(output_tables, tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    plot_all(output_tables, tmp_path, "x")
    assert plt.get_fignums() == before


def test_market_share_lines_are_replication_means(output_tables):
    ax = plot_market_share(output_tables)
    inst = output_tables["institutions"]
    for label, ident in (("citic (bank)", "citic"), ("ant (platform)", "ant")):
        (line,) = [ln for ln in ax.lines if ln.get_label() == label]
        expected = inst[inst["institution"] == ident].groupby("step")["market_share"].mean()
        np.testing.assert_allclose(line.get_xdata(), expected.index)
        np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())
    assert [ln.get_linestyle() for ln in ax.lines] == ["-", "--"]


def whole_run_cac(channels):
    """Mean over replications of total spend / total new customers, per (institution, channel)."""
    during = channels[channels["step"] >= 1]
    out = {}
    for (ident, channel), rows in during.groupby(["institution", "channel"]):
        sums = rows.groupby("replication")[["spend", "new_customers"]].sum()
        ratio = (sums["spend"] / sums["new_customers"]).replace(np.inf, np.nan)
        if ratio.notna().any():
            out[(ident, channel)] = ratio.mean()
    return out


def test_cac_bars_match_hand_computed_values(output_tables):
    ax = plot_cac_by_channel(output_tables)
    expected = whole_run_cac(output_tables["channels"])
    bars = {c.get_label(): c for c in ax.containers if isinstance(c, BarContainer)}
    assert set(bars) == {"citic", "ant"}
    for ident, container in bars.items():
        heights = sorted(p.get_height() for p in container.patches)
        wanted = sorted(v for (i, _), v in expected.items() if i == ident)
        np.testing.assert_allclose(heights, wanted)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "live_stream" not in ticks and "employee" not in ticks  # no CAC: left out


def test_funnel_ticks_show_aware_to_active_conversion(output_tables):
    ax = plot_funnel_by_channel(output_tables)
    funnel = output_tables["funnel"]
    ticks = {t.get_text().split("\n")[0]: t.get_text() for t in ax.get_xticklabels()}
    assert list(ticks) == ["branch", "own_app", "live_stream", "referral", "platform:ant"]
    for channel, text in ticks.items():
        rows = funnel[funnel["channel"] == channel]
        aware = rows[rows["stage"] == "aware"]["reached"].sum()
        active = rows[rows["stage"] == "active"]["reached"].sum()
        assert f"{active / aware:.1%}" in text  # same replication count cancels in the ratio
    n_stages = funnel["stage"].nunique()
    assert len([p for p in ax.patches]) == n_stages * len(ticks)


def test_funnel_filters(output_tables):
    ax = plot_funnel_by_channel(output_tables, product="credit", institution="ant")
    channels = {t.get_text().split("\n")[0] for t in ax.get_xticklabels()}
    assert channels == {"own_app", "referral", "live_stream"}


def test_adoption_lines(output_tables):
    ax = plot_adoption(output_tables)
    market = output_tables["market"]
    (active,) = ax.lines
    np.testing.assert_allclose(active.get_ydata(), market.groupby("step")["active"].mean())
    (share,) = [a for a in ax.figure.axes if a is not ax][0].lines
    shares = []
    for _, rows in market[market["step"] >= 1].groupby("replication"):
        rows = rows.sort_values("step")
        shares.append(rows["referral_conversions"].cumsum() / rows["new_active"].cumsum())
    np.testing.assert_allclose(share.get_ydata(), np.mean(np.vstack(shares), axis=0))


def test_missing_column_is_reported(output_tables):
    tables = dict(output_tables, funnel=output_tables["funnel"].drop(columns="reached"))
    with pytest.raises(ValueError, match="reached"):
        plot_funnel_by_channel(tables)


def test_missing_table_is_reported(output_tables, tmp_path):
    tables = {k: v for k, v in output_tables.items() if k != "funnel"}
    with pytest.raises(KeyError, match="funnel"):
        plot_all(tables, tmp_path, "x")


def test_funnel_bars_average_over_all_replications(output_tables):
    funnel = output_tables["funnel"]
    sparse = funnel[funnel["replication"] != 2]  # nobody entered the funnel in replication 2
    ax = plot_funnel_by_channel(dict(output_tables, funnel=sparse))
    aware = [c for c in ax.containers if c.get_label() == "aware"][0]
    branch = sparse[(sparse["channel"] == "branch") & (sparse["stage"] == "aware")]["reached"]
    assert aware.patches[0].get_height() == pytest.approx(branch.sum() / 3)


def test_cac_without_any_spend_says_so(output_tables):
    channels = output_tables["channels"].assign(spend=0.0)
    ax = plot_cac_by_channel(dict(output_tables, channels=channels))
    assert any("No acquisition spend" in t.get_text() for t in ax.texts)
    assert not any("No acquisition spend" in t.get_text() for t in plot_cac_by_channel(output_tables).texts)


def test_legends_show_display_names_where_given(output_tables):
    names = {"citic": "Joint-stock bank"}
    share = plot_market_share(output_tables, names=names)
    assert {ln.get_label() for ln in share.lines} == {"Joint-stock bank (bank)", "ant (platform)"}
    cac = plot_cac_by_channel(output_tables, names=names)
    labels = {c.get_label() for c in cac.containers if isinstance(c, BarContainer)}
    assert "Joint-stock bank" in labels and "citic" not in labels


def test_plot_all_passes_display_names_to_the_legends(output_tables, tmp_path, monkeypatch):
    from sim.outputs import deck

    seen = {}

    def spy(tables, path, **kwargs):
        seen[path.name] = kwargs.get("names")

    monkeypatch.setattr(deck, "CHARTS", tuple((f, spy, t) for f, _, t in deck.CHARTS))
    plot_all(output_tables, tmp_path, names={"citic": "Joint-stock bank"})
    assert {f for f, n in seen.items() if n} == set(deck.NAMED_CHARTS)
