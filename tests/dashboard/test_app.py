"""The dashboard page rendered by Solara in-process (no browser), its model, server arguments and command."""

from __future__ import annotations

import argparse
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import pytest
import solara

from sim.dashboard.app import Dashboard, DashboardModel, Page, initial_parameters
from sim.dashboard.levers import levers_for
from sim.errors import ScenarioError
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scenario():
    return with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"), {"population.size": 800})


def _run_card(rc) -> str:
    [card] = [w for w in rc.find(solara.widgets.HTML).widgets if w.attributes.get("class") == "sim-run"]
    return card.unsafe_innerHTML


def _images(rc) -> list[bytes]:
    return [w.value for w in rc.find(ipywidgets.Image).widgets]


@pytest.mark.slow  # renders the page and runs the model, about 5 s
def test_page_lever_reset_step(scenario):
    box, rc = solara.render(solara.AppLayout(children=[Dashboard(scenario)]), handle_error=False)
    try:
        assert "step <b>0</b> of 60" in _run_card(rc)
        # market share, funnel, acquisition cost, defaults (the baseline lends), network
        assert len(_images(rc)) == 5

        slider = rc.find(v.Html, class_="lever-citic-referral_bonus").find(v.Slider)
        slider.widget.v_model = 100.0
        rc.find(v.Html, children=["referral bonus (yuan): 100 (file: 0)"]).assert_single()
        assert "Levers at the file's values." in _run_card(rc), "a lever acts only at reset"

        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert "<code>banks.citic.referral.bonus</code> = 100" in _run_card(rc)
        before = _images(rc)

        rc.find(v.Btn, children=["Step"]).widget.click()
        assert "step <b>1</b> of 60" in _run_card(rc)
        after = _images(rc)
        assert all(a != b for a, b in zip(before, after, strict=True)), "every chart is redrawn after a step"

        rc.find(v.Btn, children=["Back to the file's values"]).widget.click()
        assert slider.widget.v_model == 0.0
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert "Levers at the file's values." in _run_card(rc)
        assert "step <b>0</b>" in _run_card(rc)
    finally:
        rc.close()


@pytest.mark.slow  # renders the page and runs the model, about 4 s
def test_seed_box_sets_the_seed_of_the_next_run(scenario):
    box, rc = solara.render(solara.AppLayout(children=[Dashboard(scenario)]), handle_error=False)
    try:
        rc.find(v.TextField, label="seed (applied at reset)").widget.v_model = "7"
        rc.find(v.Btn, children=["Reset"]).widget.click()
        assert "seed 7" in _run_card(rc)
    finally:
        rc.close()


def test_page_without_a_scenario_says_how_to_start_it(monkeypatch):
    monkeypatch.delenv("SIM_DASHBOARD_SCENARIO", raising=False)
    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert "python -m sim dashboard" in str(rc.find(v.Alert).widget.children)
    finally:
        rc.close()


def test_model_takes_the_levers_and_stops_at_the_horizon(scenario):
    short = with_overrides(scenario, {"time.steps": 2})
    params = initial_parameters(short)
    assert params["seed"] == str(short.seed)
    assert set(params) == {"scenario", "seed", *(lever.key for lever in levers_for(short))}
    model = DashboardModel(**{**params, "seed": "11", "icbc:referral_welcome": 20.0})
    assert model.seed_used == 11
    assert model.scenario.banks["icbc"].referral.welcome == 20.0
    assert model.base_scenario is short
    model.step()
    assert model.running
    model.step()
    assert not model.running


def test_bad_seed_is_a_clear_error(scenario):
    with pytest.raises(ValueError, match="whole number"):
        DashboardModel(scenario, seed="abc")


def test_dashboard_command_arguments_and_bad_file():
    from sim.cli import dashboard

    parser = argparse.ArgumentParser()
    dashboard.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dashboard", "scenarios/baseline.yaml"])
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    args = parser.parse_args(["dashboard", "x.yaml", "--port", "9000", "--host", "0.0.0.0"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)
    with pytest.raises(ScenarioError, match="file not found"):
        args.handler(parser.parse_args(["dashboard", str(ROOT / "no-such.yaml")]))


def test_python_m_sim_dashboard_reports_a_bad_file_and_exits_2(capsys):
    from sim.cli import main

    assert main(["dashboard", str(ROOT / "no-such.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_host_that_does_not_resolve_is_refused_before_the_server_starts(capsys):
    from sim.cli import main

    assert main(["dashboard", str(ROOT / "tests" / "data" / "tiny.yaml"), "--host", "999.1.1.1", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --host: '999.1.1.1' does not resolve") and "127.0.0.1" in err


def test_a_port_in_use_is_refused_before_the_server_starts(capsys):
    import socket

    from sim.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", str(ROOT / "tests" / "data" / "tiny.yaml"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --port: port {port} on 127.0.0.1 is already in use") and "0 to pick one" in err
