"""The recorded steps' accounts, and the same stacked over a leading step axis to derive the tables at once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.core.adoption.economics import Ledger


@dataclass(frozen=True)
class StepAccounts:
    """What a step recorded of the institutions: its ledger, the capital and dividends after it, credit's measures."""

    step: int
    ledger: Ledger
    capital: np.ndarray                  # (I,) after the step's profit and dividends
    dividends: np.ndarray                # (I,) paid out of the step's profit
    credit: dict[str, np.ndarray]        # the credit observation's institution measures, (I,) each
    tiers: np.ndarray                    # (I, 4) relationships by the customers' city tier


class _StackedLedger:
    """The ledgers of several steps as one :class:`Ledger` with a leading step axis, each field stacked on first use.

    :class:`Ledger`'s derived accounts are elementwise or over the last axis,
    so they are each step's figures exactly.
    """

    margin, new_customers, acquisition_spend = Ledger.margin, Ledger.new_customers, Ledger.acquisition_spend
    cost, profit = Ledger.cost, Ledger.profit

    def __init__(self, ledgers: list[Ledger]):
        self._ledgers = ledgers

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        values = [getattr(ledger, name) for ledger in self._ledgers]
        if name == "switched_by_channel":
            values = [v if v is not None else np.zeros_like(ledger.new_by_channel)
                      for v, ledger in zip(values, self._ledgers, strict=True)]
        if isinstance(values[0], dict):
            stacked = {key: np.stack([v[key] for v in values]) for key in values[0]}
        else:
            stacked = np.stack(values)
        self.__dict__[name] = stacked
        return stacked


class StackedAccounts:
    """:class:`StepAccounts` of several steps, stacked over a leading step axis (T) on first use of each part."""

    def __init__(self, accounts: list[StepAccounts]):
        self._accounts = accounts
        self.step = np.array([a.step for a in accounts], dtype=np.int64)
        self.ledger = _StackedLedger([a.ledger for a in accounts])

    @cached_property
    def capital(self) -> np.ndarray:
        return np.stack([a.capital for a in self._accounts])

    @cached_property
    def dividends(self) -> np.ndarray:
        return np.stack([a.dividends for a in self._accounts])

    @cached_property
    def tiers(self) -> np.ndarray:
        return np.stack([a.tiers for a in self._accounts])

    @cached_property
    def credit(self) -> dict[str, np.ndarray]:
        """Credit's institution measures, each stacked when first read."""
        return _StackedMeasures(self._accounts)


class _StackedMeasures(dict):
    """Credit's institution measures of several steps by name, each (T, I) array stacked on first use."""

    def __init__(self, accounts: list[StepAccounts]):
        super().__init__()
        self._accounts = accounts

    def __missing__(self, name: str) -> np.ndarray:
        value = self[name] = np.stack([a.credit[name] for a in self._accounts])
        return value
