"""Pooled payback age (:mod:`sim.experiments.payback`): by hand on a tiny cohorts table, and as the summary's figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiments.payback import crossing_age, pooled_payback
from sim.experiments.summary import summarize

HORIZON = 4


def cohort_rows(replication, cohort, institution, channel, cost, margins, ages=None, acquired=2):
    """Rows of one cohort cell: cumulative margins at the given ages (default 0, 1, ...)."""
    ages = list(range(len(margins))) if ages is None else ages
    return pd.DataFrame({"replication": replication, "cohort": cohort, "institution": institution,
                         "channel": channel, "product": "p", "age": ages, "step": [cohort + a for a in ages],
                         "cumulative_margin": margins, "acquisition_cost": cost, "acquired": acquired})


@pytest.fixture
def cohorts():
    return pd.concat([
        # Observed to age 3 (1 + 3 = T): pays back on its own at age 3.
        cohort_rows(0, 1, "a", "branch", 10.0, [2.0, 5.0, 8.0, 12.0]),
        # Its customers are gone after age 1 (no later rows): its cumulative margin stays 8 at age 2.
        cohort_rows(0, 2, "b", "branch", 10.0, [4.0, 8.0]),
        # Held before the run: ignored.
        cohort_rows(0, 0, "a", "branch", 0.0, [100.0, 200.0, 300.0, 400.0, 500.0]),
        # A channel that cost nothing has no payback age.
        cohort_rows(0, 1, "a", "referral", 0.0, [1.0, 2.0, 3.0, 4.0]),
        # Another replication: margin 10 against cost 10 at age 1 (equality pays back).
        cohort_rows(1, 3, "a", "branch", 10.0, [3.0, 10.0]),
    ], ignore_index=True)


def test_pooled_payback_by_hand(cohorts):
    ages = pooled_payback(cohorts).set_index(["replication", "channel"])["payback_age"]
    # Replication 0, branch, 2 customers per cohort, CAC = 20 / 4 = 5.  Margin per customer observed:
    # age 0: (2 + 4) / 4 = 1.5; age 1: (3 + 4) / 4 = 1.75; age 2: (3 + 0) / 4 = 0.75 (the cohort of step 2
    # earned nothing, still counted); age 3: only the cohort of step 1 was observed (2 + 3 > T): 4 / 2 = 2.
    # V = 1.5, 3.25, 4, 6: the crossing of 5 is 2 + (5 - 4) / (6 - 4) = 2.5.
    assert ages[(0, "branch")] == pytest.approx(2.5)
    assert np.isnan(ages[(0, "referral")])
    assert ages[(1, "branch")] == pytest.approx(1.0), "V = 1.5 then exactly 5"
    assert len(ages) == 3


def test_pooled_payback_by_institution_and_channel(cohorts):
    ages = pooled_payback(cohorts, by=("institution", "channel")).set_index(
        ["replication", "institution", "channel"])["payback_age"]
    assert ages[(0, "a", "branch")] == pytest.approx(2.5)
    assert np.isnan(ages[(0, "b", "branch")]), "V = 2, 4, 4 never reaches 5"


def test_unattributed_spend_is_part_of_the_cost(cohorts):
    """Spend in a step in which the channel acquired nobody adds to the group's CAC (idle steps of small runs)."""
    channels = pd.DataFrame({"replication": [0, 0, 1, 0], "step": [3, 4, 1, 0], "institution": ["a", "b", "a", "a"],
                             "channel": ["branch"] * 4, "unattributed_spend": [2.0, 2.0, 0.0, 50.0]})
    ages = pooled_payback(cohorts, channels=channels).set_index(["replication", "channel"])["payback_age"]
    # Replication 0: CAC = (20 + 2 + 2) / 4 = 6 (step 0 is the set-up, not the run): V = 1.5, 3.25, 4, 6 reaches 6
    # exactly at age 3.  Replication 1 had none: unchanged.
    assert ages[(0, "branch")] == pytest.approx(3.0)
    assert ages[(1, "branch")] == pytest.approx(1.0)
    by = pooled_payback(cohorts, by=("institution", "channel"), channels=channels).set_index(
        ["replication", "institution", "channel"])["payback_age"]
    # Institution a alone, replication 0: CAC = (10 + 2) / 2 = 6; V = 1, 2.5, 4, 6.
    assert by[(0, "a", "branch")] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="group by institution and channel only"):
        pooled_payback(cohorts, by=("product",), channels=channels)


