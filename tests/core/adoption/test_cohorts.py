"""Cohort accounts (:mod:`sim.core.adoption.cohorts`, ``cohorts.parquet``) checked against the run's own tables.

Σ cohort margins = the institutions' margin; cohort acquisition costs plus
unattributed spend = acquisition spend; acquisitions = the channels table's
new customers; retention = the product of per-step survival measured from
the relationships that ended; every ended relationship is a churn or a
switch of the institutions table; LTV and payback by hand on a tiny book.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.core.adoption.cohorts import CohortBook, Earnings, cohort_rows, cohort_values, step_discount_rate
from sim.core.adoption.economics import relationship_margin
from sim.model import ChannelModel
from tests.core.adoption.test_economics import MARKET

STEPS = 10
COHORT = ["cohort", "institution", "channel", "product"]


@pytest.fixture(scope="module")
def run(make_scenario):
    # Bank c streams to nobody (no app followers): spend that buys no cohort.
    idle_stream = {"banks": {"c": {"live_stream": {"enabled": True, "spend": 50.0}}}}
    model = ChannelModel(make_scenario(MARKET, {"time": {"steps": STEPS}}, idle_stream), seed=5)
    margins = []
    for _ in range(STEPS):
        model.step()
        cat = model.catalog
        mine = relationship_margin(model.state, cat, model.credit.book if model.credit is not None else None)
        per_institution = np.bincount(mine.institution, weights=mine.margin, minlength=cat.n_institutions)
        margins.append((per_institution, model.ledger.margin.copy()))
    return model, model.tables(), margins


def test_the_margin_function_sums_to_the_ledger_margin_every_step(run):
    _, _, margins = run
    for mine, ledger in margins:
        assert mine == pytest.approx(ledger, rel=1e-9, abs=1e-9)
    assert any(np.any(ledger != 0) for _, ledger in margins)


def test_cohort_margins_add_up_to_the_institutions_margin(run):
    _, tables, _ = run
    cohorts, inst = tables["cohorts"], tables["institutions"]
    initial = cohorts[cohorts.cohort == 0]
    assert not initial.empty and set(initial.channel) == {"none"}, "relationships held at step 0 form cohort 0"
    assert (cohorts[cohorts.step == 0].margin == 0).all(), "step 0 is a state; it earns nothing"
    by_cohorts = cohorts.groupby("institution").margin.sum()
    by_ledger = inst[inst.step >= 1].groupby("institution").margin.sum()
    held = by_ledger.index[by_ledger != 0]
    assert len(held) >= 2
    for institution in held:
        assert by_cohorts[institution] == pytest.approx(by_ledger[institution], rel=1e-6)
    assert cohorts.margin.sum() == pytest.approx(inst[inst.step >= 1].margin.sum(), rel=1e-6)
    assert inst.margin.to_numpy() == pytest.approx((inst.revenue - inst.funding_cost - inst.service_cost
                                                    - inst.revenue_share_paid).to_numpy())


def test_acquisitions_and_their_cost_add_up_to_the_channels_and_the_ledger(run):
    _, tables, _ = run
    cohorts, channels, inst = tables["cohorts"], tables["channels"], tables["institutions"]
    first = cohorts[(cohorts.cohort > 0) & (cohorts.age == 0)]
    assert not first.duplicated(COHORT).any()
    assert (first.active == first.acquired).all(), "every acquisition is held at the end of its step"
    won = first.groupby(["cohort", "institution", "channel"]).acquired.sum()
    during = channels[channels.step >= 1]
    cells = during.set_index(["step", "institution", "channel"])
    # A cohort's relationships are the cell's acquisitions and the relationships won from rivals by switching.
    new = (cells.new_customers + cells.switched_in)[lambda x: x > 0]
    won.index = won.index.set_names(["step", "institution", "channel"])
    pd.testing.assert_series_equal(won.sort_index(), new.sort_index(), check_names=False, check_dtype=False)
    assert cells.switched_in.sum() > 0, "the scenario has switchers"
    cost = first.acquisition_cost.sum() + during.unattributed_spend.sum()
    assert cost == pytest.approx(inst[inst.step >= 1].acquisition_spend.sum(), rel=1e-9)
    assert during.unattributed_spend.sum() > 0, "the scenario has spend in steps without acquisitions"
    # A cell's cohorts cost its CAC times its acquisitions through the funnel; switchers cost nothing.
    paid = first.groupby(["cohort", "institution", "channel"]).acquisition_cost.sum()
    paid.index = paid.index.set_names(["step", "institution", "channel"])
    expected = (cells.cac.fillna(0.0) * cells.new_customers).loc[paid.index]
    assert paid.to_numpy() == pytest.approx(expected.to_numpy())


def test_retention_is_the_product_of_survival_measured_from_relationships_that_ended(run):
    _, tables, _ = run
    cohorts, inst = tables["cohorts"], tables["institutions"]
    checked = 0
    for _, rows in cohorts.groupby(COHORT):
        rows = rows.sort_values("age")
        ages = rows.age.to_numpy()
        assert (ages == np.arange(ages[0], ages[0] + ages.size)).all(), "a cohort's ages have no gaps"
        active, lost = rows.active.to_numpy(), rows.lost.to_numpy()
        assert (active[1:] == active[:-1] - lost[1:]).all()
        survival = 1.0 - lost[1:] / active[:-1]
        expected = np.concatenate([[1.0], np.cumprod(survival)]) * active[0] / rows.acquired.iloc[0]
        assert rows.retention.to_numpy() == pytest.approx(expected, rel=1e-12)
        checked += int(lost.sum() > 0)
    assert checked > 5
    # Without credit, a relationship ends by churn or by switching away: the institutions' `churned`.
    ended = cohorts[cohorts.step >= 1].groupby(["step", "institution"]).lost.sum()
    churned = inst[inst.step >= 1].set_index(["step", "institution"]).churned
    assert ended.reindex(churned.index, fill_value=0).to_numpy() == pytest.approx(churned.to_numpy())


def test_payback_and_lifetime_value_by_hand():
    """One institution, one channel, one product; customer 0 held at step 0, customers 1 and 2 won at step 1."""
    book = CohortBook(n_institutions=1, n_channels=1, n_products=1)
    state = SimpleNamespace(provider=np.array([[0], [-1], [-1]]), channel=np.array([[-1], [-1], [-1]]),
                            since=np.array([[0], [-1], [-1]]))
    book.observe(0, state, [np.array([0])], None)
    state.provider[1:, 0], state.channel[1:, 0], state.since[1:, 0] = 0, 0, 1
    book.acquire(1, np.array([0, 0]), np.array([0, 0]), np.array([0, 0]), spend=np.array([[10.0]]))
    won = [np.array([0, 1, 2])]
    book.observe(1, state, won, Earnings.per_relationship(won, [np.array([3.0, 3.0, 3.0])], book))
    state.provider[2, 0], state.channel[2, 0], state.since[2, 0] = -1, -1, -1   # customer 2 leaves at step 2
    for step in (2, 3):
        kept = [np.array([0, 1])]
        book.observe(step, state, kept, Earnings.per_relationship(kept, [np.array([3.0, 3.0])], book))
    rows = cohort_rows(book)
    r = 0.1
    values = cohort_values(rows, r)
    won = rows["cohort"] == 1
    assert list(rows["age"][won]) == [0, 1, 2]
    assert list(rows["active"][won]) == [2, 1, 1] and list(rows["lost"][won]) == [0, 1, 0]
    assert list(rows["acquired"][won]) == [2, 2, 2] and list(rows["acquisition_cost"][won]) == [10.0] * 3
    assert list(values["cumulative_margin"][won]) == [6.0, 9.0, 12.0]
    assert values["ltv"][won][-1] == pytest.approx(6.0 + 3.0 / 1.1 + 3.0 / 1.21)
    assert list(values["payback_age"][won]) == [2.0, 2.0, 2.0]       # 12 >= 10 first at age 2
    initial = rows["cohort"] == 0
    assert list(rows["age"][initial]) == [0, 1, 2, 3] and list(rows["acquired"][initial]) == [1] * 4
    assert list(values["cumulative_margin"][initial]) == [0.0, 3.0, 6.0, 9.0]
    assert np.isnan(values["payback_age"][initial]).all(), "the initial cohort's cost was spent before the run"


def test_a_cohort_that_never_pays_back_has_no_payback_age():
    book = CohortBook(n_institutions=1, n_channels=1, n_products=1)
    state = SimpleNamespace(provider=np.array([[-1]]), channel=np.array([[-1]]), since=np.array([[-1]]))
    book.observe(0, state, [np.zeros(0, np.int64)], None)
    state.provider[0, 0], state.channel[0, 0], state.since[0, 0] = 0, 0, 1
    book.acquire(1, np.array([0]), np.array([0]), np.array([0]), spend=np.array([[100.0]]))
    book.observe(1, state, [np.array([0])], Earnings.per_relationship([np.array([0])], [np.array([1.0])], book))
    assert np.isnan(cohort_values(cohort_rows(book), 0.0)["payback_age"]).all()


@pytest.mark.parametrize("unit, per_year", [("month", 12), ("quarter", 4), ("year", 1), ("day", 365)])
def test_the_annual_discount_rate_compounds_to_the_step_rate(unit, per_year):
    assert (1 + step_discount_rate(0.1, unit)) ** per_year == pytest.approx(1.1)


def test_a_run_where_nobody_ever_holds_anything_has_an_empty_cohort_table(make_scenario):
    quiet = {"banks": {"b": {"branch": {"spend": 0.0}, "own_app": {"spend": 0.0},
                             "offers": {"payments": {"initial_share": 0.0}}},
                       "c": {"branch": {"spend": 0.0}}},
             "partnerships": {"b_shop": {"spend": 0.0}, "c_shop": {"spend": 0.0}}}
    model = ChannelModel(make_scenario(MARKET, {"time": {"steps": 3}}, quiet), seed=1)
    model.run()
    tables = model.tables()
    assert tables["cohorts"].empty and list(tables["cohorts"].columns)[:3] == ["replication", "cohort", "institution"]
    assert tables["channels"].query("step >= 1").unattributed_spend.sum() == pytest.approx(
        tables["institutions"].query("step >= 1").acquisition_spend.sum())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("every", [1, 2])
def test_relationships_ended_in_a_step_are_counted_per_cell_against_a_brute_force_count(seed, every):
    """Churn, switching and new relationships on a small random book: ``lost`` per cell and step by hand.

    Observed every step (a cell's count before less its count after) or every other step (the previous
    holders' cells compared one by one).
    """
    rng = np.random.default_rng(seed)
    n, K, I, C = 80, 2, 3, 2
    book = CohortBook(n_institutions=I, n_channels=C, n_products=K)
    state = SimpleNamespace(provider=np.full((n, K), -1, np.int16, order="F"),
                            channel=np.full((n, K), -1, np.int8, order="F"),
                            since=np.full((n, K), -1, np.int32, order="F"))
    def cells():
        return {(c, k): int(book.cell_of(max(state.since[c, k], 0), k, state.provider[c, k], state.channel[c, k]))
                for c in range(n) for k in range(K) if state.provider[c, k] >= 0}
    expected_lost = []
    before = {}
    for step in range(12):
        if step:
            held = state.provider >= 0
            leaving = held & (rng.random((n, K)) < 0.2)
            state.provider[leaving], state.channel[leaving], state.since[leaving] = -1, -1, -1
            starting = rng.random((n, K)) < 0.15            # new relationships, switching ones included
            state.provider[starting] = rng.integers(0, I, int(starting.sum()))
            state.channel[starting] = rng.integers(0, C, int(starting.sum()))
            state.since[starting] = step
        if step % every:
            continue
        now = cells()
        ended = [cell for key, cell in before.items() if now.get(key) != cell]
        expected_lost.append(np.bincount(np.asarray(ended, np.int64), minlength=(step + 1) * book.cells_per_step()))
        before = now
        holders = [np.flatnonzero(state.provider[:, k] >= 0) for k in range(K)]
        book.observe(step, state, holders,
                     None if step == 0 else Earnings.per_relationship(holders, [np.ones(h.size) for h in holders],
                                                                      book))
    assert sum(int(e.sum()) for e in expected_lost) > 10
    for (step, cell, _held, lost, _margin), expected in zip(book.entries, expected_lost, strict=True):
        got = np.zeros(expected.size, np.int64)
        np.add.at(got, cell, lost)
        assert np.array_equal(got, expected), f"step {step}"
