"""Decisions in the model: fixed changes nothing, bounds hold, exit, partnerships' notice, take rates, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.model.decisions import DecisionMemory, learn
from sim.model.model import ChannelModel
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SMALL = {"population.size": 800, "time.steps": 12}


def run_tables(scenario, seed: int = 5) -> dict[str, pd.DataFrame]:
    model = ChannelModel(scenario, seed=seed)
    model.run()
    return model.tables()


def every_institution(scenario, **policy) -> dict:
    """Overrides setting ``policy`` on every bank, platform and insurer of ``scenario``."""
    return {f"{group}.{iid}.policy.{key}": value for group in ("banks", "platforms", "insurers")
            for iid in getattr(scenario, group) for key, value in policy.items()}


def test_explicit_fixed_policy_gives_the_same_tables_as_none():
    plain = load_scenario(BASELINE, SMALL)
    fixed = load_scenario(BASELINE, {**SMALL, **every_institution(plain, kind="fixed")})
    a, b = run_tables(plain), run_tables(fixed)
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)
    assert (a["decisions"]["source"] != "decision").all()


def test_rule_policies_decide_every_period_inside_their_levers():
    plain = load_scenario(BASELINE, SMALL)
    scenario = load_scenario(BASELINE, {**SMALL, **every_institution(plain, kind="rule"), "decisions.every": 4})
    decisions = run_tables(scenario)["decisions"]
    made = decisions[decisions["source"] == "decision"]
    assert not made.empty
    assert set(made["step"]) <= {4, 8, 12}
    assert made["lever"].str.match(r"^(offers\.\w+\.price|take_rate|referral\.bonus|active)$").all()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["rule", "learning"]), step=st.floats(0.01, 0.5),
       low=st.floats(0.0, 1.0), width=st.floats(0.3, 4.0), bonus_step=st.floats(0.0, 30.0))
def test_decisions_stay_inside_bounds_and_maximum_steps(kind, step, low, width, bonus_step):
    high = low + width
    base = load_scenario(BASELINE, {"population.size": 500, "time.steps": 15})
    prices = {f"{g}.{iid}.offers.{k}.price": float(np.clip(o.price, low, high))
              for g in ("banks", "platforms") for iid, spec in getattr(base, g).items() for k, o in spec.offers.items()}
    scenario = load_scenario(BASELINE, {"population.size": 500, "time.steps": 15, **prices,
                                        **every_institution(base, kind=kind, price_step=step, bonus_step=bonus_step,
                                                            answer_threshold=0.0),
                                        **{k.replace("kind", "price_bounds"): {"low": low, "high": high}
                                           for k in every_institution(base, kind=kind)}})
    decisions = run_tables(scenario, seed=1)["decisions"]
    price = decisions[decisions["lever"].str.endswith(".price")]
    assert price["after_value"].between(low - 1e-9, high + 1e-9).all()
    assert ((price["after_value"] - price["before_value"]).abs() <= step + 1e-9).all()
    bonus = decisions[decisions["lever"] == "referral.bonus"]
    assert ((bonus["after_value"] - bonus["before_value"]).abs() <= bonus_step + 1e-9).all()


def test_an_exited_bank_acquires_no_one_afterwards():
    # citybank loses money on every customer; it exits after one losing period.
    scenario = load_scenario(BASELINE, {"population.size": 1500, "time.steps": 18,
                                        "banks.citybank.offers.payments.service_cost": 50.0,
                                        "banks.citybank.policy.exit_after": 1})
    model = ChannelModel(scenario, seed=3)
    model.run()
    tables = model.tables()
    bank = model.institution("citybank")
    assert bank.exited and bank.memory.exited_at == 3
    inst = tables["institutions"].query("institution == 'citybank'").set_index("step")
    assert inst.loc[1:3, "new_customers"].sum() > 0                 # it was acquiring before
    assert (inst.loc[4:, "new_customers"] == 0).all()
    assert inst.loc[18, "customers"] < inst.loc[3, "customers"]      # its customers leave over time
    exits = tables["decisions"].query("source == 'decision' and step == 3")
    assert "citybank" in " ".join(exits["reason"])
    assert not any(p.levers.active for p in bank.partnerships)
    assert (tables["channels"].query("institution == 'citybank' and step > 3")["touches"] == 0).all()


def test_capital_below_minimum_exits():
    scenario = load_scenario(BASELINE, {**SMALL, "banks.icbc.policy.capital_minimum": 1e12})
    model = ChannelModel(scenario, seed=2)
    model.run()
    assert model.institution("icbc").memory.exited_at == 3
    assert not model.institution("citic").exited


def test_a_losing_partnership_is_ended_after_notice():
    scenario = load_scenario(BASELINE, {"population.size": 800, "time.steps": 15,
                                        "partnerships.citybank_finmarket.spend": 1e6,
                                        "banks.citybank.policy.kind": "rule",
                                        "banks.citybank.policy.partnership_patience": 2,
                                        "banks.citybank.policy.notice": 1})
    model = ChannelModel(scenario, seed=4)
    model.run()
    assert model.notices == [(6, "citybank", "citybank_finmarket", 9)]
    ended = [c for c in model.levers.log if c.owner == "partnerships.citybank_finmarket" and c.path == "active"]
    assert [(c.step, c.before, c.after, c.source) for c in ended] == [(9, True, False, "decision")]
    # The ending says why notice was given: the contribution margin a step, negative for `patience` periods.
    assert "notice by citybank ran out (contribution margin -" in ended[0].reason
    assert ended[0].reason.endswith("a step, negative 2 periods)")
    spend = model.tables()["channels"].query("institution == 'citybank' and channel == 'platform:finmarket'")
    assert (spend.query("step > 9")["spend"] == 0).all()
    assert (spend.query("1 <= step <= 9")["spend"] > 0).all()


def test_platforms_raise_take_rates_on_dependent_banks_within_their_cap():
    scenario = load_scenario(BASELINE, {"population.size": 800, "time.steps": 30,
                                        "platforms.shopmall.policy.kind": "rule",
                                        "platforms.shopmall.policy.dependence_threshold": 0.0,
                                        "platforms.shopmall.policy.take_rate_step": 0.02,
                                        "regulation.take_rate_cap": 0.2})
    start = scenario.partnerships["citic_shopmall"].take_rate
    model = ChannelModel(scenario, seed=4)
    model.run()
    rates = [c.after for c in model.levers.log if c.owner == "partnerships.citic_shopmall"]
    assert rates and rates[0] == pytest.approx(start + 0.02)
    assert max(rates) <= 0.2 + 1e-12
    assert np.all(np.diff([start, *rates]) <= 0.02 + 1e-12)


@pytest.mark.parametrize("policy, expected", [
    ({"kind": "clever"}, ["banks.citic.policy.kind", "'fixed'", "'rule'", "'learning'"]),
    ({"kind": "rule", "price_step": -1}, ["banks.citic.policy.price_step", "greater than or equal to 0"]),
    ({"kind": "learning", "learning": {"experimentation": 1.5}},
     ["banks.citic.policy.learning.experimentation", "less than 1"]),
    ({"kind": "rule", "price_bounds": {"low": 5, "high": 2}}, ["banks.citic.policy.price_bounds", "low must be below"]),
    ({"take_rate_bounds": {"low": 0, "high": 3}}, ["banks.citic.policy", "take_rate_bounds.high"]),
    ({"kind": "rule", "colour": "red"}, ["banks.citic.policy.colour", "unknown key"]),
])
def test_bad_policies_exit_2_naming_file_and_key(tmp_path, capsys, policy, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "extends": str(BASELINE), "banks": {"citic": {"policy": policy}}}))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err
    for text in expected:
        assert text in err
    assert not out.exists()


def test_decisions_every_must_be_positive(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "extends": str(BASELINE), "decisions": {"every": 0}}))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "decisions.every" in err and "greater than or equal to 1" in err


def test_learning_moves_prices_by_whole_steps_and_is_reproducible():
    scenario = load_scenario(BASELINE, {**SMALL, "time.steps": 30, "banks.citic.policy.kind": "learning",
                                        "banks.citic.policy.price_step": 0.2})
    runs = [run_tables(scenario, seed=9)["decisions"] for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    moves = runs[0].query("owner == 'banks.citic' and lever.str.endswith('.price')")
    assert not moves.empty and moves["reason"].str.startswith("learning:").all()
    size = (moves["after_value"] - moves["before_value"]).abs()
    at_bound = moves["after_value"].isin([0.0, 100.0])          # the default price bounds
    assert np.allclose(size[~at_bound], 0.2) and (size[at_bound] <= 0.2 + 1e-9).all()
    learner = ChannelModel(scenario, seed=9)
    learner.run()
    assert learner.institution("citic").memory.learners["price"].probabilities.sum() == pytest.approx(1.0)


def insurer_market(**policy) -> tuple[str, object]:
    """credit_insurance at 1,500 customers and 45 steps, its insurer's policy set to ``policy``: (insurer, scenario)."""
    path = ROOT / "scenarios" / "credit_insurance.yaml"
    small = {"population.size": 1500, "time.steps": 45}
    (insurer,) = list(load_scenario(path, small).insurers)
    return insurer, load_scenario(path, {**small, **{f"insurers.{insurer}.policy.{k}": v for k, v in policy.items()}})


