"""What an institution observes when it decides: its own accounts and funnel, shares, rivals' posted terms.

An :class:`Observation` is built from the run's :class:`~sim.model.metrics.Recorder`
history (the steps since the last decision), the relationship counts by
entry channel of the last step, and the terms every institution posted at
the start of the decision round (:func:`posted_terms`) — so that no
institution sees a rival's move of the same round: rivals' terms come with
a one-period lag.  Nothing here reads customer arrays.
"""

from __future__ import annotations

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
    via : numpy.ndarray
        (I, C, K) relationships by institution, entry channel and product, last step.
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
    via: np.ndarray
    posted: dict[str, dict]
    posted_before: dict[str, dict]
    premiums: float = 0.0
    claims: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def new_customers(self) -> float:
        return float(sum(self.new_by_channel.values()))


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


def observe(model, agent, period: int, posted: dict, posted_before: dict) -> Observation:
    """The :class:`Observation` of ``agent`` (a Bank, Platform or Insurer) over the last ``period`` steps."""
    rec, cat = model.recorder, model.catalog
    rows = rec.institution_rows[-period:]
    if agent.kind == "insurer":
        insurer_rows = rec.insurer_rows[-period:]
        j = agent.index
        return Observation(
            step=model.steps, period=period, profit=0.0, capital=agent.capital, share=0.0, share_by_product={},
            new_by_channel={}, spend_by_channel={}, via=model._via, posted=posted, posted_before=posted_before,
            premiums=float(sum(r["premiums"][j] for r in insurer_rows)),
            claims=float(sum(r["claims"][j] for r in insurer_rows)))
    i = agent.index
    new = np.sum([a[i] for a in rec.channel_new[-period:]], axis=0)
    spend = np.sum([a[i] for a in rec.channel_spend[-period:]], axis=0)
    return Observation(
        step=model.steps, period=period,
        profit=float(sum(r["profit"][i] for r in rows)),
        capital=agent.capital,
        share=float(np.mean([r["market_share"][i] for r in rows])),
        share_by_product={k: float(np.mean([r[f"share_{k}"][i] for r in rows])) for k in cat.products},
        new_by_channel=dict(zip(cat.channels, map(float, new), strict=True)),
        spend_by_channel=dict(zip(cat.channels, map(float, spend), strict=True)),
        via=model._via, posted=posted, posted_before=posted_before)
