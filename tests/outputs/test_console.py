"""Console view of a summary: fits 100 columns and shows the summary's numbers."""

from __future__ import annotations

import io

from rich.console import Console

from sim.outputs import format_stat, print_summary, render_summary, summarize


def test_fits_in_100_columns_and_names_everything(output_tables):
    summary = summarize(output_tables)
    text = render_summary(summary, "referral_bonus")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert len(lines) <= 40  # one screen
    for expected in ("referral_bonus", "3 replications", "citic (bank)", "ant (platform)", "r_eff"):
        assert expected in text


def test_cells_show_mean_and_half_width(output_tables):
    summary = summarize(output_tables)
    customers = summary["institutions"]["citic"]["final_step"]["customers"]
    half = (customers["high"] - customers["low"]) / 2
    cell = f"{customers['mean']:,.0f} ± {half:,.0f}"
    assert cell in render_summary(summary, "s")


def test_one_replication_shows_no_intervals(make_tables):
    text = render_summary(summarize(make_tables(replications=1)), "s")
    assert "±" not in text.split("Institutions", 1)[1]
    assert "1 replication" in text


def test_format_stat():
    assert format_stat(None) == "—"
    assert format_stat({"mean": None, "low": None, "high": None, "n": 0}) == "—"
    assert format_stat({"mean": 12.0, "low": None, "high": None, "n": 1}) == "12"
    assert format_stat({"mean": 1200.0, "low": 1100.0, "high": 1300.0, "n": 3}) == "1,200 ± 100"


def test_print_summary_on_a_given_console(output_tables):
    buffer = io.StringIO()
    print_summary(summarize(output_tables), "s", console=Console(file=buffer, width=100))
    assert "Institutions" in buffer.getvalue()


def test_money_cells_share_unit_and_precision():
    from sim.outputs.console import _money

    assert format_stat({"mean": 185.0, "low": 107.86, "high": 262.14, "n": 5}, _money) == "185 ± 77"
    assert format_stat({"mean": 2.5e6, "low": 2.4e6, "high": 2.6e6, "n": 5}, _money) == "2.50M ± 0.10M"
    assert format_stat({"mean": 12.345, "low": 11.0, "high": 13.69, "n": 5}, _money) == "12.3 ± 1.3"