def test_insurers_reprice_by_their_loss_ratio_within_the_step():
    insurer, scenario = insurer_market(kind="rule", premium_step=0.1)
    model = ChannelModel(scenario, seed=2)
    model.run()
    changes = [c for c in model.levers.log if c.owner == f"insurers.{insurer}"]
    assert changes
    for change in changes:
        assert abs(change.after - change.before) <= 0.1 * change.before + 1e-12
        assert change.reason.startswith("rule: loss ratio")
    insurers = model.tables()["insurers"]
    premiums = insurers.groupby("step")["premiums"].sum()
    assert premiums.sum() > 0   # the rule had premiums to judge by


def test_a_bank_losing_share_answers_a_rivals_price_cut_and_bonus():
    from sim.model.decisions import answer_rivals
    from sim.model.observation import observe

    scenario = load_scenario(BASELINE, {**SMALL, "banks.citic.policy.kind": "rule",
                                        "banks.citic.policy.answer_threshold": 0.01,
                                        "banks.citic.policy.bonus_step": 15.0})
    model = ChannelModel(scenario, seed=1)
    model.run(3)
    citic = model.institution("citic")
    before = {k: o.price for k, o in citic.levers.offers.items()}
    posted_before = {iid: {**t, "prices": dict(t.get("prices", {}))} for iid, t in model.posted.items()}
    posted = {iid: {**t, "prices": dict(t.get("prices", {}))} for iid, t in model.posted.items()}
    posted["icbc"]["prices"]["payments"] -= 0.5          # icbc cut its payments price …
    posted["icbc"]["bonus"] = citic.levers.referral.bonus + 40.0   # … and raised its bonus
    citic.memory.shares = [0.30, 0.25]                    # citic lost 5 points of share
    obs = observe(model, citic, model.period, posted, posted_before)
    with model.levers.batch():
        answered = answer_rivals(citic, obs, citic.memory, citic.levers.policy)
    assert answered == {"payments"}
    assert citic.levers.offers["payments"].price == pytest.approx(before["payments"] - 0.1)
    assert citic.levers.referral.bonus == pytest.approx(posted_before["citic"]["bonus"] + 15.0)
    # Without a share fall beyond the threshold, nobody answers.
    citic.memory.shares = [0.30, 0.295]
    with model.levers.batch():
        assert answer_rivals(citic, obs, citic.memory, citic.levers.policy) == set()


