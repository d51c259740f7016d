"""The declared target metrics on hand-made tables: each gives the figure computed by hand."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from sim.experiments.target_metrics import METRICS, MetricUnavailable, check_metric, measure


def scenario(**extra):
    base = dict(time=SimpleNamespace(unit="month", steps=12),
                banks={"citic": SimpleNamespace(employee_media=SimpleNamespace(staff_share=0.01))},
                products={"card": SimpleNamespace(kind="credit", loan=SimpleNamespace(term=12)),
                          "pay": SimpleNamespace(kind="payments", loan=None)},
                platforms={"fm": SimpleNamespace(users=0.1)}, population=SimpleNamespace(size=1000),
                credit=SimpleNamespace(peer_effect=1.0))
    base.update(extra)
    return SimpleNamespace(**base)


def test_employee_clicks_and_conversion():
    channels = pd.DataFrame({"step": [0, 1, 2, 2], "institution": ["citic"] * 4,
                             "channel": ["employee", "employee", "employee", "branch"],
                             "touches": [999, 500, 340, 77], "new_customers": [99, 100, 80, 5]})
    tables = {"channels": channels}
    assert measure("clicks_per_employee", {"institution": "citic"}, tables, scenario()) == pytest.approx(84.0)
    assert measure("conversion_per_click", {"institution": "citic"}, tables, scenario()) == pytest.approx(180 / 840)


def test_annual_retention_compounds_the_monthly_hazard():
    inst = pd.DataFrame({"step": [0, 1, 2], "institution": ["p"] * 3, "customers": [1000, 990, 980],
                         "churned": [0, 10, 10]})
    hazard = 20 / 1990
    assert measure("annual_retention", {"institution": "p"}, {"institutions": inst}, scenario()) == pytest.approx(
        (1 - hazard) ** 12)


def test_cards_per_user_per_half_year():
    funnel = pd.DataFrame({"stage": ["active", "active", "aware", "active"], "product": ["card", "pay", "card", "card"],
                           "channel": ["platform:fm", "platform:fm", "platform:fm", "branch"],
                           "reached": [4, 50, 70, 9]})
    # 4 cards in 12 months = 2 half-years, 100 platform users.
    assert measure("cards_per_user_half_year", {"platform": "fm"}, {"funnel": funnel}, scenario()) == pytest.approx(
        4 / 2 / 100)


def test_inside_outside_default_ratio_and_p2p_failures():
    credit = pd.DataFrame({"institution": ["s", "s", "x"], "inside_community": [True, False, True],
                           "defaults": [1, 50, 9], "loans_at_risk": [1000, 500, 10]})
    assert measure("default_ratio_inside_outside", {"institution": "s"}, {"credit": credit}, scenario()) == (
        pytest.approx((1 / 1000) / (50 / 500)))
    inst = pd.DataFrame({"step": [3, 3, 3, 2], "institution": ["a", "b", "c", "a"],
                         "type": ["p2p", "p2p", "bank", "p2p"], "failed": [True, False, False, False],
                         "replication": 0})
    assert measure("p2p_failure_share", {}, {"institutions": inst}, scenario()) == pytest.approx(0.5)


def test_peer_repayment_effect_and_unavailable_tables():
    market = pd.DataFrame({"step": [0, 1, 2], "borrowers": [100, 100, 100], "new_defaults": [0, 2, 2],
                           "contagion_defaults": [0, 1, 1]})
    h = 2 / 200
    assert measure("peer_repayment_effect", {}, {"market": market}, scenario()) == pytest.approx(
        (1 - h) ** 12 - (1 - 2 * h) ** 12)
    with pytest.raises(MetricUnavailable, match="cohorts"):
        measure("referred_value_premium", {}, {"market": market}, scenario())


def test_referred_value_premium_from_cohorts():
    rows = []
    for channel, acquired, margin in (("referral", 10, 120.0), ("branch", 20, 200.0)):
        for age in (0, 1, 2):
            rows.append({"cohort": 1, "institution": "b", "channel": channel, "product": "pay", "age": age,
                         "acquired": acquired, "margin": margin / 3})
    rows.append({"cohort": 0, "institution": "b", "channel": "none", "product": "pay", "age": 0, "acquired": 500,
                 "margin": 0.0})
    value = measure("referred_value_premium", {}, {"cohorts": pd.DataFrame(rows)}, scenario())
    assert value == pytest.approx(12 / 10 - 1)


def test_check_metric_names_what_is_wrong():
    assert check_metric("annual_retention", {"institution": "x"}) is None
    assert check_metric("key:active", {}) is None
    assert check_metric("nope", {}).path == "metric"
    assert check_metric("annual_retention", {}).path == "args"
    assert set(METRICS) >= {"clicks_per_employee", "p2p_failure_share", "peer_repayment_effect"}
