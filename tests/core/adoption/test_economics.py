"""Tests of mechanism 7, economics (:mod:`sim.core.adoption.economics`), checked against the model's state.

Each identity is recomputed from the customer state after every step, not
from the ledger's own arrays: revenue = customers × price (the fee) per product;
CAC = spend / acquisitions; a paid channel's spend = spend per 1,000
reachable × reachable / 1,000; the revenue share is the take rate on the
revenue of customers acquired through the platform and is received by that
platform; profit = revenue + platform income − (acquisition spend + revenue
share + service cost); money paid to platforms equals platform income.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.economics import (
    MARGIN_PARTS,
    allocate_spend,
    relationship_margin,
)
from sim.core.codes import Channel
from sim.model import ChannelModel

MARKET = {
    "population": {"size": 3_000},
    "time": {"steps": 8},
    "products": {"payments": {"kind": "payments"}, "credit": {"kind": "credit"}},
    "funnel": {"interest": 0.8, "compare": 0.9, "apply": 0.9, "approve": 0.9},
    "choice": {"switching": 0.05},
    "banks": {
        "b": {
            "offers": {"payments": {"price": 2.0, "service_cost": 0.5, "initial_share": 0.1},
                       "credit": {"price": 12.0, "service_cost": 3.0}},
            "branch": {"coverage": [1, 1, 0.5, 0], "spend": 300.0},
            "own_app": {"spend": 51.2933, "followers": 0.05},
            "referral": {"rate": 0.05, "bonus": 20.0, "welcome": 10.0},
            "retention": 0.8,
        },
        "c": {
            "type": "joint_stock",
            "offers": {"payments": {"price": 2.5, "service_cost": 0.6}},
            "branch": {"coverage": [1, 0, 0, 0], "spend": 400.0},
        },
    },
    "platforms": {"shop": {"type": "scenario", "users": 0.4,
                           "offers": {"payments": {"price": 1.0, "service_cost": 0.2}}}},
    "partnerships": {
        "b_shop": {"bank": "b", "platform": "shop", "spend": 105.361,
                   "fee_per_customer": 7.0, "take_rate": 0.15},
        "c_shop": {"bank": "c", "platform": "shop", "spend": 51.2933,
                   "fee_per_customer": 3.0, "take_rate": 0.25},
    },
}


def _revenue_table(catalog):
    """(I, K) revenue and service cost per relationship, from the catalog's offers."""
    I, K = catalog.n_institutions, len(catalog.products)
    revenue, service = np.zeros((I, K)), np.zeros((I, K))
    for o in range(catalog.n_offers):
        revenue[catalog.offer_institution[o], catalog.offer_product[o]] = catalog.price[o]
        service[catalog.offer_institution[o], catalog.offer_product[o]] = catalog.service_cost[o]
    return revenue, service