def test_a_standing_rival_bonus_is_answered_and_never_outbid():
    """A bonus posted from the start never 'rose', yet stands above one's own: the answer moves toward it."""
    from sim.model.decisions import answer_rivals
    from sim.model.observation import observe

    scenario = load_scenario(BASELINE, {**SMALL, "banks.citic.policy.kind": "rule",
                                        "banks.citic.policy.answer_threshold": 0.01,
                                        "banks.citic.policy.bonus_step": 15.0,
                                        "banks.icbc.referral.bonus": 20.0})
    model = ChannelModel(scenario, seed=1)
    model.run(3)
    citic = model.institution("citic")
    posted = {iid: {**t, "prices": dict(t.get("prices", {}))} for iid, t in model.posted.items()}
    assert posted["icbc"]["bonus"] == 20.0 and citic.levers.referral.bonus == 0.0
    citic.memory.shares = [0.30, 0.25]
    obs = observe(model, citic, model.period, posted, posted)     # the rival's bonus did not change
    with model.levers.batch():
        answer_rivals(citic, obs, citic.memory, citic.levers.policy)
    assert citic.levers.referral.bonus == pytest.approx(15.0)
    with model.levers.batch():
        answer_rivals(citic, obs, citic.memory, citic.levers.policy)
    assert citic.levers.referral.bonus == pytest.approx(20.0)    # up to the rival's bonus, not past it
    with model.levers.batch():
        answer_rivals(citic, obs, citic.memory, citic.levers.policy)
    assert citic.levers.referral.bonus == pytest.approx(20.0)


KEPT = ROOT / "scenarios" / "cut_direct_link_decisions_kept.yaml"
BUDGET_LEARNING = {"population.size": 1000, "time.steps": 36, "banks.citic.policy.kind": "learning",
                   "banks.citic.policy.budget_change": 0.05, "banks.citic.policy.budget_step": 0.05,
                   "banks.citic.policy.budget_bounds": {"low": 1850.0, "high": 2150.0}}


