"""The Mesa agents: customers on the network, banks and platforms.

Agents are the model's public face for researchers: ``model.agents``,
``model.customers.select(...)``, ``customer.neighbors``.  Customer state lives
in the model's arrays (:class:`~sim.core.state.CustomerState`) so that the
step runs as vectorised kernels; a :class:`Customer` reads its row.
"""

from __future__ import annotations

import itertools
import weakref

import mesa
import numpy as np
from mesa.discrete_space import FixedAgent

from sim.core.codes import LOAN_STATUS_NAMES, STAGE_NAMES
from sim.model.decisions import DecisionMemory, decide
from sim.model.levers import LeverHolder
from sim.model.metrics import CREDIT_INSTITUTION_COLUMNS
from sim.scenario.schema import LIFE_STAGES


class ModelCounters:
    """``unique_id`` counters per model, holding the models weakly.

    Mesa 3.3 keeps its counters in a class-level ``Agent._ids`` dict keyed
    by model, so every model ever built stays alive (fixed in Mesa 3.4, which
    needs a newer Python).  Our agent classes use this table instead: ids are
    the same, and a model nobody references is freed.
    """

    def __init__(self) -> None:
        self._counters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._reserved: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __getitem__(self, model) -> itertools.count:
        counter = self._counters.get(model)
        if counter is None:
            counter = self._counters[model] = itertools.count(1)
        return counter

    def __len__(self) -> int:
        return len(self._counters)

    def reserve(self, model, count: int) -> None:
        """Set the next ``count`` ids of ``model`` aside for agents created later (:meth:`reserved`).

        Agents created meanwhile take the ids after the block, so the ids
        are those of an eager build that created the block's agents first.
        """
        start = next(self[model])
        after = self._counters[model] = itertools.count(start + count)
        # Once the block is used up, agents drawing from it share the model's counter.
        self._reserved[model] = itertools.chain(range(start, start + count), after)

    def reserved(self, model):
        """The ids :meth:`reserve` set aside for ``model`` and not yet used, then the model's counter."""
        return self._reserved[model]


#: The columns of the institutions table an institution's ``accounts`` hold.
ACCOUNTS = ("customers", "new_customers", "acquisition_spend", "revenue", "revenue_share_paid", "margin",
            "platform_income", "incentives", "cost", "profit", "capital")
#: The columns of the institutions table an institution's ``credit`` holds.
CREDIT = (*CREDIT_INSTITUTION_COLUMNS, "interest_income", "capital_ratio")

#: The one table shared by every agent class of the package, so ids stay unique within a model.
MODEL_COUNTERS = ModelCounters()


class _ReservedIds:
    """``Customer._ids``: the block of ids the model reserved for its customers, else the model's counter."""

    def __getitem__(self, model):
        try:
            return MODEL_COUNTERS.reserved(model)
        except KeyError:
            return MODEL_COUNTERS[model]


class Customer(FixedAgent):
    """A customer: one node of the social network.

    Attributes are read from the model's arrays, so they are always current.
    The model creates its customers on first access of ``model.customers``,
    ``model.agents``, ``model.grid`` or ``model.customer(i)``, with the ids
    it set aside for them (1..n) when it was built.
    """

    _ids = _ReservedIds()

    def __init__(self, model, index: int, cell):
        super().__init__(model)
        self._index = index
        self.cell = cell

    @property
    def index(self) -> int:
        """The customer's network node, its row of the model's arrays (0-based; ``unique_id`` is Mesa's, 1-based)."""
        return self._index

    @index.setter
    def index(self, value) -> None:
        raise AttributeError(f"a customer's index is its network node and cannot be changed "
                             f"(customer {self._index}, asked for {value!r})")

    @property
    def life_stage(self) -> str:
        return LIFE_STAGES[self.model.population.life_stage[self.index]]

    @property
    def city_tier(self) -> int:
        return int(self.model.population.city_tier[self.index]) + 1

    @property
    def community(self) -> str:
        return self.model.network.community_names[self.model.population.community[self.index]]

    @property
    def digital_affinity(self) -> float:
        return float(self.model.population.digital_affinity[self.index])

    @property
    def hazard(self) -> float:
        """Latent per-step default hazard (credit quality)."""
        return float(self.model.population.hazard[self.index])

    @property
    def defaulted(self) -> bool:
        """Has defaulted (permanent; counts for neighbours' contagion)."""
        return bool(self.model.state.defaulted[self.index])

    @property
    def loans(self) -> list[dict]:
        """Every loan the customer has had (empty when credit is off), oldest first."""
        credit = self.model.credit
        if credit is None:
            return []
        book, catalog = credit.book, self.model.catalog
        ids = np.flatnonzero(book.customer == self.index)
        insurers = catalog.risk.insurer_ids
        return [{
            "product": catalog.products[book.product[i]],
            "lender": catalog.institution_ids[book.lender[i]],
            "insurer": insurers[book.insurer[i]] if book.insurer[i] >= 0 else None,
            "amount": float(book.amount[i]),
            "rate": float(book.rate[i]),
            "start": int(book.start[i]),
            "maturity": int(book.maturity[i]),
            "status": LOAN_STATUS_NAMES[book.status[i]],
        } for i in ids]

    @property
    def employer(self) -> str | None:
        e = int(self.model.state.employer[self.index])
        return self.model.catalog.institution_ids[e] if e >= 0 else None

    @property
    def holdings(self) -> dict[str, dict]:
        """Per product: funnel stage, provider, channel and start step."""
        state, catalog = self.model.state, self.model.catalog
        out = {}
        for k, product in enumerate(catalog.products):
            provider = int(state.provider[self.index, k])
            channel = int(state.channel[self.index, k])
            out[product] = {
                "stage": STAGE_NAMES[state.stage[self.index, k]],
                "provider": catalog.institution_ids[provider] if provider >= 0 else None,
                "channel": catalog.channels[channel] if channel >= 0 else None,
                "since": int(state.since[self.index, k]) if provider >= 0 else None,
            }
        return out

    @property
    def aware_of(self) -> list[str]:
        """Offers the customer knows, as ``institution/product``."""
        catalog = self.model.catalog
        known = self.model.state.aware[self.index].nonzero()[0]
        return [
            f"{catalog.institution_ids[catalog.offer_institution[o]]}/{catalog.products[catalog.offer_product[o]]}"
            for o in known
        ]

    @property
    def neighbors(self) -> list[Customer]:
        """Customers adjacent on the social network."""
        return [agent for cell in self.cell.neighborhood for agent in cell.agents]

    def __repr__(self) -> str:
        return f"Customer(index={self.index}, unique_id={self.unique_id}, {self.life_stage}, tier {self.city_tier})"


