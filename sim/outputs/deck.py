"""Every deck chart of a run, written in one call: the market charts, then the credit-side ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from matplotlib.axes import Axes

from sim.experiments.schema import require_tables
from sim.outputs._style import Tables
from sim.outputs.decision_plots import plot_decisions
from sim.outputs.plots import plot_adoption, plot_cac_by_channel, plot_funnel_by_channel, plot_market_share
from sim.outputs.risk_plots import plot_risk
from sim.outputs.value_plots import plot_ltv_cac_by_channel, plot_payback_by_channel, plot_retention_by_channel

#: File name, drawing function and default title of each chart :func:`plot_all` writes.
CHARTS: tuple[tuple[str, Callable[..., Axes], str], ...] = (
    ("market_share.png", plot_market_share, "Market share by institution"),
    ("funnel_by_channel.png", plot_funnel_by_channel, "Acquisition funnel by entry channel"),
    ("cac_by_channel.png", plot_cac_by_channel, "Acquisition cost per new customer, by channel"),
    ("adoption.png", plot_adoption, "Adoption and the share won by referral"),
    ("retention_by_channel.png", plot_retention_by_channel, "Customers still held, by age and acquisition channel"),
    ("ltv_cac_by_channel.png", plot_ltv_cac_by_channel, "Lifetime value per yuan of acquisition cost, by channel"),
    ("payback_by_channel.png", plot_payback_by_channel, "Time to pay back the acquisition cost, by channel"),
)


#: The charts of :data:`CHARTS` with a time axis (they take ``time_unit``).
TIME_CHARTS = ("market_share.png", "adoption.png", "retention_by_channel.png", "payback_by_channel.png")
#: The charts of :data:`CHARTS` whose legends name institutions (they take ``names``).
NAMED_CHARTS = ("market_share.png", "cac_by_channel.png")


def plot_all(tables: Tables, out_dir: Path, title_prefix: str = "", time_unit: str = "month",
             names: Mapping[str, str] | None = None) -> list[Path]:
    """Write every deck chart of a run as PNG into ``out_dir``.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The run's tables (``market``, ``institutions``, ``channels``, ``funnel``).
    out_dir : Path
        Destination directory, conventionally ``results/<scenario>/plots``;
        created if missing.
    title_prefix : str, default ""
        Put before each chart title, e.g. the scenario name, so slides
        taken out of context still say which scenario they show.
    time_unit : str, default "month"
        What a step stands for, for the time axes.
    names : mapping of str to str, optional
        Institution and insurer ids to display names (their ``name`` in the
        scenario, :func:`sim.outputs.formats.display_names`) for the legends;
        ids are shown where none is given.

    Returns
    -------
    list of Path
        The PNG files written, in :data:`CHARTS` order, then the credit-side
        charts of :func:`~sim.outputs.risk_plots.plot_risk` (none for a run
        without credit), then ``levers.png`` when some lever changed
        (:func:`~sim.outputs.decision_plots.plot_decisions`).
    """
    require_tables(tables, ["market", "institutions", "channels", "funnel"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, draw, default_title in CHARTS:
        title = f"{title_prefix}: {default_title}" if title_prefix else default_title
        path = out_dir / filename
        draw(tables, path, title=title, **({"time_unit": time_unit} if filename in TIME_CHARTS else {}),
             **({"names": names} if filename in NAMED_CHARTS else {}))
        written.append(path)
    written += plot_risk(tables, out_dir, title_prefix=title_prefix, time_unit=time_unit, names=names)
    title = "Levers over time (decisions and events)"
    if plot_decisions(tables, out_dir / "levers.png", title=f"{title_prefix}: {title}" if title_prefix else title,
                      time_unit=time_unit) is not None:
        written.append(out_dir / "levers.png")
    return written