def test_a_learning_bank_moves_its_budget_and_split_inside_bounds_and_steps_reproducibly():
    scenario = load_scenario(KEPT, BUDGET_LEARNING)
    policy = scenario.banks["citic"].policy
    runs = [run_tables(scenario, seed=4)["decisions"] for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])                 # same seed, same decisions
    made = runs[0].query("owner == 'banks.citic' and source == 'decision'")
    budget = made[made["lever"] == "marketing.budget"]
    split = made[made["lever"] == "marketing.split"]
    assert not budget.empty and not split.empty
    assert made["reason"].str.match(r"^learning: .*\(Roth–Erev\)$").all()
    assert budget["after_value"].between(1850.0 - 1e-9, 2150.0 + 1e-9).all()
    assert ((budget["after_value"] - budget["before_value"]).abs()
            <= policy.budget_change * budget["before_value"] + 1e-9).all()
    assert budget["after_value"].isin([1850.0, 2150.0]).any()       # the bounds bind within 36 months
    for before, after in split[["before", "after"]].itertuples(index=False):
        before, after = json.loads(before), json.loads(after)
        assert set(after) == set(before) and sum(after.values()) == pytest.approx(1.0) and min(after.values()) >= 0
        assert sum(abs(after[k] - before[k]) for k in after) <= 2 * policy.budget_step + 1e-9
    # Another seed learns otherwise: the moves come from the draws, not from a fixed schedule.
    other = run_tables(scenario, seed=5)["decisions"].query("owner == 'banks.citic' and source == 'decision'")
    assert not other[["step", "lever", "after"]].reset_index(drop=True).equals(
        made[["step", "lever", "after"]].reset_index(drop=True))


def test_a_learning_platform_moves_its_take_rates_within_step_bounds_and_cap():
    plain = load_scenario(BASELINE, SMALL)
    overrides = {**SMALL, "time.steps": 36, "regulation.take_rate_cap": 0.17,
                 **every_institution(plain, kind="learning", take_rate_step=0.02,
                                     take_rate_bounds={"low": 0.03, "high": 0.3})}
    overrides = {k: v for k, v in overrides.items() if not k.startswith("insurers.")}
    decisions = run_tables(load_scenario(BASELINE, overrides), seed=2)["decisions"]
    takes = decisions[(decisions["lever"] == "take_rate") & (decisions["source"] == "decision")]
    assert not takes.empty and takes["reason"].str.startswith("learning: take rate").all()
    assert takes["after_value"].between(0.03 - 1e-9, 0.17 + 1e-9).all()
    assert ((takes["after_value"] - takes["before_value"]).abs() <= 0.02 + 1e-9).all()


def test_each_institution_learns_from_its_own_stream():
    scenario = load_scenario(BASELINE, SMALL)
    a, b = ChannelModel(scenario, seed=3), ChannelModel(scenario, seed=3)
    draws = lambda model, key: model.learning_rng(key).random(4)     # noqa: E731
    np.testing.assert_array_equal(draws(a, "banks.citic"), draws(b, "banks.citic"))
    assert not np.array_equal(draws(a, "banks.citic"), draws(a, "banks.icbc"))
    assert not np.array_equal(draws(a, "banks.citic"), draws(ChannelModel(scenario, seed=4), "banks.citic"))
    # The learning streams are children of the decision stream, not the stream itself.
    assert not np.array_equal(draws(a, "banks.citic"), np.random.default_rng(a._decision_seed).random(4))


class _SplitOnlyBank:
    """A bank reduced to a budget split over two channels, for the learner alone (no market)."""

    kind, institution_id, lever_key, partnerships = "bank", "b", "banks.b", []

    def __init__(self, seed: int):
        self.levers = SimpleNamespace(offers={}, marketing=SimpleNamespace(budget=100.0, split={"a": 0.5, "b": 0.5}))
        self.model = SimpleNamespace(learning_rng=lambda key: np.random.default_rng(seed))

    def set_lever(self, path, value, **_):
        assert path == "marketing.split"
        self.levers.marketing.split = value


def _split_path(policy, seed: int, periods: int, unit: float = 1.0) -> list[float]:
    """Channel a's share after each decision of a split learner whose profit (in ``unit``) rises with that share."""
    agent, memory, noise = _SplitOnlyBank(seed), DecisionMemory(), np.random.default_rng(10_000 + seed)
    path = []
    for period in range(periods):
        profit = unit * (10.0 * agent.levers.marketing.split["a"] + noise.standard_normal())
        learn(agent, SimpleNamespace(profit=profit, step=period, premiums=0.0, claims=0.0), memory, policy)
        path.append(agent.levers.marketing.split["a"])
    return path


