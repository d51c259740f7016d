"""The dashboard's live charts, drawn from the model's tables and state.

Each chart is a plain function that draws on a Matplotlib Axes from the run's
tables (``model.tables()``), so it can be tested and timed without a browser;
:func:`chart_figure` puts one on a small figure sized for a dashboard card.
The deck charts of :mod:`sim.outputs.plots` say more (intervals over
replications, conversion labels) but take about a quarter of a second each to
render; these are lean, so that a step and a redraw of every chart stay well
under a second at the baseline's size.  Colours and channel order are the
deck's (:func:`~sim.outputs.plots.institution_colors`,
:func:`~sim.experiments.schema.channel_order`), so the two read alike.

The network view draws a sampled neighbourhood: a breadth-first ball of a few
hundred customers around one customer, laid out once
(:func:`sample_neighbourhood`), coloured each step by the provider of a
product, so that referral spread can be watched hop by hop.
"""

from __future__ import annotations

import io
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import matplotlib as mpl
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullLocator, PercentFormatter

from sim.experiments.metrics import run_rows
from sim.experiments.schema import STAGES, channel_order
from sim.outputs.plots import institution_colors

Tables = Mapping[str, pd.DataFrame]

#: A dashboard card: 6.4 x 4.0 inches at 100 dpi is 640 x 400 pixels, about its width in a two-column grid.
FIGSIZE: tuple[float, float] = (6.4, 4.0)
DPI = 100
#: Smallest font size of any chart text, in points: at 100 dpi 13 pt is 18 pixels, readable from the back of a
#: meeting room on a projector (1,280-1,920 pixels across, two charts side by side).
MIN_FONT_SIZE = 13
STYLE: dict[str, object] = {
    "font.size": MIN_FONT_SIZE,
    "axes.titlesize": 15,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titley": 1.02,  # a fixed title position spares Matplotlib a layout pass per draw
    "axes.labelsize": MIN_FONT_SIZE,
    "xtick.labelsize": MIN_FONT_SIZE,
    "ytick.labelsize": MIN_FONT_SIZE,
    "legend.fontsize": MIN_FONT_SIZE,
    "lines.linewidth": 2.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
NO_PROVIDER = (0.82, 0.82, 0.82, 1.0)
# rc_context sets Matplotlib's global rcParams: sessions drawing at once take turns.
_STYLE_LOCK = threading.Lock()


# --------------------------------------------------------------------------- tables, once per step
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tables_of(model) -> dict[str, pd.DataFrame]:
    """``model.tables()``, built once per step however many charts read it."""
    cached = _TABLES.get(model)
    if cached is None or cached[0] != model.steps:
        cached = (model.steps, model.tables())
        _TABLES[model] = cached
    return cached[1]


# --------------------------------------------------------------------------- charts
@dataclass(frozen=True)
class Chart:
    """A live chart: a title, a drawing function and whether the tables can feed it."""

    name: str
    title: str
    draw: Callable[[Tables, Axes], None]
    available: Callable[[Tables], bool] = lambda tables: True


def draw_market_share(tables: Tables, ax: Axes) -> None:
    """Share of all customer relationships held by each institution, step by step."""
    inst = tables["institutions"]
    colors = institution_colors(tables)
    kinds = dict(zip(inst["institution"], inst["kind"], strict=True))
    # Plain arrays: Matplotlib converts units of pandas objects again at every draw, which is slow.
    share = inst.pivot(index="step", columns="institution", values="market_share")
    steps = share.index.to_numpy()
    for ident in colors:
        if ident in share.columns:
            ax.plot(steps, share[ident].to_numpy(), "--" if kinds.get(ident) == "platform" else "-",
                    color=colors[ident], lw=2.5, label=ident)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, max(1, steps.max()))
    ax.set_xlabel("step")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def draw_funnel(tables: Tables, ax: Axes) -> None:
    """Customers reaching each funnel stage so far, one line per entry channel (log scale)."""
    funnel = run_rows(tables["funnel"])
    if funnel.empty:
        _no_data(ax, "nobody has entered the funnel yet")
        return
    totals = funnel.groupby(["channel", "stage"])["reached"].sum().unstack("stage")
    totals = totals.reindex(index=channel_order(totals.index), columns=list(STAGES))
    cmap = mpl.colormaps["tab10"]
    for k, (channel, row) in enumerate(totals.iterrows()):
        values = row.to_numpy(dtype=float, copy=True)
        values[values <= 0] = np.nan
        ax.plot(np.arange(len(STAGES)), values, "o-", ms=5, lw=2.2, color=cmap(k % cmap.N),
                label=channel.replace("platform:", "plat:"))
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xticks(np.arange(len(STAGES)), STAGES, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_ylabel("customers (so far)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def draw_cac(tables: Tables, ax: Axes) -> None:
    """Spend per new customer so far, by channel and institution (channels that won nobody left out)."""
    channels = run_rows(tables["channels"])
    totals = channels.groupby(["channel", "institution"])[["spend", "new_customers"]].sum()
    totals = totals[totals["new_customers"] > 0]
    cac = (totals["spend"] / totals["new_customers"]).unstack("institution")
    cac = cac.loc[:, (cac > 0).any()] if not cac.empty else cac
    if cac.empty:
        _no_data(ax, "no paid channel has won a customer yet")
        return
    colors = institution_colors(tables)
    ids = [i for i in colors if i in cac.columns]
    cac = cac.reindex(index=channel_order(cac.index), columns=ids)
    x = np.arange(len(cac.index))
    width = 0.8 / len(ids)
    for j, ident in enumerate(ids):
        ax.bar(x + (j - (len(ids) - 1) / 2) * width, cac[ident].fillna(0.0).to_numpy(), width,
               color=colors[ident], label=ident)
    ax.set_xticks(x, [c.replace("platform:", "plat:") for c in cac.index], rotation=30, ha="right",
                  rotation_mode="anchor")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("yuan per new customer")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def insurer_capital(tables: Tables) -> pd.DataFrame | None:
    """Insurer capital by step as a (step x insurer) frame, or None if the run has no insurers.

    Read from an ``insurers`` table (columns ``step``, ``insurer`` or
    ``institution``, ``capital``) or from ``institutions`` rows of kind
    ``insurer``.
    """
    frame = tables.get("insurers")
    if frame is not None and not frame.empty and "capital" in frame.columns:
        ident = "insurer" if "insurer" in frame.columns else "institution"
        if ident in frame.columns:
            return frame.pivot_table(index="step", columns=ident, values="capital", aggfunc="sum")
    inst = tables.get("institutions")
    if inst is not None and "kind" in inst.columns:
        rows = inst[inst["kind"] == "insurer"]
        if not rows.empty:
            return rows.pivot_table(index="step", columns="institution", values="capital", aggfunc="sum")
    return None


def has_credit_data(tables: Tables) -> bool:
    """Whether the run reports lending (a ``market.default_rate`` with borrowers) or insurer capital.

    A model with the risk side switched off may still carry the columns, empty
    (no borrowers, no default rate); the chart is left off then.
    """
    market = tables["market"]
    lending = "default_rate" in market.columns and (
        market["default_rate"].notna().any() or ("borrowers" in market.columns and market["borrowers"].gt(0).any()))
    return lending or insurer_capital(tables) is not None


def draw_credit(tables: Tables, ax: Axes) -> None:
    """Default rate (left axis) and insurer capital (right axis), whichever the run has."""
    market = tables["market"]
    handles = []
    if "default_rate" in market.columns:
        handles += ax.plot(market["step"].to_numpy(), market["default_rate"].to_numpy(dtype=float), color="tab:red",
                           lw=2.5, label="default rate")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, max(1, market["step"].max()))
    capital = insurer_capital(tables)
    if capital is not None:
        right = ax.twinx() if handles else ax
        right.grid(False)
        greys = mpl.colormaps["Greys"](np.linspace(0.5, 0.9, max(1, capital.shape[1])))
        for k, ident in enumerate(capital.columns):
            handles += right.plot(capital.index.to_numpy(), capital[ident].to_numpy(dtype=float), "--",
                                  color=greys[k], lw=2.2, label=f"{ident} capital")
        right.set_ylim(bottom=0)
        right.yaxis.set_major_formatter(FuncFormatter(_short_number))
    ax.set_xlabel("step")
    # Two y axes leave no room at the side: the legend goes inside, where it covers the least.
    top = right if capital is not None else ax   # drawn last, so the legend is not under the other axis's lines
    top.legend(handles=handles, loc="best", frameon=True, framealpha=0.85)


def _short_number(value: float, _position=None) -> str:
    """Tick text of a large amount: 150k, 2.5M."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


#: The live charts, in display order.  A chart whose ``available`` is false for
#: a run (no default or insurer columns yet) is left off the page.
CHARTS: tuple[Chart, ...] = (
    Chart("market_share", "Market share by institution", draw_market_share),
    Chart("funnel", "Funnel by entry channel", draw_funnel),
    Chart("cac", "Acquisition cost by channel", draw_cac),
    Chart("credit", "Defaults and insurer capital", draw_credit, has_credit_data),
)


def available_charts(tables: Tables) -> list[Chart]:
    """The charts the run's tables can feed."""
    return [chart for chart in CHARTS if chart.available(tables)]


#: Where a chart's axes sit on its card (left, bottom, width, height): room on the left for the y label, below
#: for slanted x labels, on the right for the legend, at the large fonts of :data:`STYLE`.
CHART_AXES = (0.15, 0.22, 0.53, 0.66)


def new_figure() -> Figure:
    """A figure the size of a dashboard card, outside pyplot (nothing to close, no GUI)."""
    return Figure(figsize=FIGSIZE, dpi=DPI)


def chart_figure(chart: Chart, tables: Tables) -> Figure:
    """One chart on a new card-sized figure, titled with the latest step."""
    with _STYLE_LOCK, mpl.rc_context(STYLE):
        fig = new_figure()
        ax = fig.add_axes(CHART_AXES)
        chart.draw(tables, ax)
        step = int(tables["market"]["step"].max())
        ax.set_title(f"{chart.title}  (step {step})")
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (what the page shows)."""
    buffer = io.BytesIO()
    with _STYLE_LOCK, mpl.rc_context(STYLE):  # ticks and texts made while drawing take the style too
        fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})  # fast to encode, small enough
    return buffer.getvalue()


# --------------------------------------------------------------------------- network view
@dataclass(frozen=True)
class Neighbourhood:
    """A sampled piece of the social network with a fixed layout.

    Attributes
    ----------
    nodes : ndarray of int
        Customer indices, the root first, in breadth-first order.
    positions : ndarray, shape (m, 2)
        Layout coordinates of ``nodes``.
    edges : ndarray, shape (e, 2)
        Edges among ``nodes``, as positions in ``nodes``.
    """

    nodes: np.ndarray
    positions: np.ndarray
    edges: np.ndarray

    @property
    def segments(self) -> np.ndarray:
        return self.positions[self.edges]


def sample_neighbourhood(adjacency, size: int = 300, seed: int = 0) -> Neighbourhood:
    """A breadth-first ball of about ``size`` customers around a random one, laid out once.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_array
        The customer network (``model.network.adjacency``).
    size : int, default 300
        Number of customers kept (fewer if the root's component is smaller).
    seed : int, default 0
        Picks the root and seeds the spring layout.  It is not the model's
        generator, so drawing the view never changes a run.
    """
    rng = np.random.default_rng(seed)
    indptr, indices = adjacency.indptr, adjacency.indices
    n = adjacency.shape[0]
    degree = np.diff(indptr)
    candidates = np.flatnonzero(degree > 0)
    root = int(rng.choice(candidates)) if candidates.size else 0
    seen = np.zeros(n, dtype=bool)
    seen[root] = True
    order, frontier = [root], np.array([root])
    while frontier.size and len(order) < size:
        nxt = np.unique(np.concatenate([indices[indptr[v]:indptr[v + 1]] for v in frontier]))
        nxt = nxt[~seen[nxt]]
        if nxt.size > size - len(order):
            nxt = rng.choice(nxt, size=size - len(order), replace=False)
        seen[nxt] = True
        order.extend(int(v) for v in nxt)
        frontier = nxt
    nodes = np.asarray(order)
    sub = adjacency[nodes][:, nodes].tocoo()
    keep = sub.row < sub.col
    edges = np.column_stack([sub.row[keep], sub.col[keep]])
    graph = nx.Graph()
    graph.add_nodes_from(range(nodes.size))
    graph.add_edges_from(edges.tolist())
    layout = nx.spring_layout(graph, seed=seed, iterations=60)
    positions = np.array([layout[i] for i in range(nodes.size)])
    return Neighbourhood(nodes=nodes, positions=positions, edges=edges)


_NEIGHBOURHOODS: OrderedDict = OrderedDict()


def neighbourhood_of(model, size: int = 300, seed: int = 0) -> Neighbourhood:
    """The sampled neighbourhood of the model's network, computed once per network.

    Models rebuilt on the same network (a reset after moving a lever: levers
    do not touch the network) get the same customers in the same places, so
    runs can be compared by eye.
    """
    adjacency = model.network.adjacency
    key = (adjacency.shape[0], adjacency.nnz, hash(adjacency.indices.tobytes()), size, seed)
    if key not in _NEIGHBOURHOODS:
        _NEIGHBOURHOODS[key] = sample_neighbourhood(adjacency, size, seed)
        while len(_NEIGHBOURHOODS) > 8:
            _NEIGHBOURHOODS.popitem(last=False)
    _NEIGHBOURHOODS.move_to_end(key)
    return _NEIGHBOURHOODS[key]


@dataclass(frozen=True)
class Colouring:
    """How nodes are coloured: a colour per node, legend entries, and who is new this step."""

    colors: np.ndarray
    legend: dict[str, tuple]
    new: np.ndarray
    new_label: str


def colour_modes(model) -> list[str]:
    """The colourings the network view offers: provider of each product, and default state when credit is on."""
    modes = [f"provider: {product}" for product in model.catalog.products]
    credit = getattr(model.scenario, "credit", None)
    if getattr(model.state, "defaulted", None) is not None and getattr(credit, "enabled", False):
        modes.append("default state")
    return modes


def colouring(model, nodes: np.ndarray, mode: str) -> Colouring:
    """Colours of ``nodes`` in ``mode`` (see :func:`colour_modes`)."""
    state = model.state
    if mode == "default state":
        defaulted = state.defaulted[nodes]
        borrowing = (state.loan[nodes] >= 0).any(axis=1) & ~defaulted
        palette = {"in default": mpl.colors.to_rgba("tab:red"), "borrowing": mpl.colors.to_rgba("tab:blue"),
                   "no loan": NO_PROVIDER}
        colors = np.where(defaulted[:, None], palette["in default"],
                          np.where(borrowing[:, None], palette["borrowing"], palette["no loan"]))
        new = defaulted & (state.default_step[nodes] == model.steps)
        return Colouring(colors, palette, new, "defaulted this step")
    product = mode.removeprefix("provider: ")
    k = model.catalog.products.index(product)
    ids = model.catalog.institution_ids
    cmap = mpl.colormaps["tab10"]
    palette = np.array([cmap(i % cmap.N) for i in range(len(ids))] + [NO_PROVIDER])
    provider = state.provider[nodes, k].astype(np.int64)
    colors = palette[np.where(provider >= 0, provider, len(ids))]
    legend = {ids[i]: tuple(palette[i]) for i in np.unique(provider[provider >= 0])}
    legend["none"] = NO_PROVIDER
    new = (provider >= 0) & (state.since[nodes, k] == model.steps) & (model.steps > 0)
    return Colouring(colors, legend, new, "won this step")


def network_figure(model, hood: Neighbourhood, mode: str) -> Figure:
    """The neighbourhood coloured by ``mode``; customers won (or defaulting) this step are ringed in black."""
    paint = colouring(model, hood.nodes, mode)
    with _STYLE_LOCK, mpl.rc_context(STYLE):
        fig = new_figure()
        ax = fig.add_axes((0.01, 0.02, 0.62, 0.86))
        ax.add_collection(LineCollection(hood.segments, colors="0.75", linewidths=0.4, zorder=1))
        ax.scatter(hood.positions[:, 0], hood.positions[:, 1], s=16, c=paint.colors,
                   edgecolors=np.where(paint.new[:, None], (0, 0, 0, 1), (1, 1, 1, 0)), linewidths=1.0, zorder=2)
        ax.scatter(*hood.positions[0], s=60, marker="*", c="black", zorder=3)
        ax.set_axis_off()
        ax.autoscale_view()
        handles = [Line2D([], [], ls="", marker="o", color=c, label=label) for label, c in paint.legend.items()]
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="black", label=paint.new_label))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  title=mode.replace(": ", ":\n"))
        ax.set_title(f"{hood.nodes.size} customers around one (★)  (step {model.steps})")
    return fig
