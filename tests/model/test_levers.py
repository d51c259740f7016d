"""Tests of the levers (:mod:`sim.model.levers`): owned by institutions, changed by one method, logged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.core.params import compile_catalog
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.scenario.loader import deep_merge, validate_data, with_overrides

MARKET = {
    "name": "levers_test",
    "time": {"steps": 6},
    "population": {"size": 400},
    "network": {"kind": "erdos_renyi", "mean_degree": 6},
    # Unit response curves: p = 1 - exp(-spend / 1000) (spend 223.144 gives p = 0.2).
    "marketing": {"response": {c: {"p_max": 1.0, "s0": 1000.0}
                                   for c in ("branch", "own_app", "live_stream", "platform")}},
    "products": {"loan": {"kind": "credit"}, "payments": {"kind": "payments"}},
    "credit": {"enabled": True},
    "banks": {"bank": {"type": "state", "offers": {"loan": {}, "payments": {}},
                       "branch": {"coverage": [1, 1, 1, 1], "spend": 105.361},
                       "credit": {"insurer": "guard"},
                       "marketing": {"budget": 50.0, "split": {"branch": 0.5, "bank_mall": 0.5}}},
              "other": {"type": "joint_stock", "offers": {"payments": {}}, "employee_media": {"staff_share": 0.0125},
                        "marketing": {"split": {"own_app": 1.0}}}},
    "platforms": {"mall": {"type": "scenario", "users": 0.4, "offers": {"payments": {}}}},
    "partnerships": {"bank_mall": {"bank": "bank", "platform": "mall", "active": False, "data_sharing": True,
                                   "data_targeting": 0.5}},
    "insurers": {"guard": {}},
}


def scenario(extra: dict | None = None):
    return validate_data(deep_merge(MARKET, extra or {}), "test.yaml")


def assert_same_catalog(a, b) -> None:
    """Every field of two catalogs (and their risk parts) equal, NaN equal to NaN."""
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if dataclasses.is_dataclass(x):
            assert_same_catalog(x, y)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=field.name)
            assert x.dtype == y.dtype, field.name
        else:
            assert x == y, field.name


@pytest.mark.parametrize("path, value", [
    ("banks.bank.credit.cutoff", 0.004),
    ("banks.bank.referral.bonus", 50.0),
    ("banks.other.employee_media.staff_share", 0.03),
    ("banks.other.marketing.budget", 120.0),
    ("banks.bank.marketing.split", {"branch": 0.2, "bank_mall": 0.8}),
    ("marketing.response.own_app.s0", 900.0),
    ("banks.bank.offers.loan.price", 2.5),
    ("banks.bank.offers.payments.service_cost", 3.0),
    ("platforms.mall.offers.payments.brand", 0.4),
    ("platforms.mall.referral.enabled", False),
    ("platforms.mall.users", 0.7),
    ("partnerships.bank_mall.active", True),
    ("partnerships.bank_mall.take_rate", 0.2),
    ("partnerships.bank_mall.spend", 80.0),
    ("partnerships.bank_mall.fee_per_customer", 12.0),
    ("regulation.data_link", "bureau"),
    ("regulation.take_rate_cap", 0.05),
    ("macro.level", 2.5),
    ("credit.peer_effect", 0.5),
    ("choice.price", 2.0),
    ("products.loan.loan.term", 6),
    ("insurers.guard.premium_rate", 0.05),
])
def test_set_lever_derives_the_catalog_a_full_recompile_would(path, value):
    base = scenario({"partnerships": {"bank_mall": {"active": True}}} if path.startswith("regulation") else None)
    model = ChannelModel(base, seed=1)
    model.step()
    model.set_lever(path, value, reason="test")
    assert_same_catalog(model.catalog, compile_catalog(with_overrides(base, {path: value})))
    assert model.recorder.catalog is model.catalog


def test_a_lever_change_is_recorded_with_its_owner_before_after_and_reason():
    model = ChannelModel(scenario(), seed=1)
    model.run(2)
    bank = model.institution("bank")
    change = bank.set_lever("credit.cutoff", 0.004, reason="decision")
    assert bank.levers.credit.cutoff == 0.004
    assert (change.step, change.owner, change.path, change.after, change.reason) == (
        2, "banks.bank", "credit.cutoff", 0.004, "decision")
    assert change.before == model.scenario.banks["bank"].credit.cutoff       # the scenario as loaded stays
    assert model.levers.log == [change]
    offer = model.catalog.offer_of[bank.index, model.catalog.products.index("loan")]
    assert model.catalog.risk.offer_cutoff[offer] == pytest.approx(0.004)


def test_partnership_and_market_levers_have_owners():
    model = ChannelModel(scenario(), seed=1)
    bank = model.institution("bank")
    (partnership,) = bank.partnerships
    assert partnership is model.partnerships["bank_mall"] and partnership.platform == "mall"
    partnership.set_lever("active", True)
    assert model.catalog.partner_active.tolist() == [True]
    model.market.regulation.set_lever("data_link", "direct_jump")
    assert model.market.regulation.levers.data_link == "direct_jump"
    assert [c.owner for c in model.levers.log] == ["partnerships.bank_mall", "regulation"]


@pytest.mark.parametrize("path, value, named", [
    ("banks.bank.credit.cutoff", 1.5, "banks.bank.credit.cutoff"),
    ("banks.bank.credit.cutof", 0.1, "banks.bank.credit.cutof"),
    ("banks.ghost.trust", 0.5, "banks.ghost"),
    ("macro.level", -1.0, "macro.level"),
    ("population.size", 10, "population.size"),
    ("banks.bank.credit.insurer", "nobody", "banks.bank.credit.insurer"),
])
def test_a_bad_lever_value_names_the_path_and_changes_nothing(path, value, named):
    model = ChannelModel(scenario(), seed=1)
    catalog = model.catalog
    with pytest.raises(ScenarioError) as info:
        model.set_lever(path, value, reason="decision")
    assert named in str(info.value) and "decision" in str(info.value)
    assert model.catalog is catalog and model.levers.log == []
    assert model.current_scenario().banks["bank"] == model.scenario.banks["bank"]


def test_offers_cannot_appear_during_a_run():
    model = ChannelModel(scenario(), seed=1)
    with pytest.raises(ScenarioError, match="cannot add or remove offers"):
        model.set_lever("banks.other.offers", {"payments": {}, "loan": {}})


@pytest.mark.parametrize("path, value, named", [
    # A single number or yes/no value is checked against the other records too.
    ("banks.other.employee_media.audience", 400, "banks.other.employee_media.audience"),
    ("banks.other.employee_media.product", "loan", "banks.other.employee_media.product"),
    # Fixed for the run, as for a timeline event.
    ("credit.enabled", False, "switching credit on or off"),
    ("products.payments.kind", "credit", "products.payments.kind"),
    ("banks.bank.offers.payments.initial_share", 0.3, "set-up value"),
    ("platforms.mall.offers.payments.initial_awareness", 0.3, "set-up value"),
])
def test_a_lever_that_would_break_the_scenario_or_cannot_change_is_refused(path, value, named):
    model = ChannelModel(scenario(), seed=1)
    model.step()
    catalog, before = model.catalog, model.current_scenario()
    with pytest.raises(ScenarioError) as info:
        model.set_lever(path, value)
    assert named in str(info.value)
    assert model.catalog is catalog and model.levers.log == [] and model.current_scenario() == before
    model.set_lever("banks.other.referral.bonus", 10.0)     # the refusal leaves nothing behind
    assert model.levers.log[-1].path == "referral.bonus"


def test_setting_a_fixed_lever_to_its_value_changes_nothing_and_is_allowed():
    model = ChannelModel(scenario(), seed=1)
    model.set_lever("credit.enabled", True)
    assert model.catalog.risk.enabled and len(model.levers.log) == 1


def test_a_models_lever_records_are_read_only_and_the_callers_scenario_is_its_own():
    base = scenario()
    model = ChannelModel(base, seed=1)
    bank = model.institution("bank")
    with pytest.raises(AttributeError, match="set_lever"):
        bank.levers.referral.bonus = 100.0
    with pytest.raises(AttributeError, match="set_lever"):
        model.market.regulation.levers.take_rate_cap = 0.1
    with pytest.raises(AttributeError, match="set_lever"):
        model.partnerships["bank_mall"].levers.take_rate = 0.3
    bank.set_lever("referral.bonus", 20.0)
    with pytest.raises(AttributeError, match="set_lever"):     # the new record is read-only as well
        bank.levers.referral.bonus = 30.0
    assert bank.levers.referral.bonus == 20.0 and model.catalog.referral_bonus[bank.index] == 20.0
    # The caller's scenario was copied, not shared: still writable, and unchanged by the run's lever.
    assert base.banks["bank"].referral.bonus == 0.0
    base.banks["bank"].referral.bonus = 50.0
    assert bank.levers.referral.bonus == 20.0
    assert ChannelModel(base, seed=1).institution("bank").levers.referral.bonus == 50.0
    # A deep copy of what the model holds is the caller's own again.
    copy = model.current_scenario().model_copy(deep=True)
    copy.banks["bank"].referral.bonus = 70.0
    assert copy.banks["bank"].referral.bonus == 70.0 and bank.levers.referral.bonus == 20.0


def test_a_model_built_from_a_scenario_runs_as_one_built_from_its_copy():
    base = scenario()
    a, b = ChannelModel(base, seed=4), ChannelModel(base.model_copy(deep=True), seed=4)
    a.run(3)
    b.run(3)
    for name, table in a.tables().items():
        assert table.equals(b.tables()[name]), name
    assert base == a.scenario


def test_an_event_changes_a_products_parameters_at_its_step():
    events = [{"at": 3, "set": {"products.payments.funnel": {"interest": 1.0, "compare": 1.0},
                                "products.loan.loan.term": 4}}]
    base = scenario({"events": events})
    model = ChannelModel(base, seed=3)
    loan = model.catalog.products.index("loan")
    model.run(2)
    assert model.catalog.risk.loan_term[loan] == 12 and model.levers.log == []
    model.step()
    assert [(c.step, c.owner, c.path) for c in model.levers.log] == [
        (3, "products.payments", "funnel"), (3, "products.loan", "loan.term")]
    assert_same_catalog(model.catalog, compile_catalog(with_overrides(base, events[0]["set"])))
    payments = model.catalog.products.index("payments")
    assert model.catalog.interest[payments] == 1.0 and model.catalog.risk.loan_term[loan] == 4


def test_an_event_changes_its_levers_as_one_change_and_logs_each():
    events = [{"at": 2, "set": {"partnerships.bank_mall.active": True, "banks.bank.credit.cutoff": 0.005},
               "label": "launch"}]
    base = scenario({"events": events})
    model = ChannelModel(base, seed=3)
    model.run(2)
    assert [(c.step, c.owner, c.path, c.reason) for c in model.levers.log] == [
        (2, "partnerships.bank_mall", "active", "event at step 2 (launch)"),
        (2, "banks.bank", "credit.cutoff", "event at step 2 (launch)")]
    overridden = with_overrides(base, events[0]["set"])
    assert_same_catalog(model.catalog, compile_catalog(overridden))