def test_the_split_learner_decides_the_same_whatever_the_profits_unit():
    # Doubling every profit (a market twice as large) or counting it in another unit leaves every move unchanged.
    policy = load_scenario(BASELINE, {"banks.citic.policy.kind": "learning", "banks.citic.policy.budget_change": 0.0,
                                      "banks.citic.policy.budget_step": 0.1}).banks["citic"].policy
    for seed in range(10):
        path = _split_path(policy, seed, 40)
        assert _split_path(policy, seed, 40, unit=2.0) == path
        assert _split_path(policy, seed, 40, unit=10_000.0) == path
    assert len(set(_split_path(policy, 0, 40))) > 2          # not vacuous: the split does move


def test_the_split_learner_moves_the_budget_toward_the_channel_that_pays():
    # Profit rises with channel a's share (10 a period for all of it) plus noise of sd 1: the learner, reinforced
    # by that profit alone, should end with most of its budget on a.  40 quarterly decisions, 100 learners.
    policy = load_scenario(BASELINE, {"banks.citic.policy.kind": "learning", "banks.citic.policy.budget_change": 0.0,
                                      "banks.citic.policy.budget_step": 0.1}).banks["citic"].policy
    finals = np.array([_split_path(policy, seed, 40)[-1] for seed in range(100)])
    # Measured: channel a holds 83% of the budget at the end on average (SE 3.1 points), from 50%.
    assert finals.mean() - 3 * finals.std(ddof=1) / np.sqrt(finals.size) > 0.6


def test_a_learning_insurer_moves_its_premium_by_at_most_its_step():
    insurer, scenario = insurer_market(kind="learning", premium_step=0.1, premium_bounds={"low": 0.02, "high": 0.2})
    model = ChannelModel(scenario, seed=2)
    model.run()
    changes = [c for c in model.levers.log if c.owner == f"insurers.{insurer}" and c.source == "decision"]
    assert changes and all(c.reason.startswith("learning: premium") for c in changes)
    for change in changes:
        assert abs(change.after - change.before) <= 0.1 * change.before + 1e-12
        assert 0.02 - 1e-12 <= change.after <= 0.2 + 1e-12


def test_the_round_view_counts_relationships_lazily_and_only_in_its_own_round():
    model = ChannelModel(load_scenario(BASELINE, {**SMALL, "decisions.every": 3}), seed=1)
    while model.period is None:
        model.step()
    view = model.period
    provider, channel = model.state.provider, model.state.channel
    expected = np.array([[[np.count_nonzero((provider[:, k] == i) & (channel[:, k] == c))
                           for k in range(provider.shape[1])] for c in range(model.catalog.n_channels)]
                         for i in range(model.catalog.n_institutions)])
    np.testing.assert_array_equal(view.via, expected)
    margins = model.margins
    for i, c in [(0, 0), (1, 2)]:
        brought = (margins.institution == i) & (margins.channel == c)
        assert view.channel_margin[i, c] == pytest.approx(margins.margin[brought].sum(), rel=1e-12, abs=1e-9)
    model.step()
    # What the view counted stays; what it has not counted cannot be counted once its round is over.
    np.testing.assert_array_equal(view.via, expected)
    fresh = ChannelModel(load_scenario(BASELINE, {**SMALL, "decisions.every": 3}), seed=1)
    while fresh.period is None:
        fresh.step()
    stale = fresh.period
    fresh.step()
    with pytest.raises(RuntimeError, match="is read at step"):
        _ = stale.via


def test_the_posted_terms_are_those_of_the_levers_now_after_a_change_by_set_lever_or_a_decision():
    from sim.model.observation import posted_terms

    scenario = load_scenario(BASELINE, {**SMALL, "decisions.every": 1})
    model = ChannelModel(scenario, seed=1)
    model.run(2)
    assert model.posted == posted_terms(model.current_scenario())
    price = model.institution("icbc").levers.offers["payments"].price
    model.set_lever("banks.icbc.offers.payments.price", price + 0.25)
    model.set_lever("banks.citic.referral.bonus", 12.0)
    model.run(1)
    assert model.posted_before["icbc"]["prices"]["payments"] == price
    assert model.posted["icbc"]["prices"]["payments"] == price + 0.25
    assert model.posted["citic"]["bonus"] == 12.0
    assert model.posted == posted_terms(model.current_scenario())
    model.run(1)                                       # nothing changed: the same terms again
    assert model.posted == model.posted_before == posted_terms(model.current_scenario())
