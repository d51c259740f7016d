"""Spend buys reach, frequency and attribution (docs/ODD.md, "Exposure", "Frequency", "Attribution").

- the response curve: the measured exposure share per step of a channel
  equals p_max (1 - exp(-spend / s0)) of the scenario's (default) curves, at
  several spends, within binomial error;
- a budget spends budget x split x N / 1,000 yuan a step on each channel, and
  a lever that moves it derives the spend again;
- repeat exposures count with probability repeat_decay^m; a rejected
  applicant waits its cool-down;
- one attribution rule: the channels table's new_customers equals the funnel
  table's active count per (step, institution, channel) in a baseline run;
- bad spend, split and response input is refused by ``sim run`` with exit 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import load_scenario
from sim.cli import main
from sim.core.adoption.exposure import response
from sim.core.adoption.frequency import counting_touches
from sim.core.codes import Channel, Stage
from sim.core.touches import Touches
from sim.model import ChannelModel
from sim.scenario import with_overrides
from sim.scenario.schema import ResponseSpec

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CURVES = ResponseSpec().model_dump()
#: Nobody converts and nobody refers: touches only reflect exposure.
PASSIVE = {"population": {"size": 5_000}, "time": {"steps": 6}, "funnel": {"interest": 0.0},
           "choice": {"switching": 0.0}, "banks": {"b": {"referral": {"enabled": False}}}}


def within_binomial(count: int, trials: int, p: float, z: float = 4.0) -> bool:
    return abs(count - trials * p) <= z * np.sqrt(trials * p * (1 - p)) + 1e-9


# ----------------------------------------------------------------------------- the response curve
@pytest.mark.parametrize("channel, spend", [("branch", 500.0), ("branch", 4_000.0), ("branch", 20_000.0),
                                            ("platform", 100.0), ("platform", 1_500.0), ("platform", 6_000.0)])
def test_measured_exposure_follows_the_default_response_curve(make_scenario, channel, spend):
    """Exposure share per step = p_max (1 - exp(-spend / s0)) of the documented default curve."""
    curve = DEFAULT_CURVES[channel]
    change = {"marketing": {"response": DEFAULT_CURVES}}
    if channel == "branch":
        change["banks"] = {"b": {"branch": {"coverage": [1, 1, 1, 1], "spend": spend}}}
    else:
        change["platforms"] = {"shop": {"type": "scenario", "users": 0.5}}
        change["partnerships"] = {"deal": {"bank": "b", "platform": "shop", "spend": spend}}
    model = ChannelModel(make_scenario(PASSIVE, change), seed=11)
    model.run()
    channels = model.tables()["channels"]
    label = "branch" if channel == "branch" else "platform:shop"
    rows = channels[(channels.channel == label) & (channels.step >= 1)]
    reach = model.state.branch_reach[:, 0] if channel == "branch" else model.state.platform_user[:, 0]
    reachable = int(reach.sum())
    p = float(response(spend, curve["p_max"], curve["s0"]))
    # One offer: each touch is one reachable customer exposed in one step, aware or not.
    assert within_binomial(int(rows.touches.sum()), reachable * 6, p), (rows.touches.sum() / reachable / 6, p)
    # Spend = spend per 1,000 reachable x reachable / 1,000, every step (no fixed fee).
    assert rows.spend.to_numpy() == pytest.approx(np.full(6, spend * reachable / 1_000))


# ----------------------------------------------------------------------------- budgets
BUDGET = {"population": {"size": 4_000}, "time": {"steps": 3},
          "platforms": {"shop": {"type": "scenario", "users": 0.3}},
          "partnerships": {"deal": {"bank": "b", "platform": "shop"}},
          "banks": {"b": {"offers": {"payments": {"initial_share": 0.1}},
                          "branch": {"coverage": [1, 1, 0.5, 0]},
                          "own_app": {"followers": 0.05},
                          "marketing": {"budget": 250.0, "split": {"branch": 0.5, "own_app": 0.2, "deal": 0.3}}}}}


def test_a_budget_spends_its_split_of_the_population_on_each_channel(make_scenario):
    model = ChannelModel(make_scenario(BUDGET), seed=3)
    model.step()
    spend = model.ledger.spend_by_channel[0]
    per_channel = 250.0 * 4_000 / 1_000
    assert spend[Channel.BRANCH] == pytest.approx(0.5 * per_channel)
    assert spend[Channel.OWN_APP] == pytest.approx(0.2 * per_channel)
    traffic = spend[model.catalog.platform_channel(0)] - model.catalog.partner_fee[0] * model.ledger.new_by_channel[
        0, model.catalog.platform_channel(0)]
    assert traffic == pytest.approx(0.3 * per_channel)
    assert spend[Channel.LIVE_STREAM] == 0.0                  # not in the split (and not streaming)
    # The exposure probability is the curve at the per-reachable spend the budget buys (unit curve: p = 1 - e^-s/1000).
    reach = int(model.state.branch_reach[:, 0].sum())
    p = 1 - np.exp(-(0.5 * 250.0 * 4_000 / reach) / 1_000)
    assert within_binomial(int(model._touch_counts[0, Channel.BRANCH]), reach, p)


def test_budget_and_split_are_levers_that_derive_the_spend_again(make_scenario):
    model = ChannelModel(make_scenario(BUDGET), seed=3)
    model.step()
    model.set_lever("banks.b.marketing.budget", 500.0, reason="test")
    model.set_lever("banks.b.marketing.split", {"branch": 0.1, "own_app": 0.1, "deal": 0.8}, reason="test")
    assert model.catalog.budget[0] == 500.0
    assert model.catalog.partner_budget_share.tolist() == [0.8]
    model.step()
    spend = model.ledger.spend_by_channel[0]
    assert spend[Channel.BRANCH] == pytest.approx(0.1 * 500.0 * 4)
    assert spend[Channel.OWN_APP] == pytest.approx(0.1 * 500.0 * 4)


# ----------------------------------------------------------------------------- frequency
def test_a_repeat_exposure_counts_with_probability_decay_to_the_m(make_scenario):
    model = ChannelModel(make_scenario({"population": {"size": 40_000}, "funnel": {"repeat_decay": 0.6}}), seed=2)
    state, cat = model.state, model.catalog
    n = model.network.size
    m = np.repeat(np.arange(4, dtype=np.uint8), n // 4)       # 0, 1, 2, 3 earlier exposures
    state.exposures[:, 0] = m
    ads = Touches.of(np.arange(n), 0, Channel.BRANCH)
    kept = counting_touches(ads, state, cat, 3, np.random.default_rng(5))
    counted = np.zeros(n, dtype=bool)
    counted[kept.customer] = True
    for earlier in range(4):
        assert within_binomial(int(counted[m == earlier].sum()), n // 4, 0.6 ** earlier)
    assert (state.exposures[:, 0] == m + 1).all(), "each exposure of a non-customer adds one"
    # Word of mouth always counts; a customer of the product is not counted.
    referrals = Touches.of(np.arange(n), 0, Channel.REFERRAL)
    assert len(counting_touches(referrals, state, cat, 3, np.random.default_rng(6))) == n
    state.exposures[:, 0] = 200
    state.begin(np.arange(n // 2), 0, 0, 0, 3)
    kept = counting_touches(ads, state, cat, 3, np.random.default_rng(7))
    assert np.isin(np.arange(n // 2), kept.customer).all(), "holders' touches count (they do not enter the funnel)"
    assert (state.exposures[: n // 2, 0] == 200).all() and (state.exposures[n // 2:, 0] == 201).all()
    state.exposures[:, 0] = 255
    counting_touches(ads, state, cat, 3, np.random.default_rng(8))
    assert (state.exposures[:, 0] == 255).all(), "the counter saturates"


def _everyone_rejected_every_time(make_scenario, reapply_after: int, steps: int) -> tuple[ChannelModel, pd.Series]:
    """Everyone exposed every step (p = 1) and every application refused; the applications by step."""
    ones = {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 0.0, "reapply_after": reapply_after,
            "repeat_decay": 1.0}
    model = ChannelModel(make_scenario({"population": {"size": 500}, "funnel": ones,
                                        "banks": {"b": {"referral": {"enabled": False},
                                                        "branch": {"coverage": [1, 1, 1, 1], "spend": 1.0e5}}}}),
                         seed=4)
    model.run(steps)
    funnel = model.tables()["funnel"]
    applied = funnel[funnel.stage == "applied"].groupby("step")["reached"].sum()
    return model, applied.reindex(range(1, steps + 1), fill_value=0)


def test_a_rejected_applicant_reapplies_after_the_cool_down(make_scenario):
    model, applied = _everyone_rejected_every_time(make_scenario, reapply_after=3, steps=8)
    # Rejected at step 1, they apply again at 4 and 7 only.
    assert applied.loc[[1, 4, 7]].tolist() == [500, 500, 500]
    assert applied.drop([1, 4, 7]).sum() == 0
    assert (model.state.stage[:, 0] == Stage.REJECTED).all()


def test_without_a_cool_down_a_rejected_applicant_applies_again_at_once(make_scenario):
    model, applied = _everyone_rejected_every_time(make_scenario, reapply_after=0, steps=5)
    assert applied.tolist() == [500] * 5
    assert (model.state.stage[:, 0] == Stage.REJECTED).all()


def test_churned_customers_are_won_back(make_scenario):
    model = ChannelModel(make_scenario({
        "population": {"size": 2_000}, "time": {"steps": 24},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0},
        "banks": {"b": {"retention": 0.2, "referral": {"enabled": False},
                        "branch": {"coverage": [1, 1, 1, 1], "spend": 50.0}}}}), seed=8)
    model.run()
    first_seen = {}
    won_back = 0
    for step, customers, _ in model._activations:
        won_back += int(np.isin(customers, list(first_seen)).sum())
        first_seen.update(dict.fromkeys(customers.tolist(), step))
    assert won_back > 0, "no churned customer came back"


# ----------------------------------------------------------------------------- attribution
def test_channel_acquisitions_equal_the_funnels_active_count_in_a_baseline_run():
    """One attribution rule: every (step, institution, channel) cell agrees exactly; switchers are in neither."""
    scenario = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"),
                              {"population.size": 3_000, "time.steps": 24})
    model = ChannelModel(scenario, seed=5)
    model.run()
    tables = model.tables()
    channels, funnel, market = tables["channels"], tables["funnel"], tables["market"]
    keys = ["step", "institution", "channel"]
    new = channels.groupby(keys)["new_customers"].sum()
    active = funnel[funnel.stage == "active"].groupby(keys)["reached"].sum()
    both = pd.concat([new, active], axis=1).fillna(0).astype(int)
    assert both["new_customers"].sum() > 500
    assert (both["new_customers"] == both["reached"]).all()
    assert channels["switched_in"].sum() == market["switched"].sum() > 0
    # The relationship's channel is the one credited: relationships by channel = acquisitions kept.
    assert (model.state.channel[model.state.provider < 0] == -1).all()


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, path, words", [
    ({"banks": {"icbc": {"marketing": {"budget": 100.0, "split": {"branch": 0.5, "own_app": 0.3}}}}},
     "banks.icbc.marketing", ["split must sum to 1"]),
    ({"banks": {"icbc": {"marketing": {"split": {"branch": 0.5, "billboards": 0.5}}}}},
     "banks.icbc.marketing.split.billboards", ["not a paid channel", "own_app"]),
    ({"banks": {"icbc": {"marketing": {"budget": 100.0}}}}, "banks.icbc.marketing", ["needs a split"]),
    ({"marketing": {"response": {"branch": {"p_max": 1.5, "s0": 100.0}}}}, "marketing.response.branch.p_max",
     ["less than or equal to 1"]),
    ({"marketing": {"response": {"own_app": {"p_max": 0.0, "s0": 100.0}}}}, "marketing.response.own_app.p_max",
     ["greater than 0"]),
    ({"marketing": {"response": {"platform": {"p_max": 0.1, "s0": 0.0}}}}, "marketing.response.platform.s0",
     ["greater than 0"]),
    ({"banks": {"icbc": {"branch": {"spend": -10.0}}}}, "banks.icbc.branch.spend", ["greater than or equal to 0"]),
    ({"partnerships": {"icbc_chatpay": {"spend": -1.0}}}, "partnerships.icbc_chatpay.spend",
     ["greater than or equal to 0"]),
    ({"banks": {"icbc": {"marketing": {"budget": -5.0, "split": {"branch": 1.0}}}}}, "banks.icbc.marketing.budget",
     ["greater than or equal to 0"]),
])
def test_bad_marketing_input_exits_2_naming_file_and_key(tmp_path, capsys, change, path, words):
    data = {"name": "bad_marketing", "extends": str(ROOT / "scenarios" / "baseline.yaml"),
            "population": {"size": 300}, "time": {"steps": 2}, "replications": 1, **change}
    file = tmp_path / "bad_marketing.yaml"
    file.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(file), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad_marketing.yaml" in err and path in err and "Traceback" not in err
    for word in words:
        assert word in err
    assert not out.exists()


# ----------------------------------------------------------------------------- size invariance
def _cac_by_channel(size: int, replications: int, steps: int = 24) -> pd.DataFrame:
    """Whole-run CAC (spend / acquisitions, steps 1..) per replication, bank and paid channel."""
    base = with_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"),
                          {"population.size": size, "time.steps": steps})
    rows = []
    for r, seed in enumerate(np.random.SeedSequence(77).spawn(replications)):
        model = ChannelModel(base, seed=seed)
        model.run()
        channels = model.tables()["channels"]
        paid = channels[(channels.step >= 1) & channels.institution.isin(list(base.banks))
                        & (channels.channel.isin(["branch", "own_app"]) | channels.channel.str.startswith("platform:"))]
        totals = paid.groupby(["institution", "channel"])[["spend", "new_customers"]].sum()
        rows.append((totals.spend / totals.new_customers).rename(r))
    return pd.concat(rows, axis=1)


@pytest.mark.slow  # 8 runs of the baseline, up to 30,000 customers
def test_cac_by_channel_does_not_depend_on_the_population_size():
    """CAC by channel at 3,000 and 30,000 customers: the 95% intervals over replications overlap."""
    small, large = _cac_by_channel(3_000, 5), _cac_by_channel(30_000, 3)
    for cac in (small, large):
        assert cac.notna().all().all() and len(cac) >= 8

    def interval(cac: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        mean, se = cac.mean(axis=1), cac.std(axis=1, ddof=1) / np.sqrt(cac.shape[1])
        t = {3: 4.303, 5: 2.776}[cac.shape[1]]          # Student t, 95%, n - 1 degrees of freedom
        return mean - t * se, mean + t * se

    (low_s, high_s), (low_l, high_l) = interval(small), interval(large)
    overlap = (low_s <= high_l) & (low_l <= high_s)
    assert overlap.all(), pd.DataFrame({"small": small.mean(axis=1), "large": large.mean(axis=1)})[~overlap]
    # A fixed fee would make CAC fall tenfold from 3,000 to 30,000 customers; the means stay within a third.
    ratio = large.mean(axis=1) / small.mean(axis=1)
    assert ((ratio > 0.67) & (ratio < 1.5)).all(), ratio
