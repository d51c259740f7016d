"""The dashboard page: a scenario's levers, Mesa's run controls and live charts.

:func:`Dashboard` is the page for one scenario as a Solara component;
:data:`Page` is the same page for the scenario named by the
``SIM_DASHBOARD_SCENARIO`` environment variable, which is what
:mod:`sim.dashboard.server` serves.  Each browser session gets its own model.

The run controls are Mesa's own (:func:`mesa.visualization.solara_viz.ModelController`:
reset, play/pause, step), driving a :class:`DashboardModel`.  Reset rebuilds
the model from the scenario file with the levers' values applied through
:func:`~sim.scenario.with_overrides`, so moving a lever changes nothing until
reset, exactly like a new run of the edited file.

Why not ``SolaraViz(...)`` itself: Mesa 3.3.1 lays out its components in tabs
built with ``v.TabsItems``, which Solara 1.64 (Vuetify 3) no longer has, so
the page fails to render; and its parameter panel lists inputs flat, without
their values, which does not read with twenty levers.  The page keeps
SolaraViz's shape (app bar, controls and parameters in the sidebar, cards in
the main area) and its controller.
"""

from __future__ import annotations

import html
import os
import warnings
from typing import Any

import solara

with warnings.catch_warnings():
    # Mesa's SolaraViz module trips Solara's hook linter when imported; not ours to fix, nor a user's concern.
    warnings.filterwarnings("ignore", message=r".*`use_state` found despite early return", category=UserWarning)
    from mesa.visualization.solara_viz import ModelController
    from mesa.visualization.utils import update_counter

from sim.dashboard import charts
from sim.dashboard.levers import Lever, apply_levers, lever_overrides, levers_for
from sim.dashboard.server import SCENARIO_ENV
from sim.model.model import ChannelModel
from sim.scenario import load_scenario
from sim.scenario.schema import Scenario

#: Customers in the network view.
NEIGHBOURHOOD_SIZE = 300
#: Default milliseconds between steps while playing (a step and a redraw take about 0.3 s).
PLAY_INTERVAL = 50
#: Latest-step numbers shown on the run card, when the market table has them: column, label, format.
RUN_NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("active", "active customers", "{:,}"),
    ("new_active", "new this step", "{:,}"),
    ("referral_conversions", "won by referral", "{:,}"),
    ("r_eff", "referral reproduction number", "{:.3f}"),
    ("new_defaults", "new defaults", "{:,}"),
    ("default_rate", "default rate", "{:.2%}"),
)


class DashboardModel(ChannelModel):
    """A :class:`~sim.model.model.ChannelModel` built from a scenario and lever values.

    This is the class Mesa's controller re-instantiates on reset, with the
    scenario, the seed and one keyword argument per lever (keys of
    :func:`~sim.dashboard.levers.levers_for`).  Like every ChannelModel it
    stops (``running`` False) at the scenario's horizon, so play pauses there.

    Parameters
    ----------
    scenario : Scenario
        The scenario as loaded from its file; levers are applied on top.
    seed : int or str, optional
        The run's seed (default: the scenario's); text from the page's input
        box is accepted.
    **kwargs
        Lever values by key, e.g. ``{"citic:referral_bonus": 100.0}``.

    Attributes
    ----------
    base_scenario : Scenario
        The scenario before the levers.
    overrides : dict
        The dotted paths the levers changed, and their values.
    seed_used : int
        The seed the run was built from.
    """

    def __init__(self, scenario: Scenario, seed: int | str | None = None, **kwargs: Any):
        seed = _parse_seed(seed) if isinstance(seed, str) else seed
        seed = scenario.seed if seed is None else seed
        super().__init__(apply_levers(scenario, kwargs), seed=seed)
        self.base_scenario = scenario
        self.overrides = lever_overrides(scenario, kwargs)
        self.seed_used = seed


def _parse_seed(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"the seed must be a whole number >= 0; got {text!r} instead")
    return int(text)


