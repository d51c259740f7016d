"""city_bank_local (SF11, SF18): fixed groups first, then internet traffic with a tighter cut-off.

The scenario runs small next to two variants on common random numbers: one
that only tightens the cut-off at step 24 (no opening) and one that opens
without tightening.  Penetration of the fixed groups is read from the model
itself at step 23, the last step before the opening.

The claim (``claims:``, against city_districts.yaml, the same city with the
bank run as in the baseline): the city bank ends with more customers (paired
95% interval above zero, 3,000 customers, 5 replications), and the
difference vanishes when the levers (its app, its aggregator partnership and
the opening event) are reset to the parent's.
"""

from __future__ import annotations

import numpy as np
import pytest
from adoption_checks import SEED, institution_final, interval, per_replication, run_one, small
from claim_checks import assert_claims_hold_and_vanish

from sim.experiments.replicate import replication_seed
from sim.model.model import ChannelModel

REPLICATIONS = 8
SIZE = 3000
STEPS = 48
OPENING = 24
GROUPS = ("payroll", "state_firms", "civil_servants")


def variant(name: str, changes: dict):
    """The scenario with its step-24 event replaced by one that sets only ``changes``."""
    return small("city_bank_local", SIZE, STEPS, name=name,
                 events=[{"at": OPENING, "label": name, "set": changes}])


@pytest.fixture(scope="module")
def scenario():
    return small("city_bank_local", SIZE, STEPS)


@pytest.fixture(scope="module")
def runs(scenario):
    """Per replication: (penetration inside the groups, outside) at step 23, and the tables of the whole run."""
    bank = scenario.institution_ids.index("citybank")
    penetration, tables = [], []
    for k in range(REPLICATIONS):
        model = ChannelModel(scenario, seed=replication_seed(SEED, k))
        model.run(OPENING - 1)
        state, names = model.state, model.network.community_names
        won = ((state.provider == bank) & (state.since >= 1)).any(axis=1)
        inside = np.isin(model.population.community, [names.index(g) for g in GROUPS])
        penetration.append((won[inside].mean(), won[~inside].mean()))
        model.run(STEPS - OPENING + 1)
        tables.append(model.tables(k))
    return np.array(penetration), tables


def each(tables: list[dict], measure) -> np.ndarray:
    return np.array([measure(t) for t in tables])


def test_before_opening_the_bank_wins_its_fixed_groups_at_several_times_its_rate_outside(runs):
    penetration, _ = runs
    mean, low, high = interval(penetration[:, 0] / penetration[:, 1])
    assert low > 2, f"new customers per head inside / outside the groups: {mean:.2f} [{low:.2f}, {high:.2f}]"


def test_before_opening_no_customer_comes_through_a_platform(runs):
    _, tables = runs
    for t in tables:
        ch = t["channels"].query("institution == 'citybank' and step < @OPENING")
        assert ch.loc[ch["channel"].str.startswith("platform:"), "new_customers"].sum() == 0


def test_opening_to_internet_traffic_adds_customers(runs):
    _, tables = runs
    closed = run_one(variant("city_bank_local_closed", {"banks.citybank.credit.cutoff": 0.005}), REPLICATIONS)
    diff = (each(tables, lambda t: institution_final(t, "citybank", "customers"))
            - per_replication(closed, lambda t: institution_final(t, "citybank", "customers")))
    mean, low, high = interval(diff)
    assert low > 0, f"final customers, opened minus closed: {mean:.1f} [{low:.1f}, {high:.1f}]"


def test_the_tighter_cutoff_makes_the_bank_more_selective_with_its_new_applicants(runs):
    _, tables = runs
    loose = run_one(variant("city_bank_local_loose", {"partnerships.citybank_finmarket.active": True}), REPLICATIONS)
    after = (OPENING + 1, STEPS)

    def approval_rate(t):
        return (institution_total_between(t, "approvals", after) / institution_total_between(t, "applications", after))

    diff = each(tables, approval_rate) - per_replication(loose, approval_rate)
    mean, low, high = interval(diff)
    assert high < 0, f"approval rate after opening, tight minus loose: {mean:.3f} [{low:.3f}, {high:.3f}]"


def institution_total_between(tables, column: str, steps: tuple[int, int]) -> float:
    inst = tables["institutions"]
    rows = inst[(inst["institution"] == "citybank") & inst["step"].between(*steps)]
    return float(rows[column].sum())


def test_the_claim_holds_with_the_levers_and_vanishes_without_them():
    assert_claims_hold_and_vanish("city_bank_local", SIZE, 5)
