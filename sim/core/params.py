"""The scenario compiled into index arrays the kernels read.

The scenario is a tree of named blocks; kernels want flat numpy arrays
indexed by institution, offer, product and channel.  :func:`compile_catalog`
builds them once; :func:`rederive` derives again only the sections (see
:data:`SECTIONS`) that a changed lever feeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from sim.core.codes import FIXED_CHANNELS, PAID_CHANNEL_TYPES
from sim.core.layout import Layout, as_array, layout
from sim.core.risk import regulation
from sim.core.risk_params import RiskCatalog, compile_risk, macro_fields
from sim.scenario.schema import LIFE_STAGES, Scenario

STEPS_PER_YEAR = {"day": 365.0, "week": 52.0, "month": 12.0, "quarter": 4.0, "year": 1.0}
UNLIMITED_WINDOW = np.iinfo(np.int32).max // 2


@dataclass
class Catalog:
    """Flat parameter arrays for one scenario (I institutions, K products, O offers, C channels)."""

    institution_ids: list[str]
    institution_kind: list[str]          # "bank" or "platform"
    institution_type: list[str]          # state, joint_stock, ..., scenario, social, ...
    products: list[str]
    product_kind: list[str]
    channels: list[str]
    platform_ids: list[str]
    # offers
    offer_institution: np.ndarray        # (O,) institution index
    offer_product: np.ndarray            # (O,) product index
    offer_of: np.ndarray                 # (I, K) offer index or -1
    price: np.ndarray                    # (O,) fee the customer pays per step (yuan)
    service_cost: np.ndarray             # (O,) unit cost per active customer and step
    brand: np.ndarray
    initial_share: np.ndarray
    initial_awareness: np.ndarray
    # institutions
    is_bank: np.ndarray
    trust: np.ndarray
    churn: np.ndarray                    # per-step churn hazard from annual retention
    targeting: np.ndarray
    referral_rate: np.ndarray            # r after the bonus uplift; 0 when disabled
    referral_window: np.ndarray          # W in steps (UNLIMITED_WINDOW for null)
    referral_bonus: np.ndarray
    referral_welcome: np.ndarray
    branch_coverage: np.ndarray          # (I, 4)
    branch_spend: np.ndarray             # (I,) yuan per 1,000 reachable per step (own spend, no budget)
    app_spend: np.ndarray
    app_followers: np.ndarray
    app_follower_communities: list[dict[str, float]]   # (I,) share following the app per named community
    live_spend: np.ndarray               # 0 when disabled
    live_enabled: np.ndarray             # (I,) bool
    live_uplift: np.ndarray
    budget: np.ndarray                   # (I,) marketing budget per step per 1,000 population (NaN: own spends)
    budget_split: np.ndarray             # (I, 3) budget shares of branch, own app, live stream
    partner_budget_share: np.ndarray     # (J,) share of its bank's budget per partnership
    employees: np.ndarray                # (I,) round(staff_share x population size)
    employee_rate: np.ndarray
    employee_offer: np.ndarray           # offer promoted by employees (-1 none)
    employee_cost: np.ndarray            # (I,) per employee per step
    employee_audience: np.ndarray        # (I,) self-media followers per employee beyond network neighbours
    platform_users: np.ndarray           # (P,) share of population
    platform_institution: np.ndarray     # (P,) institution index of each platform
    # partnerships (one row each)
    partner_bank: np.ndarray
    partner_platform: np.ndarray         # platform index (0..P-1)
    partner_active: np.ndarray
    partner_spend: np.ndarray            # (J,) yuan per 1,000 platform users per step (no budget)
    partner_fee: np.ndarray
    partner_take: np.ndarray
    partner_data: np.ndarray
    channel_targeting: np.ndarray        # (I, C) interest uplift from partners' shared data, by entry channel
    # funnel and choice, per product
    interest: np.ndarray                 # (K,)
    compare: np.ndarray
    apply: np.ndarray
    approve: np.ndarray
    repeat_decay: np.ndarray             # (K,) d: re-entry probability d^m after m earlier ad exposures
    reapply_after: np.ndarray            # (K,) cool-down in steps after a rejection
    need: np.ndarray                     # (K, life stages)
    response_pmax: np.ndarray            # (4,) p_max per PAID_CHANNEL_TYPES
    response_s0: np.ndarray              # (4,) s0 per PAID_CHANNEL_TYPES
    choice_price: float
    choice_loan_rate: float
    choice_convenience: float
    choice_trust: float
    choice_incentive: float
    choice_live: float
    outside_utility: float | None
    switching: float
    steps_per_year: float
    risk: RiskCatalog | None = None

    @property
    def n_institutions(self) -> int:
        return len(self.institution_ids)

    @property
    def n_offers(self) -> int:
        return self.offer_institution.size

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def platform_channel(self, platform: int) -> int:
        """Channel index of platform ``platform`` (0..P-1)."""
        return len(FIXED_CHANNELS) + platform

    def offers_of_product(self, product: int) -> np.ndarray:
        """The offers of product ``product``, ascending (read-only: one array per catalog)."""
        return self._offers_by_product[product]

    def offers_of_institution(self, institution: int) -> np.ndarray:
        """The offers of institution ``institution``, ascending (read-only: one array per catalog)."""
        return self._offers_by_institution[institution]

    @cached_property
    def _offers_by_product(self) -> list[np.ndarray]:
        return _read_only([np.flatnonzero(self.offer_product == k) for k in range(len(self.products))])

    @cached_property
    def _offers_by_institution(self) -> list[np.ndarray]:
        return _read_only([np.flatnonzero(self.offer_institution == i) for i in range(self.n_institutions)])


def _read_only(arrays: list[np.ndarray]) -> list[np.ndarray]:
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _annual_to_step(rate_kept: float, steps_per_year: float) -> float:
    """Per-step hazard that leaves ``rate_kept`` of customers after a year."""
    return 1.0 - rate_kept ** (1.0 / steps_per_year)


def label_fields(scenario: Scenario, lay: Layout) -> dict:
    """The catalog's names and index arrays (never changed by a lever)."""
    return dict(
        institution_ids=lay.ids,
        institution_kind=lay.kinds,
        institution_type=[s.type for s in lay.specs],
        products=lay.products,
        product_kind=[p.kind for p in scenario.products.values()],
        channels=[*FIXED_CHANNELS, *(f"platform:{p}" for p in lay.platform_ids)],
        platform_ids=lay.platform_ids,
        offer_institution=as_array((r[0] for r in lay.offer_rows), np.int32),
        offer_product=as_array((r[1] for r in lay.offer_rows), np.int32),
        offer_of=lay.offer_of,
        is_bank=as_array((k == "bank" for k in lay.kinds), bool),
        platform_institution=as_array((lay.ids.index(p) for p in lay.platform_ids), np.int32),
        steps_per_year=STEPS_PER_YEAR[scenario.time.unit],
    )


