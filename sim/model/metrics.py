"""Per-step observations of a run, kept as arrays and turned into tables at the end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from sim.core.adoption.cohorts import CohortBook, cohort_rows, cohort_values
from sim.core.adoption.economics import Ledger, allocate_spend
from sim.core.codes import FUNNEL_STAGES, STAGE_NAMES
from sim.core.risk.accounts import CREDIT_MEASURES, N_SEGMENTS
from sim.model.history import StackedAccounts, StepAccounts
from sim.scenario.schema import LIFE_STAGES

FUNNEL_STAGE_NAMES = [STAGE_NAMES[s] for s in FUNNEL_STAGES]

#: Market columns of the credit side (mechanisms 4, 5), zero or NaN when credit is off.
CREDIT_MARKET_COLUMNS = (
    "borrowers", "loans", "loan_balance", "new_loans", "defaulted", "new_defaults", "default_rate",
    "contagion_defaults", "threshold_defaults", "seeded_defaults", "credit_losses", "insured_losses",
    "macro", "failed_lenders", "failed_insurers",
)
#: Institution columns of the credit side, zero (false) when credit is off or the institution does not lend.
CREDIT_INSTITUTION_COLUMNS = (
    "loans", "loan_balance", "new_loans", "applications", "approvals", "rejections", "insured_approvals",
    "repaid", "defaults", "losses", "insured_losses", "net_losses", "premiums_paid",
    "bureau_cost", "guarantee_paid", "credit_profit", "investor_funds", "investor_withdrawals", "in_run", "failed",
    "risk_weighted_assets", "cutoff_factor",
)
#: Columns of the ``products`` table, per (replication, step, institution, product).
PRODUCT_COLUMNS = ("customers", "new_customers", "fee_revenue", "interest_income", "funding_cost", "service_cost",
                   "revenue_share_paid", "margin", "acquisition_spend", "credit_costs", "profit")
#: Columns of the ``tiers`` table, per (replication, step, institution, city tier).
TIER_COLUMNS = ("customers", "new_customers", "acquisition_spend", "cac", "margin", "profit")
INSURER_COLUMNS = ("premiums", "claims", "unpaid_claims", "new_guarantees", "covered_balance", "capital",
                   "writing", "failed")
_BOOL_COLUMNS = ("in_run", "failed", "writing")


def _no_credit(institutions: int) -> dict:
    """The credit observation of a run with credit off."""
    market = {name: 0 for name in CREDIT_MARKET_COLUMNS}
    market.update(default_rate=float("nan"), loan_balance=0.0, credit_losses=0.0, insured_losses=0.0, macro=1.0)
    inst = {name: (np.zeros(institutions, dtype=bool) if name in _BOOL_COLUMNS else np.zeros(institutions))
            for name in CREDIT_INSTITUTION_COLUMNS}
    inst["interest_income"] = np.zeros(institutions)
    inst["cutoff_factor"] = np.ones(institutions)
    return {"market": market, "institutions": inst, "insurers": None, "counts": None}


def _frozen(observation: dict) -> dict:
    """``observation`` with its arrays made read-only (it is shared by every step's row)."""
    for value in observation["institutions"].values():
        value.flags.writeable = False
    return observation


def _shares(customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, I) market share of all relationships and (T, I, K) share of each product's, from (T, I, K) counts."""
    by_institution = customers.sum(axis=-1)
    total = customers.sum(axis=(-2, -1))[:, None]
    market_share = np.divide(by_institution, total, out=np.zeros(by_institution.shape), where=total > 0)
    per_product = customers.sum(axis=-2, keepdims=True)
    share_by_product = np.divide(customers, per_product, out=np.zeros(customers.shape), where=per_product > 0)
    return market_share, share_by_product


def _profit(ledger, credit_profit: np.ndarray, step) -> np.ndarray:
    """Profit: the ledger's plus credit's, none at step 0 (which earns nothing).

    One step's ((I,) arrays, an int step) or several stacked ((T, I), (T,) steps).
    """
    profit = ledger.profit
    return np.where(np.asarray(step)[..., None] > 0, profit + credit_profit, profit)


def _institution_columns(stacked: StackedAccounts, products: list[str]) -> dict[str, np.ndarray]:
    """The ``institutions`` table's measures, (T, I) each, in the table's column order."""
    ledger, credit = stacked.ledger, stacked.credit
    customers = ledger.customers
    market_share, share_by_product = _shares(customers)
    new, spend = ledger.new_customers, ledger.acquisition_spend
    capital = stacked.capital
    columns = {
        "customers": customers.sum(axis=-1),
        "market_share": market_share,
        "new_customers": new,
        "switched_in": ledger.switched_by_channel.sum(axis=-1),
        "churned": ledger.churned,
        "acquisition_spend": spend,
        "cac": np.divide(spend, new, out=np.full(new.shape, np.nan), where=new > 0),
        "revenue": ledger.revenue,
        "interest_income": ledger.interest + credit["interest_income"],
        "funding_cost": ledger.funding_cost,
        "service_cost": ledger.service_cost,
        "margin": ledger.margin,
        "revenue_share_paid": ledger.revenue_share_paid,
        "platform_income": ledger.platform_income,
        "incentives": ledger.incentives,
        "cost": ledger.cost,
        "profit": _profit(ledger, credit["credit_profit"], stacked.step),
        "dividends": stacked.dividends,
        "capital": capital,
    }
    for k, product in enumerate(products):
        columns[f"customers_{product}"] = customers[..., k]
        columns[f"share_{product}"] = share_by_product[..., k]
    for t in range(4):
        columns[f"customers_tier{t + 1}"] = stacked.tiers[..., t]
    for name in CREDIT_INSTITUTION_COLUMNS:
        columns[name] = credit[name]
    weighted = columns["risk_weighted_assets"]
    columns["capital_ratio"] = np.divide(capital, weighted, out=np.full(weighted.shape, np.nan), where=weighted > 0)
    return columns


class Recorder:
    """Collects market, institution, channel and funnel observations step by step.

    The model calls :meth:`record` once per step (and once at step 0).  A
    step keeps its ledger, capital and credit observation as they are; the
    columns derived from them (shares, CAC, the split of spend over products
    and tiers …) are computed for all steps at once when the tables are
    asked for, so recording costs a few references and copies per step.
    """

    def __init__(self, catalog, cohorts: CohortBook | None = None, step_rate: float = 0.0):
        self.catalog = catalog
        self.cohorts = cohorts
        self.step_rate = step_rate
        self.market: list[dict] = []
        self.steps: list[int] = []
        self.accounts: list[StepAccounts] = []
        self.channel_new: list[np.ndarray] = []
        self.channel_switched: list[np.ndarray] = []
        self.channel_spend: list[np.ndarray] = []
        self.channel_touches: list[np.ndarray] = []
        self.funnel: list[np.ndarray] = []
        self.insurer_rows: list[dict[str, np.ndarray]] = []
        self.credit_counts: list[tuple[np.ndarray, np.ndarray]] = []
        self._no_credit: dict | None = None     # the observation of credit off, made once (read-only arrays)

    def record(self, step: int, market: dict, ledger: Ledger, capital: np.ndarray, funnel_counts: np.ndarray,
               credit: dict | None = None, touches: np.ndarray | None = None, tiers: np.ndarray | None = None,
               dividends: np.ndarray | None = None) -> None:
        """Keep one step's observations.

        ``ledger`` and ``credit`` are kept, not copied: the model makes both
        afresh each step.  ``credit`` is the credit market's observation
        (:func:`sim.core.risk.observation.observe`) or None when credit is
        off; its profit is part of ``profit``.  ``touches`` (I, C) counts the
        step's touches by institution and channel; ``tiers`` (I, 4) the
        institutions' relationships by customers' city tier (zeros when not
        given); ``dividends`` (I,) paid out of the step's profit.
        """
        I = len(capital)
        if credit is None:
            if self._no_credit is None or len(self._no_credit["institutions"]["loans"]) != I:
                self._no_credit = _frozen(_no_credit(I))
            credit = self._no_credit
        self.steps.append(step)
        self.market.append({"step": step, **market, **credit["market"]})
        self.accounts.append(StepAccounts(
            step, ledger, capital.copy(), dividends.copy() if dividends is not None else np.zeros(I),
            credit["institutions"], tiers.copy() if tiers is not None else np.zeros((I, 4), dtype=np.int64)))
        if credit["insurers"] is not None:
            self.insurer_rows.append(credit["insurers"])
        if credit["counts"] is not None:
            nonzero = np.flatnonzero(credit["counts"])
            self.credit_counts.append((nonzero, credit["counts"][nonzero]))
        self.channel_new.append(ledger.new_by_channel)
        self.channel_switched.append(ledger.switched_by_channel if ledger.switched_by_channel is not None
                                     else np.zeros_like(ledger.new_by_channel))
        self.channel_spend.append(ledger.spend_by_channel)
        self.channel_touches.append(touches.copy() if touches is not None else np.zeros_like(ledger.new_by_channel))
        self.funnel.append(funnel_counts.copy())

    def latest(self) -> dict[str, np.ndarray]:
        """The ``institutions`` table's measures at the last recorded step.

        Returns
        -------
        dict of str to numpy.ndarray
            (I,) per column of the table after its keys (``customers`` …
            ``capital_ratio``), made as the table makes them; empty before
            the first recorded step.
        """
        if not self.accounts:
            return {}
        columns = _institution_columns(StackedAccounts(self.accounts[-1:]), self.catalog.products)
        return {name: values[0] for name, values in columns.items()}

    def recent(self, period: int) -> dict[str, np.ndarray]:
        """Profit (T, I), market share (T, I) and share of each product (T, I, K) of the last ``period`` steps."""
        accounts = self.accounts[-period:]
        profit = np.stack([_profit(a.ledger, a.credit["credit_profit"], a.step) for a in accounts])
        market_share, share_by_product = _shares(np.stack([a.ledger.customers for a in accounts]))
        return {"profit": profit, "market_share": market_share, "share_by_product": share_by_product}

    def _segment_columns(self, stacked: StackedAccounts) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The step's economics by product and by city tier (the ``products`` and ``tiers`` tables), (T, I, G).

        Acquisition spend is split over products and tiers by each channel's
        acquisitions (:func:`~sim.core.adoption.economics.allocate_spend`);
        credit costs (the step's − credit_profit: net losses, premiums,
        bureau queries; 0 at step 0) over the lender's credit products by
        their customers (exact with one credit product).
        """
        ledger = stacked.ledger
        customers = ledger.customers                              # (T, I, K)
        K = customers.shape[-1]
        new_product = ledger.new_by_product.sum(axis=-2)
        spend = ledger.spend_by_channel
        offered = self.catalog.offer_of >= 0
        fallback = np.where(customers.sum(axis=-1, keepdims=True) > 0, customers, offered)
        product_spend = allocate_spend(spend, ledger.new_by_product,
                                       np.where(new_product.sum(axis=-1, keepdims=True) > 0, new_product, fallback))
        is_credit = self.catalog.risk.is_credit if self.catalog.risk is not None else np.zeros(K, bool)
        lends = (offered & is_credit).astype(float)
        credit_customers = np.where(is_credit, customers, 0).astype(float)
        totals = credit_customers.sum(axis=-1, keepdims=True)
        credit_costs = np.where((stacked.step > 0)[:, None], -stacked.credit["credit_profit"], 0.0)
        evenly = np.divide(lends, lends.sum(axis=-1, keepdims=True), out=np.zeros_like(lends),
                           where=lends.sum(axis=-1, keepdims=True) > 0)
        split = np.divide(credit_customers, totals, out=np.broadcast_to(evenly, credit_customers.shape).copy(),
                          where=totals > 0)
        product_credit = credit_costs[..., None] * split
        part = ledger.by_product
        margin = part["margin"]
        products = {
            "customers": customers, "new_customers": new_product, "fee_revenue": part["fee"],
            "interest_income": part["interest"], "funding_cost": part["funding_cost"],
            "service_cost": part["unit_cost"], "revenue_share_paid": part["revenue_share"], "margin": margin,
            "acquisition_spend": product_spend, "credit_costs": product_credit,
            "profit": margin - product_spend - product_credit,
        }
        tiers = stacked.tiers
        new_tier = ledger.new_by_tier.sum(axis=-2)
        tier_spend = allocate_spend(spend, ledger.new_by_tier,
                                    np.where(new_tier.sum(axis=-1, keepdims=True) > 0, new_tier, tiers))
        tier_margin = ledger.by_tier["margin"]
        tier_columns = {
            "customers": tiers, "new_customers": new_tier, "acquisition_spend": tier_spend,
            "cac": np.divide(tier_spend, new_tier, out=np.full(new_tier.shape, np.nan), where=new_tier > 0),
            "margin": tier_margin, "profit": tier_margin - tier_spend,
        }
        return products, tier_columns

    def _segment_table(self, columns: dict[str, np.ndarray], key: str, labels, replication: int,
                       steps: np.ndarray) -> pd.DataFrame:
        """One row per (replication, step, institution, ``key``) from (T, I, G) arrays."""
        cat = self.catalog
        I, G, T = cat.n_institutions, len(labels), len(steps)
        table = {"replication": replication, "step": np.repeat(steps, I * G),
                 "institution": np.tile(np.repeat(cat.institution_ids, G), T),
                 key: np.tile(np.asarray(labels, dtype=object), T * I)}
        for name, values in columns.items():
            table[name] = values.ravel()
        return pd.DataFrame(table)

    def tables(self, replication: int = 0) -> dict[str, pd.DataFrame]:
        """The run as long tables: market, institutions, channels, funnel, products, tiers, credit, insurers, cohorts.

        Every table of a run but ``decisions`` (the model adds it, see
        :meth:`sim.model.model.ChannelModel.tables`).  See docs/ODD.md,
        Observation, and results/README.md for the columns.
        """
        cat = self.catalog
        I, C = cat.n_institutions, cat.n_channels
        T = len(self.steps)
        steps = np.asarray(self.steps)

        market = pd.DataFrame(self.market)
        market.insert(0, "replication", replication)

        inst = {"replication": replication, "step": np.repeat(steps, I),
                "institution": np.tile(cat.institution_ids, T),
                "kind": np.tile(cat.institution_kind, T), "type": np.tile(cat.institution_type, T)}
        stacked = StackedAccounts(self.accounts)
        for name, values in _institution_columns(stacked, cat.products).items():
            inst[name] = values.ravel()
        institutions = pd.DataFrame(inst)

        new = np.stack(self.channel_new)          # (T, I, C)
        switched = np.stack(self.channel_switched)
        spend = np.stack(self.channel_spend)
        touches = np.stack(self.channel_touches)
        channels = pd.DataFrame({
            "replication": replication,
            "step": np.repeat(steps, I * C),
            "institution": np.tile(np.repeat(cat.institution_ids, C), T),
            "channel": np.tile(cat.channels, T * I),
            "new_customers": new.ravel(),
            "switched_in": switched.ravel(),
            "spend": spend.ravel(),
        })
        channels["cac"] = np.where(
            channels["new_customers"] > 0,
            channels["spend"] / channels["new_customers"].where(channels["new_customers"] > 0),
            np.nan,
        )
        channels["touches"] = touches.ravel()
        channels["unattributed_spend"] = np.where(new.ravel() == 0, spend.ravel(), 0.0)
        channels = channels[(channels["new_customers"] > 0) | (channels["spend"] > 0)
                            | (channels["touches"] > 0) | (channels["switched_in"] > 0)].reset_index(drop=True)

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
        product_columns, tier_columns = self._segment_columns(stacked)
        products = self._segment_table(product_columns, "product", cat.products, replication, steps)
        offered = np.tile((cat.offer_of >= 0).ravel(), T)
        products = products[offered | (products["customers"] > 0)].reset_index(drop=True)
        tiers = self._segment_table(tier_columns, "tier", [1, 2, 3, 4], replication, steps)
        tiers["tier"] = tiers["tier"].astype("int64")
        has_offers = np.tile(np.repeat((cat.offer_of >= 0).any(axis=1), 4), T)
        tiers = tiers[has_offers].reset_index(drop=True)
        return {"market": market, "institutions": institutions, "channels": channels, "funnel": funnel,
                "products": products, "tiers": tiers,
                "credit": self._credit_table(replication, steps), "insurers": self._insurer_table(replication, steps),
                "cohorts": self.cohort_table(replication)}

    def cohort_table(self, replication: int = 0) -> pd.DataFrame:
        """One row per (replication, cohort, institution, channel, product, age) with relationships held or ended.

        See results/README.md (``cohorts.parquet``) and :mod:`sim.core.adoption.cohorts`.
        """
        cat = self.catalog
        rows = cohort_rows(self.cohorts) if self.cohorts is not None else cohort_rows(CohortBook(1, 0, 1))
        values = cohort_values(rows, self.step_rate)
        acquired = rows["acquired"]
        cost = rows["acquisition_cost"]
        with np.errstate(invalid="ignore", divide="ignore"):
            retention = np.where(acquired > 0, rows["active"] / np.maximum(acquired, 1), np.nan)
            cac = np.where(acquired > 0, cost / np.maximum(acquired, 1), np.nan)
            ltv_per_customer = np.where(acquired > 0, values["ltv"] / np.maximum(acquired, 1), np.nan)
            ltv_to_cac = np.where(cost > 0, values["ltv"] / np.where(cost > 0, cost, 1.0), np.nan)
        frame = pd.DataFrame({
            "replication": replication,
            "cohort": rows["cohort"].astype(np.int64),
            "institution": np.asarray(cat.institution_ids, dtype=object)[rows["institution"]],
            "channel": np.asarray([*cat.channels, "none"], dtype=object)[rows["channel"]],
            "product": np.asarray(cat.products, dtype=object)[rows["product"]],
            "age": rows["age"].astype(np.int64),
            "step": rows["step"].astype(np.int64),
            "acquired": acquired,
            "active": rows["active"],
            "lost": rows["lost"],
            "retention": retention,
            "margin": rows["margin"],
            "cumulative_margin": values["cumulative_margin"],
            "acquisition_cost": cost,
            "cac": cac,
            "ltv": values["ltv"],
            "ltv_per_customer": ltv_per_customer,
            "ltv_to_cac": ltv_to_cac,
            "payback_age": pd.Series(values["payback_age"], dtype="float64").astype("Int64"),
        })
        return frame


    def _insurer_table(self, replication: int, steps: np.ndarray) -> pd.DataFrame:
        """One row per (replication, step, insurer): premiums, claims, covered balance, capital, writing, failed."""
        ids = self.catalog.risk.insurer_ids if self.catalog.risk is not None else []
        J = len(ids)
        if not self.insurer_rows or J == 0:
            columns = {"replication": pd.Series(dtype="int64"), "step": pd.Series(dtype="int64"),
                       "insurer": pd.Series(dtype="object")}
            columns.update({name: pd.Series(dtype="bool" if name in _BOOL_COLUMNS else "float64")
                            for name in INSURER_COLUMNS})
            columns["solvency_ratio"] = pd.Series(dtype="float64")
            return pd.DataFrame(columns)
        T = len(self.insurer_rows)
        table = {"replication": replication, "step": np.repeat(steps[-T:], J), "insurer": np.tile(ids, T)}
        for name in INSURER_COLUMNS:
            table[name] = np.concatenate([row[name] for row in self.insurer_rows])
        frame = pd.DataFrame(table)
        covered = frame["covered_balance"]
        frame["solvency_ratio"] = (frame["capital"] / covered.where(covered > 0)).astype(float)
        return frame

    def _credit_table(self, replication: int, steps: np.ndarray) -> pd.DataFrame:
        """Applications, approvals, rejections, guarantees, loans at risk, defaults and losses.

        One row per (replication, step, product, institution, channel,
        segment, life_stage, inside_community) with any non-zero count;
        ``channel`` is ``none`` for loans held before the run.
        """
        cat = self.catalog
        M = len(CREDIT_MEASURES)
        keys = ["replication", "step", "product", "institution", "channel", "segment", "life_stage", "inside_community"]
        if not self.credit_counts:
            columns = {name: pd.Series(dtype="int64" if name in ("replication", "step") else
                                       "bool" if name == "inside_community" else "object") for name in keys}
            columns.update({name: pd.Series(dtype="float64") for name in CREDIT_MEASURES})
            return pd.DataFrame(columns)
        T = len(self.credit_counts)
        step_index = np.concatenate([np.full(idx.size, t) for t, (idx, _) in enumerate(self.credit_counts)])
        flat = np.concatenate([idx for idx, _ in self.credit_counts])
        values = np.concatenate([v for _, v in self.credit_counts])
        cell, measure = np.divmod(flat, M)
        cells, row = np.unique(np.stack([step_index, cell]), axis=1, return_inverse=True)
        row = row.ravel()
        data = np.zeros((cells.shape[1], M))
        data[row, measure] = values
        C1 = cat.n_channels + 1
        rest, segment = np.divmod(cells[1], N_SEGMENTS)
        rest, channel = np.divmod(rest, C1)
        product, institution = np.divmod(rest, cat.n_institutions)
        subprime, within = np.divmod(segment, 6)
        life_stage, inside = np.divmod(within, 2)
        frame = pd.DataFrame({
            "replication": replication,
            "step": steps[-T:][cells[0]],
            "product": np.asarray(cat.products, dtype=object)[product],
            "institution": np.asarray(cat.institution_ids, dtype=object)[institution],
            "channel": np.asarray([*cat.channels, "none"], dtype=object)[channel],
            "segment": np.where(subprime == 1, "subprime", "prime").astype(object),
            "life_stage": np.asarray(LIFE_STAGES, dtype=object)[life_stage],
            "inside_community": inside.astype(bool),
        })
        for m, name in enumerate(CREDIT_MEASURES):
            frame[name] = data[:, m]
        return frame


#: Columns of the decisions table, in order.
DECISION_COLUMNS = ("replication", "step", "source", "owner", "lever", "before", "after", "before_value",
                    "after_value", "reason")


def _as_text(value) -> str:
    """A lever value as JSON text (numbers, yes/no, names, blocks), for the ``before``/``after`` columns."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, sort_keys=True, default=str)


def _as_number(value) -> float:
    """A numeric lever value as a float (yes/no as 1/0); NaN for names and blocks."""
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return float(value)
    return float("nan")


def decisions_table(log, replication: int = 0) -> pd.DataFrame:
    """One row per lever change of a run (:attr:`sim.model.levers.LeverBoard.log`), events and decisions alike.

    Parameters
    ----------
    log : list of LeverChange
    replication : int

    Returns
    -------
    DataFrame
        Columns :data:`DECISION_COLUMNS` (see results/README.md).
    """
    rows = [{"replication": replication, "step": int(c.step), "source": c.source, "owner": c.owner,
             "lever": c.path, "before": _as_text(c.before), "after": _as_text(c.after),
             "before_value": _as_number(c.before), "after_value": _as_number(c.after), "reason": c.reason}
            for c in log]
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype="int64" if name in ("replication", "step") else
                                             "float64" if name.endswith("_value") else "object")
                             for name in DECISION_COLUMNS})
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