def test_crossing_age_interpolates_and_is_zero_when_age_0_pays_back():
    margin = np.array([[12.0, 20.0, 30.0], [0.0, 5.0, 15.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    cost = np.array([[10.0, 10.0, 10.0], [10.0, 10.0, 10.0], [10.0, 10.0, 10.0], [0.0, 0.0, 0.0]])
    ages = crossing_age(margin, cost)
    assert ages[0] == 0.0
    assert ages[1] == pytest.approx(1.5)          # 5 -> 15 crosses 10 half-way
    assert np.isnan(ages[2]) and np.isnan(ages[3]), "never reached; nothing to pay back"


def test_pooled_payback_rejects_an_unknown_grouping(cohorts):
    with pytest.raises(ValueError, match="allowed: cohort, institution, channel, product"):
        pooled_payback(cohorts, by=("tier",))


def test_no_cohort_of_the_run_gives_an_empty_frame(cohorts):
    frame = pooled_payback(cohorts[cohorts["cohort"] == 0])
    assert frame.empty and list(frame.columns) == ["replication", "channel", "payback_age"]


def test_summary_payback_is_the_pooled_payback_and_the_per_cohort_one_is_kept(make_scenario):
    import sim
    from tests.core.adoption.test_economics import MARKET

    # 200 customers: some steps acquire nobody through a channel, so there is unattributed spend to count.
    result = sim.run(make_scenario(MARKET, {"time": {"steps": 12}, "population": {"size": 200}}), replications=3,
                     seed=5)
    cohorts = result.tables["cohorts"]
    value = summarize(result.tables)["customer_value"]
    channels = result.tables["channels"]
    pooled = pooled_payback(cohorts, channels=channels)
    checked = 0
    for channel, rows in pooled.groupby("channel"):
        entry = value["by_channel"][channel]
        ages = rows["payback_age"]
        assert entry["payback_age"]["n"] == int(ages.notna().sum())
        if ages.notna().any():
            assert entry["payback_age"]["mean"] == pytest.approx(ages.mean())
            checked += 1
        assert "cohort_payback_age" in entry and "paid_back_share" in entry
    assert checked >= 1
    # The CAC counts the channel's idle-step spend with its cohorts' costs: its whole spend over acquisitions.
    from sim.experiments.summary import cohort_ends

    ends = cohort_ends(cohorts)
    idle = channels[channels["step"] >= 1].groupby(["channel", "replication"])["unattributed_spend"].sum()
    assert idle.sum() > 0
    for channel, rows in ends.groupby("channel"):
        per_rep = rows.groupby("replication")[["acquisition_cost", "acquired"]].sum()
        cost = per_rep["acquisition_cost"] + idle.loc[channel].reindex(per_rep.index, fill_value=0.0)
        cac = (cost / per_rep["acquired"].where(per_rep["acquired"] > 0)).dropna()
        if len(cac):
            assert value["by_channel"][channel]["cac"]["mean"] == pytest.approx(cac.mean())
    by_institution = pooled_payback(cohorts, by=("institution", "channel"), channels=channels)
    first = by_institution.dropna().iloc[0]
    rows = by_institution[(by_institution.institution == first.institution)
                          & (by_institution.channel == first.channel)]
    entry = value["by_institution"][first.institution][first.channel]["payback_age"]
    assert entry["mean"] == pytest.approx(rows["payback_age"].mean())