def initial_parameters(scenario: Scenario, seed: int | None = None) -> dict[str, Any]:
    """What reset builds a model from: the scenario, the seed and every lever at the file's value."""
    params: dict[str, Any] = {"scenario": scenario, "seed": str(scenario.seed if seed is None else seed)}
    params.update({lever.key: lever.start(scenario) for lever in levers_for(scenario)})
    return params


# --------------------------------------------------------------------------- sidebar
@solara.component
def LeverInput(lever: Lever, scenario: Scenario, parameters: solara.Reactive[dict]):
    """One lever: its label with the value (and the file's, once moved), and its input."""
    value, start, kind = parameters.value[lever.key], lever.start(scenario), lever.spec.kind
    moved = lever.is_moved(scenario, value)
    note = (f" (file: {start:.4g})" if kind in ("float", "int") else " (moved)") if moved else ""
    css = [f"lever-{lever.key.replace(':', '-')}"]

    def set_value(new):
        parameters.value = {**parameters.value, lever.key: new}

    # The scenario key the lever sets, as `python -m sim schema` and docs/scenario-reference.md name it.
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(lever.key_path), classes=["sim-lever-key"],
                style="font-family: monospace; font-size: 0.75rem; color: #666; margin-top: 4px")
    if kind == "bool":
        solara.Switch(label=f"{lever.spec.label}{note}", value=bool(value), on_value=set_value, classes=css)
    elif kind == "choice":
        solara.Select(f"{lever.spec.label}{note}", values=list(lever.spec.choices), value=value,
                      on_value=set_value, classes=css)
    else:
        low, high = lever.bounds(scenario)
        solara.Text(f"{lever.spec.label}: {value:.4g}{note}",
                    style={"font-size": "0.85rem", "font-weight": 600 if moved else 400})
        slider = solara.SliderInt if kind == "int" else solara.SliderFloat
        with solara.Div(classes=css):
            slider("", value=value, min=low, max=high, step=lever.spec.step, on_value=set_value, thumb_label=False)


@solara.component
def LeverPanel(scenario: Scenario, parameters: solara.Reactive[dict]):
    """Every lever of the scenario: the market-wide ones first, then by institution, insurer and partnership."""
    levers = solara.use_memo(lambda: levers_for(scenario), [scenario])
    moved = [lever for lever in levers if lever.is_moved(scenario, parameters.value[lever.key])]

    def back_to_file():
        parameters.value = {**parameters.value, **{lever.key: lever.start(scenario) for lever in levers}}

    solara.Text(f"{len(moved)} lever(s) moved from the file; press RESET to run with them."
                if moved else "All levers at the file's values.", style={"font-size": "0.85rem"})
    solara.Button("Back to the file's values", text=True, small=True, on_click=back_to_file)
    group = None
    for lever in levers:
        if lever.group != group:
            group = lever.group
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(lever.heading(scenario)),
                        style="font-weight: 700; margin-top: 12px; border-bottom: 1px solid #ccc")
        LeverInput(lever, scenario, parameters)


# --------------------------------------------------------------------------- cards
@solara.component
def ChartView(model: ChannelModel, chart: charts.Chart):
    """One live chart, redrawn when the model steps or is rebuilt."""
    update_counter.get()
    png = solara.use_memo(lambda: charts.figure_png(charts.chart_figure(chart, charts.tables_of(model))),
                          [model, model.steps])
    solara.Image(png, classes=[f"sim-chart-{chart.name}"])


@solara.component
def NetworkView(model: ChannelModel):
    """The sampled neighbourhood, coloured by the provider of a product (or default state)."""
    update_counter.get()
    modes = charts.colour_modes(model)
    mode, set_mode = solara.use_state(modes[0])
    if mode not in modes:
        mode = modes[0]
    hood = charts.neighbourhood_of(model, NEIGHBOURHOOD_SIZE)
    png = solara.use_memo(lambda: charts.figure_png(charts.network_figure(model, hood, mode)),
                          [model, model.steps, mode])
    solara.Select("colour by", values=modes, value=mode, on_value=set_mode, dense=True)
    solara.Image(png, classes=["sim-chart-network"])


