"""The dashboard's levers: each maps to valid scenario paths and moves the model's catalog."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.core.params import compile_catalog
from sim.dashboard.levers import LEVERS, LeverSpec, apply_levers, budget_split_overrides, lever_overrides, levers_for
from sim.scenario import get_path, load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.fixture(scope="module")
def with_credit(baseline):
    """The baseline with the risk side on, an insurer and a data-sharing partnership, so every lever exists."""
    risk_paths = ("credit.enabled", "insurers", "regulation.data_link", "macro.level")
    if not all(_schema_has(baseline, p) for p in risk_paths):
        pytest.skip("the scenario schema has no risk side yet")
    return with_overrides(baseline, {
        "credit.enabled": True,
        "insurers": {"guarantor": {}},
        "banks.citybank.credit.insurer": "guarantor",
        "partnerships.citic_shopmall.data_sharing": True,
    })


def _schema_has(scenario, path):
    try:
        get_path(scenario, path)
    except (AttributeError, KeyError):
        return False
    return True


def _moved_value(lever, scenario):
    """A value the lever can take that differs from the scenario's."""
    start, spec = lever.start(scenario), lever.spec
    if spec.kind == "bool":
        return not start
    if spec.kind == "choice":
        return next(c for c in spec.choices if c != start)
    low, high = lever.bounds(scenario)
    return high if abs(high - start) > abs(start - low) else low


def _differences(a, b, prefix=""):
    """Names of the catalog fields (recursing into nested dataclasses) that differ."""
    found = []
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        name = prefix + field.name
        if dataclasses.is_dataclass(x) and dataclasses.is_dataclass(y):
            found += _differences(x, y, name + ".")
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None or np.shape(x) != np.shape(y):
                found.append(name)
            elif not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                found.append(name)
        elif x != y:
            found.append(name)
    return found


def test_baseline_has_the_adoption_levers(baseline):
    keys = {lever.key for lever in levers_for(baseline)}
    for bank in baseline.banks:
        assert {f"{bank}:referral_bonus", f"{bank}:referral_welcome", f"{bank}:live_stream",
                f"{bank}:budget_split"} <= keys
    for partnership in baseline.partnerships:
        assert {f"{partnership}:take_rate", f"{partnership}:data_sharing"} <= keys
    # With the risk side off its levers would do nothing, so they are not offered.
    credit_off = with_overrides(baseline, {"credit.enabled": False})
    assert not any(lever.spec.name in ("approval_cutoff", "coverage", "data_link", "macro_shock")
                   for lever in levers_for(credit_off))


def test_credit_levers_appear_when_credit_is_on(with_credit):
    names = {lever.spec.name for lever in levers_for(with_credit)}
    assert {"approval_cutoff", "coverage", "data_link", "macro_shock"} <= names


@pytest.mark.parametrize("scenario_name", ["baseline", "with_credit"])
def test_each_lever_maps_to_valid_paths_and_moves_the_catalog(scenario_name, request):
    scenario = request.getfixturevalue(scenario_name)
    base = compile_catalog(scenario)
    levers = levers_for(scenario)
    assert len({lever.key for lever in levers}) == len(levers), "lever keys must be unique"
    for lever in levers:
        start = lever.start(scenario)
        # Its path is a scenario parameter that with_overrides accepts at the file's value ...
        assert with_overrides(scenario, {lever.path: get_path(scenario, lever.path)}) == scenario
        # ... its starting point is the file's ...
        low, high = (lever.bounds(scenario) if lever.spec.kind in ("float", "int") else (None, None))
        if low is not None:
            assert low <= start <= high
        # ... and moving it changes the compiled parameters the model runs on.
        value = _moved_value(lever, scenario)
        overrides = lever.overrides(scenario, value)
        moved = with_overrides(scenario, overrides)
        assert moved != scenario
        if lever.spec.name == "policy":
            # A policy acts through the institution's decisions, not the compiled parameters (next test).
            continue
        assert _differences(base, compile_catalog(moved)), f"lever {lever.key} ({overrides}) moved nothing"


def test_switching_a_policy_in_the_dashboard_makes_the_institution_decide(baseline):
    from sim.model.model import ChannelModel

    lever = next(lv for lv in levers_for(baseline) if lv.key.endswith(":policy") and lv.spec.scope == "banks")
    assert lever.start(baseline) == "fixed"
    moved = with_overrides(baseline, {**lever.overrides(baseline, "rule"), "population.size": 500,
                                      "time.steps": 6})
    model = ChannelModel(moved, seed=1)
    model.run()
    assert any(c.source == "decision" and c.owner == f"banks.{lever.target}" for c in model.levers.log)


def test_levers_at_the_files_values_change_nothing(baseline):
    values = {lever.key: lever.start(baseline) for lever in levers_for(baseline)}
    assert lever_overrides(baseline, values) == {}
    assert apply_levers(baseline, values) is baseline


def test_unknown_lever_is_an_error_naming_the_known_ones(baseline):
    with pytest.raises(KeyError, match="citic:referral_bonus"):
        apply_levers(baseline, {"citic:referal_bonus": 10})