def institution_fields(scenario: Scenario, lay: Layout) -> dict:
    """Arrays fed by the banks' and platforms' levers: offers, channels, referral, employees (and platform users)."""
    specs, kinds, rows = lay.specs, lay.kinds, lay.offer_rows
    steps_per_year = STEPS_PER_YEAR[scenario.time.unit]
    I = len(lay.ids)

    def bank_attr(getter, default=0.0):
        return as_array(getter(s) if kinds[i] == "bank" else default for i, s in enumerate(specs))

    employee_offer = np.full(I, -1, dtype=np.int32)
    for i, spec in enumerate(specs):
        if kinds[i] == "bank" and spec.offers:
            product = spec.employee_media.product or next(iter(spec.offers))
            employee_offer[i] = lay.offer_of[i, lay.products.index(product)]
    size = scenario.population.size
    budget = as_array(s.marketing.budget if s.marketing.budget is not None else np.nan for s in specs)
    budget_split = np.array([[s.marketing.split.get("branch", 0.0) if kinds[i] == "bank" else 0.0,
                              s.marketing.split.get("own_app", 0.0),
                              s.marketing.split.get("live_stream", 0.0) if s.live_stream.enabled else 0.0]
                             for i, s in enumerate(specs)]).reshape(I, 3)
    by_id = dict(zip(lay.ids, specs, strict=True))
    partner_budget_share = as_array(by_id[p.bank].marketing.split.get(pid, 0.0)
                                    for pid, p in scenario.partnerships.items())
    referral_rate = as_array(
        min(1.0, s.referral.rate * (1.0 + s.referral.bonus_uplift * s.referral.bonus / 100.0))
        if s.referral.enabled
        else 0.0
        for s in specs
    )
    return dict(
        price=as_array(r[2].price for r in rows),
        service_cost=as_array(r[2].service_cost for r in rows),
        brand=as_array(r[2].brand for r in rows),
        initial_share=as_array(r[2].initial_share for r in rows),
        initial_awareness=as_array(r[2].initial_awareness for r in rows),
        trust=as_array(s.trust for s in specs),
        churn=as_array(_annual_to_step(s.retention, steps_per_year) for s in specs),
        targeting=as_array(s.targeting for s in specs),
        referral_rate=referral_rate,
        referral_window=as_array((s.referral.window or UNLIMITED_WINDOW for s in specs), np.int64),
        referral_bonus=as_array(s.referral.bonus if s.referral.enabled else 0.0 for s in specs),
        referral_welcome=as_array(s.referral.welcome if s.referral.enabled else 0.0 for s in specs),
        branch_coverage=np.array([s.branch.coverage if kinds[i] == "bank" else [0.0] * 4
                                  for i, s in enumerate(specs)]).reshape(I, 4),
        branch_spend=bank_attr(lambda s: s.branch.spend),
        app_spend=as_array(s.own_app.spend for s in specs),
        app_followers=as_array(s.own_app.followers for s in specs),
        app_follower_communities=[dict(s.own_app.follower_communities) for s in specs],
        live_spend=as_array(s.live_stream.spend if s.live_stream.enabled else 0.0 for s in specs),
        live_enabled=as_array((s.live_stream.enabled for s in specs), bool),
        live_uplift=as_array(s.live_stream.compare_uplift for s in specs),
        budget=budget,
        budget_split=budget_split,
        partner_budget_share=partner_budget_share,
        employees=np.rint(bank_attr(lambda s: s.employee_media.staff_share) * size).astype(np.int64),
        employee_rate=bank_attr(lambda s: s.employee_media.share_rate),
        employee_offer=employee_offer,
        employee_cost=bank_attr(lambda s: s.employee_media.cost_per_employee),
        employee_audience=bank_attr(lambda s: s.employee_media.audience).astype(np.int64),
        platform_users=as_array(p.users for p in scenario.platforms.values()),
    )