@solara.component
def RunView(model: DashboardModel):
    """What is running: the scenario, the levers moved from the file, and the latest step's numbers."""
    update_counter.get()
    scenario = model.scenario
    last = charts.tables_of(model)["market"].iloc[-1]
    parts = [f"<b>{html.escape(scenario.name)}</b>: {html.escape(scenario.description)}",
             f"<p class='sim-step'>step <b>{model.steps}</b> of {scenario.time.steps} ({scenario.time.unit}s), "
             f"seed {model.seed_used}</p>"]
    if model.overrides:
        items = "".join(f"<li><code>{html.escape(path)}</code> = {value:.4g}</li>" if isinstance(value, float)
                        else f"<li><code>{html.escape(path)}</code> = {html.escape(str(value))}</li>"
                        for path, value in model.overrides.items())
        parts.append(f"Levers moved from the file:<ul>{items}</ul>")
    else:
        parts.append("<p>Levers at the file's values.</p>")
    numbers = [f"{label} <b>{_number(last[key], fmt)}</b>" for key, label, fmt in RUN_NUMBERS if key in last.index]
    parts.append("<p>" + "; ".join(numbers) + "</p>")
    solara.HTML(tag="div", unsafe_innerHTML="".join(parts), classes=["sim-run"])


def _number(value, fmt: str) -> str:
    if value is None or value != value:  # NaN: not defined yet (no promoters, no borrowers)
        return "–"
    return fmt.format(int(value) if "," in fmt else float(value))


def page_cards(model: ChannelModel) -> list:
    """The main area's chart cards: every chart the model's tables can feed, then the network."""
    available = charts.available_charts(charts.tables_of(model))
    return [*(lambda m, chart=chart: ChartView(m, chart) for chart in available), NetworkView]


# --------------------------------------------------------------------------- page
@solara.component
def Dashboard(scenario: Scenario, seed: int | None = None):
    """The dashboard page for ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario; its values are the levers' starting points.
    seed : int, optional
        Seed of the first run (default: the scenario's).
    """
    model = solara.use_reactive(solara.use_memo(lambda: DashboardModel(scenario, seed=seed), [scenario, seed]))
    parameters = solara.use_reactive(solara.use_memo(lambda: initial_parameters(scenario, seed), [scenario, seed]))
    play_interval = solara.use_reactive(PLAY_INTERVAL)
    # Mesa's controller reads these as reactive values, whatever its defaults say.
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    cards = solara.use_memo(lambda: page_cards(model.value), [scenario, seed])

    with solara.AppBar():
        solara.AppBarTitle(f"{scenario.name}: banks and platforms")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run", margin=0):
            ModelController(model, model_parameters=parameters, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
            solara.Text(f"pause between steps while playing: {play_interval.value} ms", style={"font-size": "0.85rem"})
            solara.SliderInt("", value=play_interval, min=0, max=1000, step=50, thumb_label=False)
            seed_text = parameters.value["seed"]
            solara.InputText("seed (applied at reset)", value=seed_text, continuous_update=True,
                             error=False if seed_text.strip().isdigit() or not seed_text.strip()
                             else "a whole number >= 0 (empty: the file's)",
                             on_value=lambda text: parameters.set({**parameters.value, "seed": text}))
        with solara.Card("Levers", margin=0):
            LeverPanel(scenario, parameters)
    with solara.Card(margin=0, elevation=1):
        RunView(model.value)
    with solara.GridFixed(columns=2, align_items="start"):
        for card in cards:
            with solara.Card(margin=0, elevation=1):
                card(model.value)


@solara.component
def Page():
    """The page the server shows: :func:`Dashboard` for the file in ``SIM_DASHBOARD_SCENARIO``."""
    path = os.environ.get(SCENARIO_ENV)
    scenario = solara.use_memo(lambda: load_scenario(path) if path else None, [path])
    if scenario is None:
        solara.Error(f"no scenario: set {SCENARIO_ENV} to a scenario file, or run `python -m sim dashboard FILE`")
    else:
        Dashboard(scenario)
