"""Regulation (mechanism 8): cut the direct link (SF15), rate and take-rate caps, timeline conflicts."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.params import compile_catalog
from sim.core.risk import regulation
from sim.core.risk_params import DEFAULT_BANK_DATA_QUALITY
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.scenario.loader import deep_merge, validate_data


def linked_scenario(extra: dict | None = None):
    """A bank scoring with a partner platform's data (a data-sharing partnership, SF10)."""
    data = {
        "name": "regulation_test",
        "time": {"steps": 24},
        "population": {"size": 3000, "credit": {"subprime_share": 0.4}},
        "network": {"kind": "erdos_renyi", "mean_degree": 6},
        # Unit response curves: p = 1 - exp(-spend / 1000) (spend 223.144 gives p = 0.2).
        "marketing": {"response": {c: {"p_max": 1.0, "s0": 1000.0}
                                   for c in ("branch", "own_app", "live_stream", "platform")}},
        "products": {"loan": {"kind": "credit"}},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0},
        "choice": {"switching": 0.0},
        "credit": {"enabled": True},
        "banks": {"bank": {"type": "joint_stock", "offers": {"loan": {"price": 1.0}}, "retention": 1.0,
                           "branch": {"coverage": [1, 1, 1, 1], "spend": 51.2933},
                           # The capital rule off: decisions depend on the regulation alone, not on profit.
                           "credit": {"tightening": 0.0}}},
        "platforms": {"mall": {"type": "scenario", "users": 0.8, "data_quality": 0.9}},
        "partnerships": {"bank_mall": {"bank": "bank", "platform": "mall", "spend": 105.361,
                                       "take_rate": 0.2, "data_sharing": True}},
    }
    return validate_data(deep_merge(data, extra or {}), "test.yaml")


# --------------------------------------------------------------------------- kernels
def test_data_link_weight_by_mode():
    assert regulation.data_link_weight("direct", 0.6) == 1.0
    assert regulation.data_link_weight("bureau", 0.6) == 0.6
    assert regulation.data_link_weight("direct_jump", 0.6) == 0.0
    with pytest.raises(ValueError, match="direct, bureau, direct_jump"):
        regulation.data_link_weight("pigeon", 0.6)
    assert regulation.query_cost("bureau", 2.0) == 2.0 and regulation.query_cost("direct", 2.0) == 0.0


def test_caps_and_floors():
    assert regulation.cap(np.array([0.1, 0.3]), 0.2).tolist() == [0.1, 0.2]
    assert regulation.cap(np.array([0.1, 0.3]), None).tolist() == [0.1, 0.3]
    assert regulation.floor(np.array([0.05, 0.3]), 0.1).tolist() == [0.1, 0.3]


# --------------------------------------------------------------------------- compiled parameters
@pytest.mark.parametrize("mode, quality, bureau", [
    ("direct", 1 - 0.7 * 0.1, False),
    ("bureau", 1 - 0.7 * (1 - 0.6 * 0.9), True),
    ("direct_jump", DEFAULT_BANK_DATA_QUALITY, False),
])
def test_cutting_the_direct_link_lowers_the_banks_data_quality(mode, quality, bureau):
    risk = compile_catalog(linked_scenario({"regulation": {"data_link": mode, "bureau_share": 0.6}})).risk
    assert risk.data_quality[0] == pytest.approx(quality)
    assert risk.noise[0] == pytest.approx(1.5 * (1 - quality))
    assert bool(risk.bureau[0]) is bureau
    assert risk.data_quality[1] == pytest.approx(0.9)       # the platform's own data is its own


def test_a_data_alliance_pools_members_data():
    scenario = linked_scenario({"partnerships": {"bank_mall": {"data_sharing": False}},
                                "banks": {"bank": {"data_alliance": "big"},
                                          "other": {"type": "state", "data_alliance": "big",
                                                    "credit": {"data_quality": 0.5}}},
                                "platforms": {"mall": {"data_alliance": "big"}},
                                "regulation": {"data_link": "direct_jump"}})
    risk = compile_catalog(scenario).risk
    ids = compile_catalog(scenario).institution_ids
    bank, other, mall = ids.index("bank"), ids.index("other"), ids.index("mall")
    # bank-to-bank data passes; the platform's does not in direct-jump mode
    assert risk.data_quality[bank] == pytest.approx(1 - 0.7 * 0.5)
    assert risk.data_quality[other] == pytest.approx(1 - 0.5 * 0.7)
    assert risk.data_quality[mall] == pytest.approx(1 - 0.1 * 0.7 * 0.5)


