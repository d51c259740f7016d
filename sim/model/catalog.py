"""The scenario compiled into index arrays the kernels read.

The scenario is a tree of named blocks; kernels want flat numpy arrays
indexed by institution, offer, product and channel.  :func:`compile_catalog`
builds them once, and again whenever a timeline event changes a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import LIFE_STAGES, Scenario
from sim.model.state import FIXED_CHANNELS

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
    price: np.ndarray
    revenue: np.ndarray
    service_cost: np.ndarray
    brand: np.ndarray
    initial_share: np.ndarray
    # institutions
    is_bank: np.ndarray
    trust: np.ndarray
    churn: np.ndarray                    # per-step churn hazard from annual retention
    targeting: np.ndarray
    capital: np.ndarray
    referral_rate: np.ndarray            # r after the bonus uplift; 0 when disabled
    referral_window: np.ndarray          # W in steps (UNLIMITED_WINDOW for null)
    referral_bonus: np.ndarray
    referral_welcome: np.ndarray
    branch_coverage: np.ndarray          # (I, 4)
    branch_rate: np.ndarray
    branch_cost: np.ndarray
    app_rate: np.ndarray
    app_cost: np.ndarray
    app_followers: np.ndarray
    live_rate: np.ndarray                # 0 when disabled
    live_cost: np.ndarray
    live_uplift: np.ndarray
    employees: np.ndarray
    employee_rate: np.ndarray
    employee_offer: np.ndarray           # offer promoted by employees (-1 none)
    employee_cost: np.ndarray
    platform_users: np.ndarray           # (P,) share of population
    platform_institution: np.ndarray     # (P,) institution index of each platform
    # partnerships (one row each)
    partner_bank: np.ndarray
    partner_platform: np.ndarray         # platform index (0..P-1)
    partner_active: np.ndarray
    partner_rate: np.ndarray
    partner_cost: np.ndarray
    partner_fee: np.ndarray
    partner_take: np.ndarray
    partner_data: np.ndarray
    # funnel and choice, per product
    interest: np.ndarray                 # (K,)
    compare: np.ndarray
    apply: np.ndarray
    approve: np.ndarray
    need: np.ndarray                     # (K, life stages)
    choice_price: float
    choice_convenience: float
    choice_trust: float
    choice_incentive: float
    choice_live: float
    outside_utility: float | None
    switching: float
    steps_per_year: float

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
        return np.flatnonzero(self.offer_product == product)


def _annual_to_step(rate_kept: float, steps_per_year: float) -> float:
    """Per-step hazard that leaves ``rate_kept`` of customers after a year."""
    return 1.0 - rate_kept ** (1.0 / steps_per_year)


def compile_catalog(scenario: Scenario) -> Catalog:
    """Flatten a validated scenario into a :class:`Catalog`."""
    specs = [*scenario.banks.values(), *scenario.platforms.values()]
    ids = scenario.institution_ids
    kinds = ["bank"] * len(scenario.banks) + ["platform"] * len(scenario.platforms)
    products = list(scenario.products)
    platform_ids = list(scenario.platforms)
    steps_per_year = STEPS_PER_YEAR[scenario.time.unit]
    I, K = len(ids), len(products)

    offer_of = np.full((I, K), -1, dtype=np.int32)
    offer_rows = []
    for i, spec in enumerate(specs):
        for product, offer in spec.offers.items():
            k = products.index(product)
            offer_of[i, k] = len(offer_rows)
            offer_rows.append((i, k, offer))
    arr = lambda values, dtype=np.float64: np.asarray(list(values), dtype=dtype)

    def bank_attr(getter, default=0.0):
        return arr(getter(s) if kinds[i] == "bank" else default for i, s in enumerate(specs))

    employee_offer = np.full(I, -1, dtype=np.int32)
    for i, spec in enumerate(specs):
        if kinds[i] == "bank" and spec.offers:
            product = spec.employee_media.product or next(iter(spec.offers))
            employee_offer[i] = offer_of[i, products.index(product)]

    partnerships = list(scenario.partnerships.values())
    funnels = [p.funnel or scenario.funnel for p in scenario.products.values()]
    referral_rate = arr(
        min(1.0, s.referral.rate * (1.0 + s.referral.bonus_uplift * s.referral.bonus / 100.0)) if s.referral.enabled else 0.0
        for s in specs)
    return Catalog(
        institution_ids=ids,
        institution_kind=kinds,
        institution_type=[s.type for s in specs],
        products=products,
        product_kind=[p.kind for p in scenario.products.values()],
        channels=[*FIXED_CHANNELS, *(f"platform:{p}" for p in platform_ids)],
        platform_ids=platform_ids,
        offer_institution=arr((r[0] for r in offer_rows), np.int32),
        offer_product=arr((r[1] for r in offer_rows), np.int32),
        offer_of=offer_of,
        price=arr(r[2].price for r in offer_rows),
        revenue=arr(r[2].revenue for r in offer_rows),
        service_cost=arr(r[2].service_cost for r in offer_rows),
        brand=arr(r[2].brand for r in offer_rows),
        initial_share=arr(r[2].initial_share for r in offer_rows),
        is_bank=arr((k == "bank" for k in kinds), bool),
        trust=arr(s.trust for s in specs),
        churn=arr(_annual_to_step(s.retention, steps_per_year) for s in specs),
        targeting=arr(s.targeting for s in specs),
        capital=arr(s.capital for s in specs),
        referral_rate=referral_rate,
        referral_window=arr((s.referral.window or UNLIMITED_WINDOW for s in specs), np.int64),
        referral_bonus=arr(s.referral.bonus if s.referral.enabled else 0.0 for s in specs),
        referral_welcome=arr(s.referral.welcome if s.referral.enabled else 0.0 for s in specs),
        branch_coverage=np.array([s.branch.coverage if kinds[i] == "bank" else [0.0] * 4 for i, s in enumerate(specs)]).reshape(I, 4),
        branch_rate=bank_attr(lambda s: s.branch.exposure_rate),
        branch_cost=bank_attr(lambda s: s.branch.cost),
        app_rate=arr(s.own_app.exposure_rate for s in specs),
        app_cost=arr(s.own_app.cost for s in specs),
        app_followers=arr(s.own_app.followers for s in specs),
        live_rate=arr(s.live_stream.exposure_rate if s.live_stream.enabled else 0.0 for s in specs),
        live_cost=arr(s.live_stream.cost if s.live_stream.enabled else 0.0 for s in specs),
        live_uplift=arr(s.live_stream.compare_uplift for s in specs),
        employees=bank_attr(lambda s: s.employee_media.employees).astype(np.int64),
        employee_rate=bank_attr(lambda s: s.employee_media.share_rate),
        employee_offer=employee_offer,
        employee_cost=bank_attr(lambda s: s.employee_media.cost),
        platform_users=arr(p.users for p in scenario.platforms.values()),
        platform_institution=arr((ids.index(p) for p in platform_ids), np.int32),
        partner_bank=arr((ids.index(p.bank) for p in partnerships), np.int32),
        partner_platform=arr((platform_ids.index(p.platform) for p in partnerships), np.int32),
        partner_active=arr((p.active for p in partnerships), bool),
        partner_rate=arr(p.exposure_rate for p in partnerships),
        partner_cost=arr(p.cost for p in partnerships),
        partner_fee=arr(p.fee_per_customer for p in partnerships),
        partner_take=arr(p.take_rate for p in partnerships),
        partner_data=arr((p.data_sharing for p in partnerships), bool),
        interest=arr(f.interest for f in funnels),
        compare=arr(f.compare for f in funnels),
        apply=arr(f.apply for f in funnels),
        approve=arr(f.approve for f in funnels),
        need=np.array([[p.need.get(s, 1.0) for s in LIFE_STAGES] for p in scenario.products.values()]),
        choice_price=scenario.choice.price,
        choice_convenience=scenario.choice.convenience,
        choice_trust=scenario.choice.trust,
        choice_incentive=scenario.choice.incentive,
        choice_live=scenario.choice.live_stream,
        outside_utility=scenario.choice.outside_utility,
        switching=scenario.choice.switching,
        steps_per_year=steps_per_year,
    )
