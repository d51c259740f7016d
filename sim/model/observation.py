"""What an institution observes when it decides: its own accounts and funnel, shares, rivals' posted terms.

An :class:`Observation` is built from the run's :class:`~sim.model.metrics.Recorder`
history (the steps since the last decision), the relationship counts by
entry channel of the last step, and the terms every institution posted at
the start of the decision round (:func:`posted_terms`) — so that no
institution sees a rival's move of the same round: rivals' terms come with
a one-period lag.  Nothing here reads customer arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Observation:
    """One institution's view at a decision.

    Attributes
    ----------
    step : int
        The step just recorded.
    period : int
        Steps the view covers (since the previous decision).
    profit : float
        Own profit summed over the period (adoption and credit).
    capital : float
        Own capital now.
    share : float
        Own market share (all products), mean over the period.
    share_by_product : dict of str to float
        Own share of each product's relationships, mean over the period.
    new_by_channel, spend_by_channel : dict of str to float
        Own acquisitions and acquisition spend by channel, summed over the period.
    view : PeriodView
        The round's view every institution's observation is read from (shared).
    via : numpy.ndarray
        (I, C, K) relationships by institution, entry channel and product, last step
        (counted over the customers on first use in a round, then shared; :attr:`PeriodView.via`).
    posted, posted_before : dict
        Every institution's posted terms (:func:`posted_terms`) now and at the previous decision.
    premiums, claims : float
        An insurer's premiums and claims summed over the period (0 for others).
    """

    step: int
    period: int
    profit: float
    capital: float
    share: float
    share_by_product: dict[str, float]
    new_by_channel: dict[str, float]
    spend_by_channel: dict[str, float]
    view: PeriodView = field(repr=False)
    posted: dict[str, dict]
    posted_before: dict[str, dict]
    premiums: float = 0.0
    claims: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def new_customers(self) -> float:
        return float(sum(self.new_by_channel.values()))

    @property
    def via(self) -> np.ndarray:
        """(I, C, K) relationships by institution, entry channel and product at the end of the last step."""
        return self.view.via


def posted_terms(scenario) -> dict[str, dict]:
    """Terms every institution publishes: prices per product, referral bonus and welcome, take rates, premium.

    Parameters
    ----------
    scenario : Scenario
        The scenario with the levers as they are now (``model.current_scenario()``).
    """
    terms: dict[str, dict] = {}
    for group in (scenario.banks, scenario.platforms):
        for iid, spec in group.items():
            terms[iid] = {"prices": {k: o.price for k, o in spec.offers.items()},
                          "bonus": spec.referral.bonus, "welcome": spec.referral.welcome}
    for pid, p in scenario.partnerships.items():
        terms[p.platform].setdefault("take_rates", {})[pid] = p.take_rate if p.active else None
    for jid, spec in scenario.insurers.items():
        terms[jid] = {"premium_rate": spec.premium_rate}
    return terms


@dataclass(frozen=True)
class PeriodView:
    """The recorded steps since the last decision, summed or averaged once per round for every institution.

    Arrays over institutions (I), products (K), channels (C) and insurers (J).
    What needs a pass over the customers or their relationships
    (:attr:`via`, :attr:`channel_margin`) is computed on first use in the
    round and then shared by every institution, so a round where no rule
    reads it pays nothing.
    """

    period: int
    profit: np.ndarray              # (I,) summed
    share: np.ndarray               # (I,) mean
    share_by_product: np.ndarray    # (I, K) mean
    new: np.ndarray                 # (I, C) summed
    spend: np.ndarray               # (I, C) summed
    premiums: np.ndarray            # (J,) summed
    claims: np.ndarray              # (J,) summed
    count_via: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)
    sum_margins: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def _lazy(self, name: str, compute: Callable[[], np.ndarray] | None) -> np.ndarray:
        if name not in self._cache:
            if compute is None:
                raise ValueError(f"this view was built without what {name} needs")
            self._cache[name] = compute()
        return self._cache[name]

    @property
    def via(self) -> np.ndarray:
        """(I, C, K) relationships by institution, entry channel and product at the end of the last step."""
        return self._lazy("via", self.count_via)

    @property
    def channel_margin(self) -> np.ndarray:
        """(I, C) last step's margin of the relationships by institution and the channel they came through."""
        return self._lazy("channel_margin", self.sum_margins)


def period_view(recorder, catalog, period: int, count_via: Callable[[], np.ndarray] | None = None,
                sum_margins: Callable[[], np.ndarray] | None = None) -> PeriodView:
    """The :class:`PeriodView` of the last ``period`` recorded steps.

    Parameters
    ----------
    recorder : Recorder
        The run's history.
    catalog : Catalog
        The catalog in force.
    period : int
        Steps the view covers.
    count_via : callable, optional
        Counts the relationships by institution, entry channel and product
        now (called at most once, on first use of :attr:`PeriodView.via`).
    sum_margins : callable, optional
        Sums the last step's relationship margins by institution and entry
        channel (called at most once, on first use of :attr:`PeriodView.channel_margin`).
    """
    recent = recorder.recent(period)
    insurer_rows = recorder.insurer_rows[-period:]
    J = len(catalog.risk.insurer_ids) if catalog.risk is not None else 0
    return PeriodView(
        period=period,
        profit=np.sum(recent["profit"], axis=0),
        share=np.mean(recent["market_share"], axis=0),
        share_by_product=np.mean(recent["share_by_product"], axis=0),
        new=np.sum(recorder.channel_new[-period:], axis=0),
        spend=np.sum(recorder.channel_spend[-period:], axis=0),
        premiums=np.sum([r["premiums"] for r in insurer_rows], axis=0) if insurer_rows else np.zeros(J),
        claims=np.sum([r["claims"] for r in insurer_rows], axis=0) if insurer_rows else np.zeros(J),
        count_via=count_via, sum_margins=sum_margins,
    )


def observe(model, agent, view: PeriodView, posted: dict, posted_before: dict) -> Observation:
    """The :class:`Observation` of ``agent`` (a Bank, Platform or Insurer) from the round's :class:`PeriodView`."""
    cat = model.catalog
    if agent.kind == "insurer":
        j = agent.index
        return Observation(
            step=model.steps, period=view.period, profit=0.0, capital=agent.capital, share=0.0,
            share_by_product={}, new_by_channel={}, spend_by_channel={}, view=view, posted=posted,
            posted_before=posted_before, premiums=float(view.premiums[j]), claims=float(view.claims[j]))
    i = agent.index
    return Observation(
        step=model.steps, period=view.period,
        profit=float(view.profit[i]),
        capital=agent.capital,
        share=float(view.share[i]),
        share_by_product=dict(zip(cat.products, view.share_by_product[i].tolist(), strict=True)),
        new_by_channel=dict(zip(cat.channels, view.new[i].tolist(), strict=True)),
        spend_by_channel=dict(zip(cat.channels, view.spend[i].tolist(), strict=True)),
        view=view, posted=posted, posted_before=posted_before)
