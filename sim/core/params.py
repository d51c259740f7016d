"""The scenario compiled into index arrays the kernels read.

The scenario is a tree of named blocks; kernels want flat numpy arrays
indexed by institution, offer, product and channel.  :func:`compile_catalog`
builds them once; :func:`rederive` derives again only the sections (see
:data:`SECTIONS`) that a changed lever feeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.core.risk import regulation
from sim.core.risk.credit import pooled_data_quality, rate_capped_cutoff, score_noise
from sim.scenario.schema import LIFE_STAGES, P2PSpec, Scenario
from sim.core.codes import FIXED_CHANNELS

STEPS_PER_YEAR = {"day": 365.0, "week": 52.0, "month": 12.0, "quarter": 4.0, "year": 1.0}
UNLIMITED_WINDOW = np.iinfo(np.int32).max // 2
#: Own-data quality of a bank's credit model when the scenario does not say.
DEFAULT_BANK_DATA_QUALITY = 0.3


@dataclass
class RiskCatalog:
    """The credit side's parameters as flat arrays (mechanisms 4, 5, 8; J insurers).

    Arrays are per product (K), offer (O), institution (I) or insurer (J).
    Effective values already reflect the regulation in force (rate cap,
    data link, insurer capital rule).
    """

    enabled: bool
    is_credit: np.ndarray                # (K,) bool
    loan_mean: np.ndarray                # (K,)
    loan_sd: np.ndarray
    loan_term: np.ndarray                # (K,) int
    loan_recovery: np.ndarray
    loan_renewal: np.ndarray
    offer_rate: np.ndarray               # (O,) annual rate on new loans, after the cap
    offer_cutoff: np.ndarray             # (O,) cut-off before capital pressure, after the rate cap
    is_lender: np.ndarray                # (I,) offers a credit product
    capital_target: np.ndarray           # (I,)
    tightening: np.ndarray
    data_quality: np.ndarray             # (I,) effective (pooled) data quality q
    noise: np.ndarray                    # (I,) sigma = sigma_0 (1 - q)
    bureau: np.ndarray                   # (I,) bool: scores with platform data through a bureau
    query_cost: float
    lender_insurer: np.ndarray           # (I,) insurer index or -1
    community_lending: np.ndarray        # (I,) bool
    cost_of_funds: np.ndarray            # (I,) annual
    is_p2p: np.ndarray                   # (I,) bool: a p2p platform (investor funded)
    p2p_funding: np.ndarray              # (I,)
    p2p_inflow: np.ndarray
    p2p_guarantee: np.ndarray
    p2p_trigger: np.ndarray
    p2p_failure_weight: np.ndarray
    p2p_memory: np.ndarray
    p2p_withdrawal: np.ndarray
    p2p_strategic: np.ndarray
    insurer_ids: list[str]
    insurer_premium: np.ndarray          # (J,) annual rate
    insurer_coverage: np.ndarray
    insurer_cutoff: np.ndarray
    insurer_noise: np.ndarray
    insurer_capital: np.ndarray
    insurer_floor: np.ndarray            # after the capital rule
    blacklist: bool
    social_collateral: float
    peer_effect: float
    threshold: bool
    phi_mean: float
    phi_sd: float
    seed_defaults: list[tuple[int, int]]
    macro_path: np.ndarray | None
    macro_level: float

    @property
    def n_insurers(self) -> int:
        return len(self.insurer_ids)

    def macro(self, step: int) -> float:
        """Hazard multiplier of step ``step`` (1-based): ``level × path[step − 1]``."""
        if self.macro_path is None or step < 1:
            return self.macro_level
        return self.macro_level * float(self.macro_path[min(step, self.macro_path.size) - 1])

    @property
    def contagion(self) -> bool:
        """Whether defaults depend on neighbours (peer effect or threshold mode)."""
        return self.peer_effect > 0 or self.threshold


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
    app_follower_communities: list[dict[str, float]]   # (I,) share following the app per named community
    live_rate: np.ndarray                # 0 when disabled
    live_cost: np.ndarray
    live_uplift: np.ndarray
    employees: np.ndarray
    employee_rate: np.ndarray
    employee_offer: np.ndarray           # offer promoted by employees (-1 none)
    employee_cost: np.ndarray
    employee_audience: np.ndarray        # (I,) self-media followers per employee beyond network neighbours
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
    channel_targeting: np.ndarray        # (I, C) interest uplift from partners' shared data, by entry channel
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
        return np.flatnonzero(self.offer_product == product)


_P2P_DEFAULT = P2PSpec()


def _annual_to_step(rate_kept: float, steps_per_year: float) -> float:
    """Per-step hazard that leaves ``rate_kept`` of customers after a year."""
    return 1.0 - rate_kept ** (1.0 / steps_per_year)


@dataclass(frozen=True)
class Layout:
    """Who and what a scenario defines, in index order: fixed for a run (levers never add or remove any)."""

    ids: list[str]
    kinds: list[str]                     # "bank" or "platform" per institution
    specs: list                          # the institutions' specs, banks first
    products: list[str]
    platform_ids: list[str]
    offer_of: np.ndarray                 # (I, K) offer index or -1
    offer_rows: list[tuple]              # (institution, product, OfferSpec) per offer


def layout(scenario: Scenario) -> Layout:
    """Index the scenario's institutions, products and offers."""
    specs = [*scenario.banks.values(), *scenario.platforms.values()]
    ids = scenario.institution_ids
    kinds = ["bank"] * len(scenario.banks) + ["platform"] * len(scenario.platforms)
    products = list(scenario.products)
    offer_of = np.full((len(ids), len(products)), -1, dtype=np.int32)
    offer_rows = []
    for i, spec in enumerate(specs):
        for product, offer in spec.offers.items():
            k = products.index(product)
            offer_of[i, k] = len(offer_rows)
            offer_rows.append((i, k, offer))
    return Layout(ids, kinds, specs, products, list(scenario.platforms), offer_of, offer_rows)


