"""Per-step observations of a run, kept as arrays and turned into tables at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.mechanisms.economics import Ledger
from sim.model.state import STAGE_NAMES, FUNNEL_STAGES

FUNNEL_STAGE_NAMES = [STAGE_NAMES[s] for s in FUNNEL_STAGES]


class Recorder:
    """Collects market, institution, channel and funnel observations step by step.

    The model calls :meth:`record` once per step (and once at step 0); the
    tables are built only when asked for, so recording costs a few array
    copies per step.
    """

    def __init__(self, catalog):
        self.catalog = catalog
        self.market: list[dict] = []
        self.steps: list[int] = []
        self.institution_rows: list[dict[str, np.ndarray]] = []
        self.channel_new: list[np.ndarray] = []
        self.channel_spend: list[np.ndarray] = []
        self.funnel: list[np.ndarray] = []

    def record(self, step: int, market: dict, ledger: Ledger, capital: np.ndarray, funnel_counts: np.ndarray) -> None:
        self.steps.append(step)
        self.market.append({"step": step, **market})
        customers = ledger.customers
        total = customers.sum(axis=0, keepdims=True)
        share_by_product = np.divide(customers, total, out=np.zeros(customers.shape), where=total > 0)
        all_total = customers.sum()
        new = ledger.new_customers
        spend = ledger.acquisition_spend
        row = {
            "customers": customers.sum(axis=1),
            "market_share": customers.sum(axis=1) / all_total if all_total else np.zeros(len(new)),
            "new_customers": new,
            "churned": ledger.churned,
            "acquisition_spend": spend,
            "cac": np.divide(spend, new, out=np.full(len(new), np.nan), where=new > 0),
            "revenue": ledger.revenue,
            "revenue_share_paid": ledger.revenue_share_paid,
            "platform_income": ledger.platform_income,
            "incentives": ledger.incentives,
            "cost": ledger.cost,
            "profit": ledger.profit,
            "capital": capital.copy(),
        }
        for k, product in enumerate(self.catalog.products):
            row[f"customers_{product}"] = customers[:, k]
            row[f"share_{product}"] = share_by_product[:, k]
        self.institution_rows.append(row)
        self.channel_new.append(ledger.new_by_channel.copy())
        self.channel_spend.append(ledger.spend_by_channel.copy())
        self.funnel.append(funnel_counts.copy())

    def tables(self, replication: int = 0) -> dict[str, pd.DataFrame]:
        """The run as four long tables (see docs/ODD.md, Observation)."""
        cat = self.catalog
        I, C = cat.n_institutions, cat.n_channels
        T = len(self.steps)
        steps = np.asarray(self.steps)

        market = pd.DataFrame(self.market)
        market.insert(0, "replication", replication)

        inst = {"replication": replication, "step": np.repeat(steps, I),
                "institution": np.tile(cat.institution_ids, T),
                "kind": np.tile(cat.institution_kind, T), "type": np.tile(cat.institution_type, T)}
        for name in self.institution_rows[0]:
            inst[name] = np.concatenate([row[name] for row in self.institution_rows])
        institutions = pd.DataFrame(inst)

        new = np.stack(self.channel_new)          # (T, I, C)
        spend = np.stack(self.channel_spend)
        channels = pd.DataFrame({
            "replication": replication,
            "step": np.repeat(steps, I * C),
            "institution": np.tile(np.repeat(cat.institution_ids, C), T),
            "channel": np.tile(cat.channels, T * I),
            "new_customers": new.ravel(),
            "spend": spend.ravel(),
        })
        channels["cac"] = np.where(channels["new_customers"] > 0,
                                   channels["spend"] / channels["new_customers"].where(channels["new_customers"] > 0), np.nan)
        channels = channels[(channels["new_customers"] > 0) | (channels["spend"] > 0)].reset_index(drop=True)

        counts = np.stack(self.funnel)            # (T, K, I, C, S)
        t, k, i, c, s = np.nonzero(counts)
        funnel = pd.DataFrame({
            "replication": replication,
            "step": steps[t],
            "product": np.asarray(cat.products, dtype=object)[k],
            "institution": np.asarray(cat.institution_ids, dtype=object)[i],
            "channel": np.asarray(cat.channels, dtype=object)[c],
            "stage": np.asarray(FUNNEL_STAGE_NAMES, dtype=object)[s],
            "reached": counts[t, k, i, c, s],
        })
        return {"market": market, "institutions": institutions, "channels": channels, "funnel": funnel}