def test_rate_cap_caps_new_loans_and_tightens_the_cutoff():
    risk = compile_catalog(linked_scenario({"regulation": {"rate_cap": 0.07}})).risk
    assert risk.offer_rate[0] == pytest.approx(0.07)
    # margin 0.12 - 0.02 becomes 0.07 - 0.02: half the tolerance
    assert risk.offer_cutoff[0] == pytest.approx(0.005)


def test_take_rate_cap():
    assert compile_catalog(linked_scenario({"regulation": {"take_rate_cap": 0.05}})).partner_take.tolist() == [0.05]
    assert compile_catalog(linked_scenario()).partner_take.tolist() == [0.2]


# --------------------------------------------------------------------------- events in a run
def test_cutting_the_direct_link_mid_run_worsens_selection_and_charges_queries():
    def run(mode):
        events = [{"at": 12, "set": {"regulation.data_link": mode}}] if mode != "direct" else []
        model = ChannelModel(linked_scenario({"events": events}), seed=1)
        model.run()
        return model
    kept, bureau, cut = run("direct"), run("bureau"), run("direct_jump")
    assert kept.catalog.risk.data_quality[0] > bureau.catalog.risk.data_quality[0] > cut.catalog.risk.data_quality[0]

    def subprime_approval(model):
        table = model.recorder.tables()["credit"]
        late = table[(table["step"] >= 12) & (table["segment"] == "subprime")]
        return late["approvals"].sum() / late["applications"].sum()
    assert subprime_approval(cut) > subprime_approval(kept) + 0.05

    inst = bureau.tables()["institutions"].query("institution == 'bank'")
    assert (inst.loc[inst["step"] < 12, "bureau_cost"] == 0).all()
    late = inst[inst["step"] >= 12]
    assert late["bureau_cost"].sum() == pytest.approx(2.0 * late["applications"].sum())


def test_a_rate_cap_event_applies_to_new_loans_only():
    model = ChannelModel(linked_scenario({"events": [{"at": 10, "set": {"regulation.rate_cap": 0.08}}]}), seed=2)
    model.run()
    loans = model.loans()
    assert np.allclose(loans.loc[loans["start"] < 10, "rate"], 0.12)
    assert np.allclose(loans.loc[loans["start"] >= 10, "rate"], 0.08)
    assert ((loans["start"] < 10) & (loans["closed"] >= 10)).any()   # old loans ran on at their rate


def test_a_take_rate_cap_event_cuts_revenue_share():
    free = ChannelModel(linked_scenario(), seed=3)
    capped = ChannelModel(linked_scenario({"events": [{"at": 6, "set": {"regulation.take_rate_cap": 0.02}}]}), seed=3)
    free.run()
    capped.run()
    def share(m):
        return m.tables()["institutions"].query("institution == 'bank' and step > 6")["revenue_share_paid"].sum()
    assert share(capped) == pytest.approx(share(free) * 0.1, rel=1e-9)


# --------------------------------------------------------------------------- bad timelines
def test_contradictory_events_at_one_step_are_an_error():
    with pytest.raises(ScenarioError) as info:
        linked_scenario({"events": [{"at": 5, "set": {"regulation.data_link": "bureau"}},
                                    {"at": 5, "set": {"regulation.data_link": "direct_jump"}}]})
    text = str(info.value)
    assert "test.yaml" in text and "events[1].set.regulation.data_link" in text
    assert "contradicts events[0] at step 5" in text and "one value per parameter per step" in text


def test_a_block_and_a_key_inside_it_at_one_step_conflict():
    with pytest.raises(ScenarioError, match=r"events\[1\].set.regulation.rate_cap.*contradicts events\[0\]"):
        linked_scenario({"events": [{"at": 5, "set": {"regulation": {"rate_cap": 0.1}}},
                                    {"at": 5, "set": {"regulation.rate_cap": 0.1}}]})


def test_agreeing_or_separate_events_are_fine():
    linked_scenario({"events": [{"at": 5, "set": {"regulation.rate_cap": 0.1}},
                                {"at": 5, "set": {"regulation.rate_cap": 0.1, "macro.level": 2.0}},
                                {"at": 6, "set": {"regulation.rate_cap": 0.2}}]})


def test_switching_credit_on_mid_run_is_an_error():
    with pytest.raises(ScenarioError, match=r"events\[0\].set.credit.enabled.*cannot happen during a run"):
        linked_scenario({"events": [{"at": 5, "set": {"credit.enabled": False}}]})


def test_a_bad_data_link_mode_is_an_error():
    with pytest.raises(ScenarioError) as info:
        linked_scenario({"regulation": {"data_link": "pigeon"}})
    text = str(info.value)
    assert "regulation.data_link" in text and "'direct', 'bureau' or 'direct_jump'" in text