def partnership_fields(scenario: Scenario, lay: Layout) -> dict:
    """Arrays fed by the partnerships' levers and the regulation of take rates and data links (one row each)."""
    partnerships = list(scenario.partnerships.values())
    take_rates = regulation.cap([p.take_rate for p in partnerships], scenario.regulation.take_rate_cap)
    return dict(
        partner_bank=as_array((lay.ids.index(p.bank) for p in partnerships), np.int32),
        partner_platform=as_array((lay.platform_ids.index(p.platform) for p in partnerships), np.int32),
        partner_active=as_array((p.active for p in partnerships), bool),
        partner_spend=as_array(p.spend for p in partnerships),
        partner_fee=as_array(p.fee_per_customer for p in partnerships),
        partner_take=np.asarray(take_rates, dtype=np.float64).reshape(len(partnerships)),
        partner_data=as_array((p.data_sharing for p in partnerships), bool),
        channel_targeting=_channel_targeting(scenario, lay.ids, lay.platform_ids),
    )


def adoption_fields(scenario: Scenario, lay: Layout) -> dict:
    """Arrays fed by the market-wide funnel, choice, product and marketing-response settings."""
    funnels = [p.funnel or scenario.funnel for p in scenario.products.values()]
    response = scenario.marketing.response
    return dict(
        interest=as_array(f.interest for f in funnels),
        compare=as_array(f.compare for f in funnels),
        apply=as_array(f.apply for f in funnels),
        approve=as_array(f.approve for f in funnels),
        repeat_decay=as_array(f.repeat_decay for f in funnels),
        reapply_after=as_array((f.reapply_after for f in funnels), np.int64),
        need=np.array([[p.need.get(s, 1.0) for s in LIFE_STAGES] for p in scenario.products.values()]),
        response_pmax=as_array(getattr(response, c).p_max for c in PAID_CHANNEL_TYPES),
        response_s0=as_array(getattr(response, c).s0 for c in PAID_CHANNEL_TYPES),
        choice_price=scenario.choice.price,
        choice_loan_rate=scenario.choice.loan_rate,
        choice_convenience=scenario.choice.convenience,
        choice_trust=scenario.choice.trust,
        choice_incentive=scenario.choice.incentive,
        choice_live=scenario.choice.live_stream,
        outside_utility=scenario.choice.outside_utility,
        switching=scenario.choice.switching,
    )


