"""The adoption-side levers added for the strategy library, each tested alone.

- ``own_app.follower_communities``: app followers drawn inside named communities (SF18);
- ``employee_media.audience``: employees' self-media followers beyond their neighbours (SF3);
- ``partnerships.<id>.data_targeting``: a data-sharing partner's data raises interest (SF10, SF9);
- the ``touches`` column of the channels table and ``customers_tier<k>`` of the institutions table.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.codes import Channel
from sim.core.params import compile_catalog
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.scenario.loader import with_overrides

BLOCKS = {"kind": "stochastic_block", "degree_within": 6, "degree_between": 1,
          "blocks": {"payroll": {"share": 0.2}, "public": {"share": 0.8}}}


# ----------------------------------------------------------------------------- follower communities
def test_followers_are_drawn_inside_the_named_communities(make_scenario):
    scenario = make_scenario({"population": {"size": 3000}, "network": BLOCKS,
                              "banks": {"b": {"own_app": {"followers": 0.05,
                                                          "follower_communities": {"payroll": 0.6}}}}})
    model = ChannelModel(scenario, seed=4)
    payroll = model.population.community == model.network.community_names.index("payroll")
    follows = model.state.follower[:, 0]
    # Binomial shares: 600 payroll members at 0.6, 2400 others at 0.05 (5 sd bands).
    assert abs(follows[payroll].mean() - 0.6) < 5 * np.sqrt(0.6 * 0.4 / payroll.sum())
    assert abs(follows[~payroll].mean() - 0.05) < 5 * np.sqrt(0.05 * 0.95 / (~payroll).sum())


def test_follower_communities_must_name_blocks_of_the_network(make_scenario):
    with pytest.raises(ScenarioError, match=r"banks\.b\.own_app\.follower_communities\.alumni.*payroll, public"):
        make_scenario({"network": BLOCKS, "banks": {"b": {"own_app": {"follower_communities": {"alumni": 0.5}}}}})
    with pytest.raises(ScenarioError, match="only stochastic_block and edge_list"):
        make_scenario({"banks": {"b": {"own_app": {"follower_communities": {"payroll": 0.5}}}}})


def test_without_follower_communities_every_customer_follows_at_the_same_rate(make_scenario):
    """The default (no named communities) is the plain ``followers`` share, drawn as before."""
    model = ChannelModel(make_scenario({"network": BLOCKS, "banks": {"b": {"own_app": {"followers": 0.1}}}}), seed=2)
    assert np.array_equal(model.state.follower[:, 0], model._follower_draw[:, 0] < 0.1)


# ----------------------------------------------------------------------------- employee audience
MEDIA = {"population": {"size": 2000}, "network": {"kind": "watts_strogatz", "mean_degree": 6},
         "banks": {"b": {"employee_media": {"staff_share": 0.005, "audience": 150, "share_rate": 0.2}}}}


def test_each_employee_reaches_its_neighbours_and_its_audience(make_scenario):
    model = ChannelModel(make_scenario(MEDIA), seed=5)
    employees = model._employees[0]
    reach = model._media_network[0]
    sizes = np.diff(reach.indptr)[employees]
    # 150 draws with replacement among 1999 others, merged with 6 neighbours: about 150 distinct.
    assert np.all((sizes >= 140) & (sizes <= 156)), sizes
    others = np.setdiff1d(np.arange(2000), employees)
    assert np.array_equal(np.diff(reach.indptr)[others], model.network.degree[others]), "non-employees gained edges"
    assert not any(e in reach.indices[reach.indptr[e] : reach.indptr[e + 1]] for e in employees), (
        "an employee follows itself"
    )


def test_employee_touches_grow_with_the_audience(make_scenario):
    """Touches per employee and step ≈ share_rate × (audience + degree), as the share kernel's semantics say."""
    model = ChannelModel(make_scenario(MEDIA), seed=6)
    model.run(3)
    touches = model.tables()["channels"].query("channel == 'employee' and step > 0")["touches"].to_numpy()
    expected = 10 * 0.2 * (150 + 6)
    assert np.all(np.abs(touches - expected) < 5 * np.sqrt(expected)), touches
    without = ChannelModel(make_scenario(MEDIA, {"banks": {"b": {"employee_media": {"audience": 0}}}}), seed=6)
    assert without._media_network == {}