def test_ledger_identities_hold_every_step(make_scenario):
    model = ChannelModel(make_scenario(MARKET), seed=1)
    cat, state = model.catalog, model.state
    revenue_each, service_each = _revenue_table(cat)
    b, c, shop = (cat.institution_ids.index(x) for x in ("b", "c", "shop"))
    platform_channel = cat.platform_channel(0)
    partners = {b: (0.15, 105.361, 7.0), c: (0.25, 51.2933, 3.0)}
    users = int(state.platform_user[:, 0].sum())
    domain_sizes = {}
    private_domains = state.private_domains

    def spy(institutions):
        domains = private_domains(institutions)
        domain_sizes.update({i: members.size for i, members in domains.items()})
        return domains

    state.private_domains = spy
    capital = model.capital.copy()
    saw_platform_customers = saw_referrals = False
    for _ in range(8):
        model.step()
        ledger = model.ledger
        customers = np.array([[np.count_nonzero(state.provider[:, k] == i) for k in range(2)] for i in range(3)])
        assert (ledger.customers == customers).all()
        assert ledger.revenue == pytest.approx((customers * revenue_each).sum(axis=1))
        assert ledger.service_cost == pytest.approx((customers * service_each).sum(axis=1))

        new = ledger.new_by_channel
        # Paid channels: spend per 1,000 reachable x reachable / 1,000 (branch reach from the state's coverage).
        assert ledger.spend_by_channel[b, Channel.BRANCH] == pytest.approx(300.0 * state.branch_reach[:, b].sum() / 1e3)
        assert ledger.spend_by_channel[c, Channel.BRANCH] == pytest.approx(400.0 * state.branch_reach[:, c].sum() / 1e3)
        assert ledger.spend_by_channel[b, Channel.OWN_APP] == pytest.approx(51.2933 * domain_sizes[b] / 1e3)
        assert domain_sizes[b] >= 0.05 * 3_000 * 0.8
        assert (
            ledger.spend_by_channel[b, Channel.LIVE_STREAM] == 0.0
            and ledger.spend_by_channel[b, Channel.EMPLOYEE] == 0.0
        )
        assert ledger.incentives[b] == pytest.approx(30.0 * new[b, Channel.REFERRAL])
        assert ledger.spend_by_channel[b, Channel.REFERRAL] == pytest.approx(30.0 * new[b, Channel.REFERRAL])
        saw_referrals |= new[b, Channel.REFERRAL] > 0

        income = 0.0
        for bank, (take, per_thousand, fee) in partners.items():
            traffic = per_thousand * users / 1e3 + fee * new[bank, platform_channel]
            assert ledger.spend_by_channel[bank, platform_channel] == pytest.approx(traffic)
            via = (state.provider == bank) & (state.channel == platform_channel)         # (n, K)
            share = take * float((via.sum(axis=0) * revenue_each[bank]).sum())
            saw_platform_customers |= via.any()
            assert ledger.revenue_share_paid[bank] == pytest.approx(share)
            income += traffic + share
        assert ledger.platform_income[shop] == pytest.approx(income)
        assert ledger.revenue_share_paid[shop] == 0.0
        # Money paid to platforms (traffic + revenue share) is what the platforms receive.
        paid = ledger.spend_by_channel[:, platform_channel].sum() + ledger.revenue_share_paid.sum()
        assert paid == pytest.approx(ledger.platform_income.sum())

        cost = ledger.spend_by_channel.sum(axis=1) + ledger.revenue_share_paid + ledger.service_cost
        assert ledger.cost == pytest.approx(cost)
        assert ledger.profit == pytest.approx(ledger.revenue + ledger.platform_income - cost)
        capital += ledger.profit
        assert model.capital == pytest.approx(capital)
    assert saw_platform_customers and saw_referrals, "the scenario did not exercise platform and referral accounts"


def test_tables_report_cac_market_share_and_acquisitions(make_scenario):
    model = ChannelModel(make_scenario(MARKET), seed=2)
    model.run(8)
    tables = model.tables()
    inst, channels, market = tables["institutions"], tables["channels"], tables["market"]
    with_new = inst[inst.new_customers > 0]
    assert len(with_new) > 0
    assert (with_new.cac == with_new.acquisition_spend / with_new.new_customers).all()
    assert inst[inst.new_customers == 0].cac.isna().all()
    ch = channels[channels.new_customers > 0]
    assert np.allclose(ch.cac, ch.spend / ch.new_customers)
    # Acquisitions by channel add up to the institution's acquisitions, and to the market's.
    by_channel = channels.groupby(["step", "institution"])["new_customers"].sum()
    by_inst = inst.set_index(["step", "institution"])["new_customers"]
    assert (by_inst.loc[by_channel.index] == by_channel).all()
    assert by_inst.groupby("step").sum().drop(0).sum() == market.new_active.sum()
    # Switchers are counted apart, in switched_in, by channel as by institution.
    assert inst["switched_in"].sum() == channels["switched_in"].sum() == market.switched.sum() > 0
    shares = inst.groupby("step")["market_share"].sum()
    assert np.allclose(shares, 1.0)
    assert (inst.profit == inst.revenue + inst.platform_income - inst.cost).all()


CREDIT_MARKET = {
    **MARKET,
    "time": {"steps": 6},
    "credit": {"enabled": True},
    "products": {"payments": {"kind": "payments"},
                 "credit": {"kind": "credit", "loan": {"size_mean": 10_000, "size_sd": 4_000, "rate": 0.15}}},
    "banks": {**MARKET["banks"],
              "b": {**MARKET["banks"]["b"],
                    "offers": {"payments": {"price": 2.0, "service_cost": 0.5, "initial_share": 0.1},
                               "credit": {"price": 1.0, "service_cost": 3.0, "initial_share": 0.05,
                                          "loan_rate": 0.12}},
                    "cost_of_funds": 0.03, "credit": {"cutoff": 0.05}}},
}