class Decider(LeverHolder, mesa.Agent):
    """An agent that owns a lever record (``<group>.<id>``) and decides by its ``policy`` (docs/ODD.md Decisions).

    ``levers`` is the agent's validated spec; change it with :meth:`set_lever`.
    """

    kind = "decider"
    group = "deciders"
    _ids = MODEL_COUNTERS

    def __init__(self, model, index: int, institution_id: str, spec):
        super().__init__(model)
        self.index = index
        self.institution_id = institution_id
        self.lever_key = f"{self.group}.{institution_id}"
        self.levers = spec
        self.memory = DecisionMemory()

    @property
    def spec(self):
        """The current levers (alias of ``levers``)."""
        return self.levers

    @property
    def policy(self) -> str:
        """The kind of the policy: fixed, rule or learning."""
        return self.levers.policy.kind

    @property
    def exited(self) -> bool:
        """Has left the market (an insurer: stopped writing guarantees) by the exit rule."""
        return self.memory.exited_at is not None

    def step(self) -> None:
        """One decision by the policy (run by the model every ``decisions.every`` steps)."""
        decide(self, self.model.period, self.model.posted, self.model.posted_before)


class Institution(Decider):
    """A bank or platform; owns its levers (its scenario block, as now); its accounts are its last table row.

    ``levers`` is the institution's validated spec (offers, channels,
    referral, credit cut-off …); change it with :meth:`set_lever`.
    """

    kind = "institution"
    group = "institutions"

    @property
    def partnerships(self) -> list:
        """The partnerships this institution is part of (each owns its levers)."""
        return [p for p in self.model.partnerships.values() if self.institution_id in (p.bank, p.platform)]

    @property
    def capital(self) -> float:
        return float(self.model.capital[self.index])

    @property
    def customers(self) -> int:
        """Active relationships (customer-product pairs)."""
        return int(self.model.ledger.customers[self.index].sum()) if self.model.ledger else 0

    def _row(self, names) -> dict[str, float | bool]:
        """Columns ``names`` of this institution's row of the institutions table at the last recorded step."""
        row = self.model.recorder.latest()
        if not row:
            return {}
        i = self.index
        return {name: (bool(row[name][i]) if row[name].dtype == bool else float(row[name][i])) for name in names}

    @property
    def accounts(self) -> dict[str, float]:
        """Last recorded step's accounts: revenue, margin, costs, profit (credit's included), capital.

        The numbers of the institution's row of the ``institutions`` table at that step.
        """
        return self._row(ACCOUNTS)

    @property
    def credit(self) -> dict[str, float | bool]:
        """The lending book and credit flows of the last recorded step (empty when credit is off).

        The numbers of the institution's row of the ``institutions`` table at
        that step; ``interest_income`` is the table's (the lender's interest,
        or a P2P platform's investors').
        """
        if self.model.credit is None:
            return {}
        return self._row(CREDIT)

    @property
    def failed(self) -> bool:
        """Failed as a lender (capital exhausted, or a P2P platform that could not meet a run)."""
        return bool(self.model.credit.failed[self.index]) if self.model.credit is not None else False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.institution_id!r})"


class Bank(Institution):
    """A bank: state-owned, joint-stock or city commercial."""

    kind = "bank"
    group = "banks"


class Platform(Institution):
    """An internet platform: scenario, social, aggregator or P2P."""

    kind = "platform"
    group = "platforms"


class Insurer(Decider):
    """A credit-guarantee insurer (SF12): guarantees loans its partner lenders would refuse.

    Its balance sheet lives in the model's credit state; the agent reads it.
    """

    kind = "insurer"
    group = "insurers"

    @property
    def capital(self) -> float:
        credit = self.model.credit
        return float(credit.insurer_capital[self.index]) if credit is not None else 0.0

    @property
    def failed(self) -> bool:
        credit = self.model.credit
        return bool(credit.insurer_failed[self.index]) if credit is not None else False

    @property
    def accounts(self) -> dict[str, float]:
        """Last step's premiums and claims, covered balance, capital, writing and failed."""
        credit = self.model.credit
        if credit is None:
            return {}
        seen = self.model.credit_observation()["insurers"]
        j = self.index
        return {name: (bool(v[j]) if v.dtype == bool else float(v[j])) for name, v in seen.items()}

    def __repr__(self) -> str:
        return f"Insurer({self.institution_id!r})"