def test_applying_a_lever_changes_the_models_catalog(baseline):
    from sim.dashboard.app import DashboardModel

    small = with_overrides(baseline, {"population.size": 300})
    model = DashboardModel(small, **{"citic:referral_bonus": 100.0, "icbc_chatpay:take_rate": 0.3})
    i = model.catalog.institution_ids.index("citic")
    assert model.catalog.referral_bonus[i] == 100.0
    assert model.catalog.partner_take[list(small.partnerships).index("icbc_chatpay")] == pytest.approx(0.3)
    assert model.overrides == {"banks.citic.referral.bonus": 100.0, "partnerships.icbc_chatpay.take_rate": 0.3}
    assert model.base_scenario is small


def test_live_streaming_without_a_spend_borrows_the_apps(baseline):
    moved = apply_levers(baseline, {"icbc:live_stream": True})
    stream, app = moved.banks["icbc"].live_stream, moved.banks["icbc"].own_app
    assert stream.enabled and stream.spend == app.spend
    catalog = compile_catalog(moved)
    assert catalog.live_spend[0] == app.spend and catalog.live_enabled[0]


def _citic_budget(s):
    """citic's estimated yuan per step per 1,000 population on each channel (the lever's own reckoning)."""
    b, users = s.banks["citic"], {p: s.platforms[p].users for p in s.platforms}
    covered = sum(t * c for t, c in zip(s.population.city_tiers, b.branch.coverage, strict=True))
    domain = b.own_app.followers + sum(o.initial_share for o in b.offers.values())
    own = {"branch": b.branch.spend * covered, "own_app": b.own_app.spend * domain}
    platform = {p: s.partnerships[p].spend * users[s.partnerships[p].platform]
                for p in ("citic_shopmall", "citic_finmarket")}
    return own, platform


def test_budget_split_moves_the_same_budget_between_own_channels_and_platforms(baseline):
    own, platform = _citic_budget(baseline)
    total = sum(own.values()) + sum(platform.values())
    [lever] = [lv for lv in levers_for(baseline) if lv.key == "citic:budget_split"]
    # The file's share, rounded to the slider's step (0.05).
    assert abs(lever.start(baseline) - sum(platform.values()) / total) <= 0.025 + 1e-12
    assert lever.start(baseline) == pytest.approx(0.05 * round(lever.start(baseline) / 0.05))
    moved = apply_levers(baseline, {"citic:budget_split": 0.6})
    marketing = moved.banks["citic"].marketing
    assert marketing.budget == pytest.approx(total)
    assert sum(marketing.split.values()) == pytest.approx(1.0)
    assert marketing.split["citic_shopmall"] + marketing.split["citic_finmarket"] == pytest.approx(0.6)
    # Each side keeps the file's proportions.
    assert marketing.split["branch"] / marketing.split["own_app"] == pytest.approx(own["branch"] / own["own_app"])
    assert marketing.split["citic_shopmall"] / marketing.split["citic_finmarket"] == pytest.approx(
        platform["citic_shopmall"] / platform["citic_finmarket"])
    # The catalog spends the budget: shares per channel, per partnership.
    catalog = compile_catalog(moved)
    i = catalog.institution_ids.index("citic")
    assert catalog.budget[i] == pytest.approx(total)
    assert catalog.budget_split[i, 0] == pytest.approx(marketing.split["branch"])
    j = list(moved.partnerships).index("citic_shopmall")
    assert catalog.partner_budget_share[j] == pytest.approx(marketing.split["citic_shopmall"])


def test_budget_split_at_the_ends_and_out_of_range(baseline):
    everything_to_platforms = budget_split_overrides(baseline, "citic", 1.0)
    split = everything_to_platforms["banks.citic.marketing.split"]
    assert split["branch"] == split["own_app"] == 0.0
    nothing_to_platforms = budget_split_overrides(baseline, "citic", 0.0)["banks.citic.marketing.split"]
    assert nothing_to_platforms["citic_shopmall"] == nothing_to_platforms["citic_finmarket"] == 0.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        budget_split_overrides(baseline, "citic", 1.5)


def test_a_new_lever_is_one_line(baseline):
    extra = LeverSpec("retention", "retention", "banks", "banks.{id}.retention")
    levers = levers_for(baseline, (*LEVERS, extra))
    retention = [lever for lever in levers if lever.spec is extra]
    assert [lever.key for lever in retention] == [f"{bank}:retention" for bank in baseline.banks]
    assert retention[0].start(baseline) == baseline.banks["icbc"].retention
    # A path the schema does not have yields no lever rather than an error.
    assert levers_for(baseline, (LeverSpec("nope", "nope", "banks", "banks.{id}.no_such_key"),)) == []


def test_market_wide_levers_come_first_and_headings_use_display_names():
    from sim.scenario.reference import entries

    scenario = load_scenario(ROOT / "scenarios" / "credit_insurance.yaml")
    levers = levers_for(scenario)
    scopes = [lever.spec.scope for lever in levers]
    assert scopes[0] == "scenario" and "scenario" not in scopes[scopes.index("banks"):]
    citic = next(lever for lever in levers if lever.target == "citic")
    assert citic.heading(scenario) == f"{scenario.banks['citic'].name} (bank citic)"
    # Every lever names the scenario key it sets, as the reference does.
    keys = [e.keys for e in entries()]
    for lever in levers:
        parts = lever.key_path.rstrip(".*").split(".")
        assert any(len(k) >= len(parts) and all(a == b or a.startswith("<") for a, b in zip(k, parts, strict=False))
                   for k in keys), lever.key_path
    sharing = next(lever for lever in levers if lever.spec.name == "data_sharing")
    assert sharing.key_path.endswith(".data_sharing") and "data sharing" in sharing.spec.label