def _arr(values, dtype=np.float64) -> np.ndarray:
    return np.asarray(list(values), dtype=dtype)


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
        offer_institution=_arr((r[0] for r in lay.offer_rows), np.int32),
        offer_product=_arr((r[1] for r in lay.offer_rows), np.int32),
        offer_of=lay.offer_of,
        is_bank=_arr((k == "bank" for k in lay.kinds), bool),
        platform_institution=_arr((lay.ids.index(p) for p in lay.platform_ids), np.int32),
        steps_per_year=STEPS_PER_YEAR[scenario.time.unit],
    )


def institution_fields(scenario: Scenario, lay: Layout) -> dict:
    """Arrays fed by the banks' and platforms' levers: offers, channels, referral, employees (and platform users)."""
    specs, kinds, rows = lay.specs, lay.kinds, lay.offer_rows
    steps_per_year = STEPS_PER_YEAR[scenario.time.unit]
    I = len(lay.ids)

    def bank_attr(getter, default=0.0):
        return _arr(getter(s) if kinds[i] == "bank" else default for i, s in enumerate(specs))

    employee_offer = np.full(I, -1, dtype=np.int32)
    for i, spec in enumerate(specs):
        if kinds[i] == "bank" and spec.offers:
            product = spec.employee_media.product or next(iter(spec.offers))
            employee_offer[i] = lay.offer_of[i, lay.products.index(product)]
    referral_rate = _arr(
        min(1.0, s.referral.rate * (1.0 + s.referral.bonus_uplift * s.referral.bonus / 100.0)) if s.referral.enabled else 0.0
        for s in specs)
    return dict(
        price=_arr(r[2].price for r in rows),
        revenue=_arr(r[2].revenue for r in rows),
        service_cost=_arr(r[2].service_cost for r in rows),
        brand=_arr(r[2].brand for r in rows),
        initial_share=_arr(r[2].initial_share for r in rows),
        trust=_arr(s.trust for s in specs),
        churn=_arr(_annual_to_step(s.retention, steps_per_year) for s in specs),
        targeting=_arr(s.targeting for s in specs),
        capital=_arr(s.capital for s in specs),
        referral_rate=referral_rate,
        referral_window=_arr((s.referral.window or UNLIMITED_WINDOW for s in specs), np.int64),
        referral_bonus=_arr(s.referral.bonus if s.referral.enabled else 0.0 for s in specs),
        referral_welcome=_arr(s.referral.welcome if s.referral.enabled else 0.0 for s in specs),
        branch_coverage=np.array([s.branch.coverage if kinds[i] == "bank" else [0.0] * 4
                                  for i, s in enumerate(specs)]).reshape(I, 4),
        branch_rate=bank_attr(lambda s: s.branch.exposure_rate),
        branch_cost=bank_attr(lambda s: s.branch.cost),
        app_rate=_arr(s.own_app.exposure_rate for s in specs),
        app_cost=_arr(s.own_app.cost for s in specs),
        app_followers=_arr(s.own_app.followers for s in specs),
        app_follower_communities=[dict(s.own_app.follower_communities) for s in specs],
        live_rate=_arr(s.live_stream.exposure_rate if s.live_stream.enabled else 0.0 for s in specs),
        live_cost=_arr(s.live_stream.cost if s.live_stream.enabled else 0.0 for s in specs),
        live_uplift=_arr(s.live_stream.compare_uplift for s in specs),
        employees=bank_attr(lambda s: s.employee_media.employees).astype(np.int64),
        employee_rate=bank_attr(lambda s: s.employee_media.share_rate),
        employee_offer=employee_offer,
        employee_cost=bank_attr(lambda s: s.employee_media.cost),
        employee_audience=bank_attr(lambda s: s.employee_media.audience).astype(np.int64),
        platform_users=_arr(p.users for p in scenario.platforms.values()),
    )


