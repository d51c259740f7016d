"""Shared fixtures.

``output_tables`` builds small synthetic run tables with the real schema of
the output layer (see ``results/README.md``), so that ``sim.outputs`` can be
tested without running the model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

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
            for (ident, kind, kind_type), customers in zip(INSTITUTIONS, counts):
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