def risk_fields(scenario: Scenario, lay: Layout) -> dict:
    """The credit side's parameters (data-quality pooling, cut-offs, insurers, contagion, macro)."""
    return {"risk": compile_risk(scenario, lay)}


#: The parts of a catalog, each derived from the scenario blocks named in its docstring.
SECTIONS = {
    "institutions": institution_fields,
    "partnerships": partnership_fields,
    "adoption": adoption_fields,
    "risk": risk_fields,
}


def compile_catalog(scenario: Scenario) -> Catalog:
    """Flatten a validated scenario into a :class:`Catalog`."""
    lay = layout(scenario)
    fields = label_fields(scenario, lay)
    for derive in SECTIONS.values():
        fields.update(derive(scenario, lay))
    return Catalog(**fields)


def rederive(catalog: Catalog, scenario: Scenario, sections) -> Catalog:
    """A new catalog with the arrays of ``sections`` derived again from ``scenario``; the rest is shared.

    Parameters
    ----------
    catalog : Catalog
        The catalog in force; it is not changed (the arrays of the sections
        left alone are shared with the result).
    scenario : Scenario
        The current levers as a scenario; must define the same institutions,
        products and offers as the one ``catalog`` was compiled from.
    sections : iterable of str
        Keys of :data:`SECTIONS`, plus ``"macro"`` for the macro path and
        level alone.
    """
    lay = layout(scenario)
    assert np.array_equal(lay.offer_of, catalog.offer_of), "the levers changed which offers exist"
    fields: dict = {}
    for name in sections:
        if name == "macro":
            continue
        fields.update(SECTIONS[name](scenario, lay))
    if "macro" in sections and "risk" not in sections:
        fields["risk"] = replace(catalog.risk, **macro_fields(scenario))
    return replace(catalog, **fields)


def _channel_targeting(scenario: Scenario, ids: list[str], platform_ids: list[str]) -> np.ndarray:
    """(I, C) relative rise of interest for customers a bank meets through a data-sharing partner (SF10, SF9).

    ``data_targeting`` of each active partnership with ``data_sharing``, times
    the share of platform data that reaches the bank under the data link in
    force (SF15: all of it directly, ``bureau_share`` through a bureau, none
    in direct-jump mode), at (bank, the platform's channel).
    """
    table = np.zeros((len(ids), len(FIXED_CHANNELS) + len(platform_ids)))
    link = regulation.data_link_weight(scenario.regulation.data_link, scenario.regulation.bureau_share)
    for p in scenario.partnerships.values():
        if p.active and p.data_sharing and p.data_targeting > 0:
            table[ids.index(p.bank), len(FIXED_CHANNELS) + platform_ids.index(p.platform)] += p.data_targeting * link
    return table