def partnership_fields(scenario: Scenario, lay: Layout) -> dict:
    """Arrays fed by the partnerships' levers and the regulation of take rates and data links (one row each)."""
    partnerships = list(scenario.partnerships.values())
    take_rates = regulation.cap([p.take_rate for p in partnerships], scenario.regulation.take_rate_cap)
    return dict(
        partner_bank=_arr((lay.ids.index(p.bank) for p in partnerships), np.int32),
        partner_platform=_arr((lay.platform_ids.index(p.platform) for p in partnerships), np.int32),
        partner_active=_arr((p.active for p in partnerships), bool),
        partner_rate=_arr(p.exposure_rate for p in partnerships),
        partner_cost=_arr(p.cost for p in partnerships),
        partner_fee=_arr(p.fee_per_customer for p in partnerships),
        partner_take=np.asarray(take_rates, dtype=np.float64).reshape(len(partnerships)),
        partner_data=_arr((p.data_sharing for p in partnerships), bool),
        channel_targeting=_channel_targeting(scenario, lay.ids, lay.platform_ids),
    )


def adoption_fields(scenario: Scenario, lay: Layout) -> dict:
    """Arrays fed by the market-wide funnel, choice and product settings."""
    funnels = [p.funnel or scenario.funnel for p in scenario.products.values()]
    return dict(
        interest=_arr(f.interest for f in funnels),
        compare=_arr(f.compare for f in funnels),
        apply=_arr(f.apply for f in funnels),
        approve=_arr(f.approve for f in funnels),
        need=np.array([[p.need.get(s, 1.0) for s in LIFE_STAGES] for p in scenario.products.values()]),
        choice_price=scenario.choice.price,
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
        fields["risk"] = replace(catalog.risk, **_macro_fields(scenario))
    return replace(catalog, **fields)


def _macro_fields(scenario: Scenario) -> dict:
    macro = scenario.macro
    return dict(macro_path=np.asarray(macro.path, dtype=np.float64) if macro.path is not None else None,
                macro_level=macro.level)


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


def _own_data_quality(spec, kind: str) -> float:
    if spec.credit.data_quality is not None:
        return spec.credit.data_quality
    return spec.data_quality if kind == "platform" else DEFAULT_BANK_DATA_QUALITY


def pooled_quality(scenario: Scenario, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(I,) effective data quality of each lender's credit model, and whether it scores through a bureau.

    Data sources of each lender: partner platforms sharing data and other
    alliance members (SF10); platform data passes the data link in force (SF15).
    """
    ids, kinds, specs, reg = lay.ids, lay.kinds, lay.specs, scenario.regulation
    I = len(ids)
    arr = _arr
    link = regulation.data_link_weight(reg.data_link, reg.bureau_share)
    own = arr(_own_data_quality(s, kinds[i]) for i, s in enumerate(specs))
    quality, bureau = np.zeros(I), np.zeros(I, dtype=bool)
    for i, spec in enumerate(specs):
        sources: dict[int, tuple[float, float]] = {}
        if kinds[i] == "bank":
            for p in scenario.partnerships.values():
                if p.bank == ids[i] and p.active and p.data_sharing:
                    j = ids.index(p.platform)
                    sources[j] = (own[j], link)
        if spec.data_alliance is not None:
            for j, other in enumerate(specs):
                if j != i and other.data_alliance == spec.data_alliance:
                    sources[j] = (own[j], link if kinds[j] == "platform" else 1.0)
        quality[i] = pooled_data_quality(own[i], [q for q, _ in sources.values()], [w for _, w in sources.values()])
        bureau[i] = reg.data_link == "bureau" and any(kinds[j] == "platform" for j in sources)

    return quality, bureau


def compile_risk(scenario: Scenario, lay: Layout) -> RiskCatalog:
    """The credit side of the catalog: loans, lenders' credit models, insurers, contagion, regulation."""
    offer_rows, kinds, specs = lay.offer_rows, lay.kinds, lay.specs
    ids = scenario.institution_ids
    products = list(scenario.products.values())
    credit, reg = scenario.credit, scenario.regulation
    I = len(ids)
    arr = _arr
    loans = [p.loan_terms for p in products]
    is_credit = arr((p.kind == "credit" for p in products), bool)

    quality, bureau = pooled_quality(scenario, lay)
    cost_of_funds = arr(s.cost_of_funds for s in specs)
    offer_base_rate = arr((r[2].loan_rate if r[2].loan_rate is not None else loans[r[1]].rate) for r in offer_rows)
    offer_rate = regulation.cap(offer_base_rate, reg.rate_cap).reshape(len(offer_rows))
    offer_inst = arr((r[0] for r in offer_rows), np.int64)
    offer_cutoff = rate_capped_cutoff(arr(specs[r[0]].credit.cutoff for r in offer_rows), offer_base_rate, offer_rate,
                                      cost_of_funds[offer_inst] if offer_rows else np.zeros(0))
    is_lender = np.zeros(I, dtype=bool)
    for i, k, _ in offer_rows:
        is_lender[i] |= bool(is_credit[k])

    insurer_ids = list(scenario.insurers)
    insurers = list(scenario.insurers.values())
    is_p2p = [kinds[i] == "platform" and s.type == "p2p" for i, s in enumerate(specs)]
    p2p = [(s.p2p or _P2P_DEFAULT) if is_p2p[i] else None for i, s in enumerate(specs)]
    p2p_attr = lambda name: arr(getattr(x, name) if x is not None else 0.0 for x in p2p)
    threshold = credit.threshold
    return RiskCatalog(
        enabled=credit.enabled,
        is_credit=is_credit,
        loan_mean=arr(l.size_mean for l in loans),
        loan_sd=arr(l.size_sd for l in loans),
        loan_term=arr((l.term for l in loans), np.int64),
        loan_recovery=arr(l.recovery for l in loans),
        loan_renewal=arr(l.renewal for l in loans),
        offer_rate=offer_rate,
        offer_cutoff=np.asarray(offer_cutoff, dtype=np.float64).reshape(len(offer_rows)),
        is_lender=is_lender,
        capital_target=arr(s.credit.capital_target for s in specs),
        tightening=arr(s.credit.tightening for s in specs),
        data_quality=quality,
        noise=score_noise(credit.score_noise, quality),
        bureau=bureau,
        query_cost=regulation.query_cost(reg.data_link, reg.query_cost),
        lender_insurer=arr((insurer_ids.index(s.credit.insurer) if s.credit.insurer in insurer_ids else -1 for s in specs), np.int64),
        community_lending=arr((s.credit.community_lending for s in specs), bool),
        cost_of_funds=cost_of_funds,
        is_p2p=arr(is_p2p, bool),
        p2p_funding=p2p_attr("funding"),
        p2p_inflow=p2p_attr("inflow"),
        p2p_guarantee=p2p_attr("guarantee"),
        p2p_trigger=p2p_attr("run_trigger"),
        p2p_failure_weight=p2p_attr("failure_weight"),
        p2p_memory=p2p_attr("memory"),
        p2p_withdrawal=p2p_attr("withdrawal"),
        p2p_strategic=p2p_attr("strategic_default"),
        insurer_ids=insurer_ids,
        insurer_premium=arr(x.premium_rate for x in insurers),
        insurer_coverage=arr(x.coverage for x in insurers),
        insurer_cutoff=arr(x.cutoff for x in insurers),
        insurer_noise=score_noise(credit.score_noise, arr(x.data_quality for x in insurers)),
        insurer_capital=arr(x.capital for x in insurers),
        insurer_floor=regulation.floor(arr(x.solvency_floor for x in insurers), reg.insurer_floor).reshape(len(insurers)),
        blacklist=credit.blacklist,
        social_collateral=credit.social_collateral,
        peer_effect=credit.peer_effect,
        threshold=threshold is not None,
        phi_mean=threshold.mean if threshold is not None else 1.0,
        phi_sd=threshold.sd if threshold is not None else 0.0,
        seed_defaults=[(s.at, s.count) for s in credit.seed_defaults],
        **_macro_fields(scenario),
    )