def test_an_event_keeps_followers_of_staying_employees_and_grows_the_audience(make_scenario):
    scenario = make_scenario(MEDIA, {"events": [{"at": 2, "set": {"banks.b.employee_media.audience": 200,
                                                                  "banks.b.employee_media.staff_share": 0.006}}]})
    model = ChannelModel(scenario, seed=7)
    before_employees, before = (x.copy() for x in model._audience[0])
    model.run(2)
    after_employees, after = model._audience[0]
    assert after.shape == (12, 200)
    kept = np.isin(after_employees, before_employees)
    assert kept.sum() == 10
    rows = np.searchsorted(before_employees, after_employees[kept])
    assert np.array_equal(after[kept, :150], before[rows])


# ----------------------------------------------------------------------------- data targeting
PARTNER = {"population": {"size": 500},
           "platforms": {"shop": {"type": "scenario", "users": 0.5}},
           "partnerships": {"deal": {"bank": "b", "platform": "shop", "data_sharing": True, "data_targeting": 0.4}}}


def test_data_targeting_applies_to_the_partners_channel_scaled_by_the_data_link(make_scenario):
    scenario = make_scenario(PARTNER)
    channel = compile_catalog(scenario).channels.index("platform:shop")
    assert compile_catalog(scenario).channel_targeting[0, channel] == pytest.approx(0.4)
    bureau = with_overrides(scenario, {"regulation.data_link": "bureau", "regulation.bureau_share": 0.5})
    assert compile_catalog(bureau).channel_targeting[0, channel] == pytest.approx(0.2)
    for off in ({"regulation.data_link": "direct_jump"}, {"partnerships.deal.data_sharing": False},
                {"partnerships.deal.active": False}):
        assert compile_catalog(with_overrides(scenario, off)).channel_targeting.sum() == 0, off


def test_data_targeting_raises_interest_of_customers_met_through_the_partner(make_scenario):
    """interest × need × (1 + targeting + data targeting), checked through the funnel counts."""
    from sim.core.adoption.funnel import binomial_approval, run_funnel
    from sim.core.touches import Touches

    scenario = make_scenario(PARTNER, {"population": {"size": 20000}, "funnel": {"interest": 0.5}})
    model = ChannelModel(scenario, seed=8)
    cat = model.catalog
    channel = cat.channels.index("platform:shop")
    customers = np.flatnonzero(model.state.provider[:, 0] < 0)[:10000]
    counts = np.zeros((cat.n_institutions, cat.n_channels, 6), dtype=np.int64)
    touches = Touches.concat(
        [Touches.of(customers[:5000], 0, channel), Touches.of(customers[5000:], 0, Channel.OWN_APP)]
    )
    run_funnel(0, touches, model.state, model.population, cat, 1, binomial_approval(1.0), model.rng, counts)
    for ch, expected in ((channel, 0.5 * 1.4), (Channel.OWN_APP, 0.5)):
        aware, interested = counts[0, ch, 0], counts[0, ch, 1]
        assert abs(interested / aware - expected) < 5 * np.sqrt(expected * (1 - expected) / aware)


# ----------------------------------------------------------------------------- observation
def test_touches_and_tier_columns_add_up(make_scenario):
    scenario = make_scenario({"population": {"size": 800},
                              "banks": {"b": {"offers": {"payments": {"initial_share": 0.1}},
                                              "own_app": {"spend": 223.144, "followers": 0.3},
                                              "employee_media": {"staff_share": 0.00625, "share_rate": 0.3}}}})
    model = ChannelModel(scenario, seed=9)
    model.run(4)
    tables = model.tables()
    channels, inst = tables["channels"], tables["institutions"]
    assert (channels["touches"] >= 0).all()
    app = channels.query("channel == 'own_app' and step > 0")
    assert app["touches"].sum() > 0 and (app["new_customers"] <= app["touches"]).all()
    assert channels.query("step == 0")["touches"].sum() == 0
    tiers = inst[[f"customers_tier{t}" for t in range(1, 5)]].sum(axis=1)
    assert np.array_equal(tiers.to_numpy(), inst["customers"].to_numpy())
    assert channels.query("channel == 'employee' and step > 0")["touches"].sum() > 0
