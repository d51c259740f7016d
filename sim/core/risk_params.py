"""The credit side's parameters as flat arrays (mechanisms 4, 5, 8), derived from the scenario."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.layout import Layout, as_array
from sim.core.risk import regulation
from sim.core.risk.credit import pooled_data_quality, rate_capped_cutoff, score_noise
from sim.scenario.schema import P2PSpec, Scenario

#: Own-data quality of a bank's credit model when the scenario does not say.
DEFAULT_BANK_DATA_QUALITY = 0.3
_P2P_DEFAULT = P2PSpec()


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
    loan_risk_weight: np.ndarray         # (K,) Basel risk weight of the product's loans
    capital_ratio: np.ndarray            # (I,) initial capital / initial risk-weighted book
    payout: np.ndarray                   # (I,) bool: profit above capital_ratio × RWA is paid out
    capital_base: np.ndarray             # (I,) floor of that book: share of the population at the mean loan
    minimum_ratio: np.ndarray            # (I,) regulatory minimum capital ratio
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
    p2p_funding: np.ndarray              # (I,) investors' funds at step 0 per customer
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
    insurer_capital_ratio: np.ndarray    # (J,) initial capital / partner lenders' initial book
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



def macro_fields(scenario: Scenario) -> dict:
    """The macro path and level in force."""
    macro = scenario.macro
    return dict(macro_path=np.asarray(macro.path, dtype=np.float64) if macro.path is not None else None,
                macro_level=macro.level)



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
    arr = as_array
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
    arr = as_array
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
    def p2p_attr(name):
        return arr(getattr(x, name) if x is not None else 0.0 for x in p2p)
    threshold = credit.threshold
    return RiskCatalog(
        enabled=credit.enabled,
        is_credit=is_credit,
        loan_mean=arr(loan.size_mean for loan in loans),
        loan_sd=arr(loan.size_sd for loan in loans),
        loan_term=arr((loan.term for loan in loans), np.int64),
        loan_recovery=arr(loan.recovery for loan in loans),
        loan_renewal=arr(loan.renewal for loan in loans),
        offer_rate=offer_rate,
        offer_cutoff=np.asarray(offer_cutoff, dtype=np.float64).reshape(len(offer_rows)),
        is_lender=is_lender,
        loan_risk_weight=arr(loan.risk_weight for loan in loans),
        capital_ratio=arr(s.credit.capital_ratio for s in specs),
        capital_base=arr(s.credit.capital_base for s in specs),
        payout=arr((s.credit.payout for s in specs), bool),
        minimum_ratio=arr(s.credit.minimum_ratio for s in specs),
        capital_target=arr(s.credit.capital_target for s in specs),
        tightening=arr(s.credit.tightening for s in specs),
        data_quality=quality,
        noise=score_noise(credit.score_noise, quality),
        bureau=bureau,
        query_cost=regulation.query_cost(reg.data_link, reg.query_cost),
        lender_insurer=arr(
            (insurer_ids.index(s.credit.insurer) if s.credit.insurer in insurer_ids else -1 for s in specs), np.int64
        ),
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
        insurer_capital_ratio=arr(x.capital_ratio for x in insurers),
        insurer_floor=regulation.floor(arr(x.solvency_floor for x in insurers), reg.insurer_floor).reshape(
            len(insurers)
        ),
        blacklist=credit.blacklist,
        social_collateral=credit.social_collateral,
        peer_effect=credit.peer_effect,
        threshold=threshold is not None,
        phi_mean=threshold.mean if threshold is not None else 1.0,
        phi_sd=threshold.sd if threshold is not None else 0.0,
        seed_defaults=[(s.at, s.count) for s in credit.seed_defaults],
        **macro_fields(scenario),
    )
