"""Shared fixtures.

``make_scenario`` builds a validated scenario from a small dict of changes
over a minimal one-bank, one-product scenario (``BASE_SCENARIO``), so that a
test states only what it is about; ``make_data`` gives the raw mapping
(for tests of bad input).  ``seed_customer`` activates exactly one customer
through the model's own path, as the seed of a referral cascade.

``output_tables`` builds small synthetic run tables with the real schema of
the output layer (see ``results/README.md``), so that ``sim.outputs`` can be
tested without running the model.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.scenario.loader import deep_merge, validate_data

#: Response curves of the tests: p = 1 - exp(-spend / 1000) on every channel, so a test
#: that wants exposure probability p sets spend = -1000 ln(1 - p) (e.g. 51.2933 for 0.05).
UNIT_RESPONSE: dict[str, Any] = {c: {"p_max": 1.0, "s0": 1000.0}
                                 for c in ("branch", "own_app", "live_stream", "platform")}

#: The smallest useful scenario: one state bank offering one payments product
#: on a small Erdős–Rényi network, with no advertising switched on.
BASE_SCENARIO: dict[str, Any] = {
    "name": "test",
    "seed": 1,
    "replications": 1,
    "time": {"steps": 10, "unit": "month"},
    "population": {"size": 300},
    "network": {"kind": "erdos_renyi", "mean_degree": 6},
    "products": {"payments": {"kind": "payments"}},
    "banks": {"b": {"type": "state", "offers": {"payments": {}}}},
    "marketing": {"response": UNIT_RESPONSE},
}

def scenario_data(*changes: Mapping | None, base: Mapping | None = None) -> dict:
    """The raw scenario mapping: ``base`` (default ``BASE_SCENARIO``) with each of ``changes`` merged in, in order."""
    data = copy.deepcopy(dict(BASE_SCENARIO if base is None else base))
    for change in changes:
        data = deep_merge(data, change or {})
    return data


def build_scenario(*changes: Mapping | None, base: Mapping | None = None):
    """A validated :class:`~sim.scenario.schema.Scenario` (source ``"test"``) from ``scenario_data``."""
    return validate_data(scenario_data(*changes, base=base), "test")


def activate_one(model, customer: int, institution: int = 0) -> None:
    """Step ``model`` once so that exactly ``customer`` becomes active with ``institution``.

    The customer is made the only member of the institution's private domain
    and the institution's own app advertises with probability 1 for this one
    step, so the activation goes through the model's own path (exposure ->
    funnel -> activation log) and the customer is a promoter from the next
    step on, exactly like any new customer.  Initial holdings cannot serve as
    seeds: by design they never promote.  Requires a funnel that converts the
    customer with probability 1, no institution customers yet (they are in
    the private domain too), and no other source of activations in this step.
    """
    cat, state = model.catalog, model.state
    followers = state.follower[:, institution].copy()
    spend, budget = float(cat.app_spend[institution]), float(cat.budget[institution])
    p_max, s0 = float(cat.response_pmax[1]), float(cat.response_s0[1])
    state.follower[:, institution] = False
    state.follower[customer, institution] = True
    cat.app_spend[institution], cat.budget[institution] = 1.0e5, np.nan
    cat.response_pmax[1], cat.response_s0[1] = 1.0, 1.0          # p = 1 - exp(-1e5) = 1
    try:
        model.step()
    finally:
        cat.app_spend[institution], cat.budget[institution] = spend, budget
        cat.response_pmax[1], cat.response_s0[1] = p_max, s0
        state.follower[:, institution] = followers
    assert model.last["new_active"] == 1, f"seeding activated {model.last['new_active']} customers, not 1"
    assert (state.provider[customer] == institution).any(), "the seed did not become a customer"


@pytest.fixture(scope="session")
def seed_customer() -> Callable[..., None]:
    """``seed_customer(model, customer, institution=0)``: see :func:`activate_one`."""
    return activate_one


@pytest.fixture(scope="session")
def make_scenario() -> Callable[..., Any]:
    """Factory: ``make_scenario({"banks": {"b": {"retention": 1.0}}}, more_changes)`` -> validated Scenario.

    Change dicts are merged over ``BASE_SCENARIO`` in order; pass ``base=`` to
    start from another mapping (e.g. one without the default bank).
    """
    return build_scenario


@pytest.fixture(scope="session")
def make_data() -> Callable[..., dict]:
    """Factory for the raw (unvalidated) scenario mapping, for tests of bad input."""
    return scenario_data


STAGES = ("aware", "interested", "comparing", "applied", "approved", "active")
INSTITUTIONS = (("citic", "bank", "joint_stock"), ("ant", "platform", "super_app"))
PRODUCTS = ("payments", "credit")
#: (institution, channel) pairs with rows; ("ant", "live_stream") spends but never converts,
#: ("citic", "employee") has rows of zeros, ("citic", "platform:ant") is absent in replication 1.
CHANNELS = (
    ("citic", "branch"), ("citic", "own_app"), ("citic", "referral"), ("citic", "employee"),
    ("citic", "platform:ant"), ("ant", "own_app"), ("ant", "referral"), ("ant", "live_stream"),
)


def _market(rng: np.random.Generator, reps: int, steps: int) -> pd.DataFrame:
    rows = []
    for r in range(reps):
        active = 0
        for t in range(steps + 1):
            new = int(rng.integers(5, 50)) if t else 0
            referral = int(rng.integers(0, new + 1)) if t else 0
            promoters = int(rng.integers(0, 20)) if t else 0
            active += new
            rows.append({
                "replication": r, "step": t, "aware": active * 3 + int(rng.integers(0, 10)),
                "active": active, "new_active": new, "referral_conversions": referral,
                "employee_conversions": int(rng.integers(0, 3)) if t else 0,
                "promoters": promoters,
                "r_eff": referral / promoters if promoters else np.nan,
                "churned": int(rng.integers(0, 4)) if t else 0,
                "switched": int(rng.integers(0, 3)) if t else 0,
                "funnel_entries": int(rng.integers(50, 200)) if t else 0,
                "default_rate": float(rng.uniform(0, 0.05)),  # a column from a later issue
            })
    return pd.DataFrame(rows)


def _institutions(rng: np.random.Generator, reps: int, steps: int) -> pd.DataFrame:
    rows = []
    for r in range(reps):
        for t in range(steps + 1):
            counts = rng.integers(10, 500, size=len(INSTITUTIONS))
            for (ident, kind, kind_type), customers in zip(INSTITUTIONS, counts, strict=True):
                new = int(rng.integers(0, 30)) if t else 0
                spend = float(rng.uniform(0, 1000)) if t else 0.0
                revenue = float(rng.uniform(100, 2000))
                cost = float(rng.uniform(100, 2000))
                rows.append({
                    "replication": r, "step": t, "institution": ident, "kind": kind,
                    "type": kind_type, "customers": int(customers),
                    "market_share": float(customers / counts.sum()),
                    "new_customers": new, "churned": int(rng.integers(0, 5)),
                    "acquisition_spend": spend, "cac": spend / new if new else np.nan,
                    "revenue": revenue, "revenue_share_paid": 0.1 * revenue,
                    "platform_income": 0.0, "incentives": float(rng.uniform(0, 50)),
                    "cost": cost, "profit": revenue - cost,
                    "capital": float(rng.uniform(1e4, 2e4)),
                    "customers_payments": int(customers), "customers_credit": int(customers // 3),
                })
    return pd.DataFrame(rows)


def _channels(rng: np.random.Generator, reps: int, steps: int) -> pd.DataFrame:
    rows = []
    for r in range(reps):
        for t in range(steps + 1):
            for ident, channel in CHANNELS:
                if (r, ident, channel) == (1, "citic", "platform:ant"):
                    continue
                new = 0 if channel in ("live_stream", "employee") or t == 0 else int(rng.integers(0, 12))
                spend = 0.0 if channel == "employee" or t == 0 else float(rng.uniform(0, 300))
                rows.append({
                    "replication": r, "step": t, "institution": ident, "channel": channel,
                    "new_customers": new, "spend": spend, "cac": spend / new if new else np.nan,
                })
    return pd.DataFrame(rows)


def _funnel(rng: np.random.Generator, reps: int, steps: int) -> pd.DataFrame:
    rows = []
    for r in range(reps):
        for t in range(1, steps + 1):
            for product in PRODUCTS:
                for ident, channel in CHANNELS:
                    if channel == "employee":
                        continue  # a channel with no funnel rows at all
                    count = int(rng.integers(0, 200))
                    for stage in STAGES:
                        if count == 0:
                            break  # zero counts have no row
                        rows.append({"replication": r, "step": t, "product": product,
                                     "institution": ident, "channel": channel,
                                     "stage": stage, "reached": count})
                        count = int(rng.binomial(count, 0.6))
    return pd.DataFrame(rows)


def make_output_tables(replications: int = 3, steps: int = 5, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Synthetic ``market``, ``institutions``, ``channels`` and ``funnel`` tables."""
    rng = np.random.default_rng(seed)
    return {
        "market": _market(rng, replications, steps),
        "institutions": _institutions(rng, replications, steps),
        "channels": _channels(rng, replications, steps),
        "funnel": _funnel(rng, replications, steps),
    }


@pytest.fixture
def output_tables() -> dict[str, pd.DataFrame]:
    """3 replications × steps 0..5 × 2 institutions of synthetic output tables."""
    return make_output_tables()


@pytest.fixture
def make_tables() -> Callable[..., dict[str, pd.DataFrame]]:
    """Factory for synthetic output tables of any size: ``make_tables(replications, steps, seed)``."""
    return make_output_tables