def test_credit_relationships_earn_interest_less_funding_and_the_platform_shares_it(make_scenario):
    """Interest, funding cost and the take rate on interest, recomputed loan by loan from model.loans()."""
    model = ChannelModel(make_scenario(CREDIT_MARKET), seed=4)
    cat, state = model.catalog, model.state
    b = cat.institution_ids.index("b")
    k = cat.products.index("credit")
    platform_channel = cat.platform_channel(0)
    saw_platform_loans = False
    for _ in range(6):
        model.step()
        ledger = model.ledger
        loans = model.loans()
        performing = loans[loans.status == "performing"]
        assert (performing.lender == "b").all() if performing.lender.dtype == object else (performing.lender == b).all()
        interest = (performing.amount * performing.rate / 12.0).to_numpy()
        assert ledger.interest[b] == pytest.approx(interest.sum(), rel=1e-12)
        assert ledger.funding_cost[b] == pytest.approx((performing.amount * 0.03 / 12.0).sum(), rel=1e-12)
        fees = np.count_nonzero(state.provider[:, 0] == b) * 2.0 + np.count_nonzero(state.provider[:, k] == b) * 1.0
        assert ledger.revenue[b] == pytest.approx(fees + interest.sum(), rel=1e-12)
        # The partner platform takes 15% of the fees and of the interest of what it brought.
        via = (state.provider == b) & (state.channel == platform_channel)
        via_interest = interest[np.isin(performing.customer.to_numpy(), np.flatnonzero(via[:, k]))].sum()
        saw_platform_loans |= via_interest > 0
        share = 0.15 * (via[:, 0].sum() * 2.0 + via[:, k].sum() * 1.0 + via_interest)
        assert ledger.revenue_share_paid[b] == pytest.approx(share, rel=1e-9)
    assert saw_platform_loans, "no loan came through the platform"


def test_relationship_margins_sum_to_the_ledger_by_institution_product_and_tier(make_scenario):
    model = ChannelModel(make_scenario(CREDIT_MARKET), seed=5)
    model.run(4)
    cat, ledger = model.catalog, model.ledger
    margins = relationship_margin(model.state, cat, model.credit.book)
    I = cat.n_institutions
    assert np.allclose(margins.per_institution(margins.margin, I), ledger.margin, rtol=1e-12)
    assert np.allclose(ledger.by_product["margin"].sum(axis=1), ledger.margin, rtol=1e-12)
    assert np.allclose(ledger.by_tier["margin"].sum(axis=1), ledger.margin, rtol=1e-12)
    parts = {p: getattr(margins, p) for p in MARGIN_PARTS}
    assert np.allclose(parts["margin"], parts["fee"] + parts["interest"] - parts["funding_cost"]
                       - parts["unit_cost"] - parts["revenue_share"])
    # One entry per relationship held, with its provider.
    assert margins.customer.size == np.count_nonzero(model.state.provider >= 0)
    assert (model.state.provider[margins.customer, margins.product] == margins.institution).all()
    tables = model.tables()
    products, inst = tables["products"], tables["institutions"]
    by_inst = products.groupby(["step", "institution"])[["margin", "profit"]].sum()
    joined = inst.set_index(["step", "institution"]).loc[by_inst.index]
    assert np.allclose(by_inst["margin"], joined["margin"])
    assert np.allclose(by_inst["profit"] + joined["platform_income"], joined["profit"])
    tiers = tables["tiers"].groupby(["step", "institution"])[["acquisition_spend", "new_customers"]].sum()
    joined = inst.set_index(["step", "institution"]).loc[tiers.index]
    assert np.allclose(tiers["acquisition_spend"], joined["acquisition_spend"])
    assert (tiers["new_customers"] == joined["new_customers"]).all()


def test_allocate_spend_follows_acquisitions_and_keeps_the_total():
    spend = np.array([[100.0, 30.0], [0.0, 50.0]])
    new = np.array([[[1, 3], [0, 0]], [[0, 0], [0, 0]]])
    fallback = np.array([[1.0, 1.0], [0.0, 0.0]])
    out = allocate_spend(spend, new, fallback)
    assert out[0].tolist() == [25.0 + 15.0, 75.0 + 15.0]
    assert out[1].tolist() == [25.0, 25.0]
    assert np.allclose(out.sum(axis=1), spend.sum(axis=1))
