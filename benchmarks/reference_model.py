"""A plain object-per-agent Mesa implementation of exposure, referral and the funnel.

This is the yardstick for :mod:`sim`'s vectorised model: the same rules
(mechanisms 1-3 of docs/ODD.md, section 7, restricted to one product and one advertising
channel per institution) written the way Mesa's own network examples are
written (``mesa/examples/basic/virus_on_network``): every customer is a
:class:`~mesa.discrete_space.FixedAgent` on a
:class:`~mesa.discrete_space.Network`, keeps its state in Python attributes,
and loops over its neighbours in Python when it acts.  There are no
vectorisation tricks here on purpose; it stands for how a Mesa user would
write the model.

Rules (one step, ``t = model.steps``)
-------------------------------------
1. Exposure.  Every customer is exposed to institution ``j``'s offer with
   probability ``exposure_rate``, independently per institution (each
   institution has one channel that reaches everyone), and becomes aware of
   it.  For a customer with no provider the exposure counts as a touch with
   probability ``repeat_decay ** m``, ``m`` its earlier exposures to ``j``
   while it had no provider (cleared when it becomes a customer).
2. Referral.  A customer who became active with provider ``j`` at step ``s``
   is a promoter at steps ``s + 1 .. s + window`` (``window=None``: for ever).
   Each promoter gives each neighbour who is not a customer of ``j`` an
   independent chance ``referral_rate`` to become aware of ``j``; a neighbour
   with ``m`` promoters of ``j`` is therefore reached with probability
   ``1 - (1 - referral_rate) ** m``.  A referral that reaches a customer
   already aware of ``j`` still counts as a touch.
3. Funnel.  A customer touched at least once this step (by 1 or 2) who holds
   no provider goes through: interested with probability ``interest``,
   comparing with ``compare``, a choice among the institutions it is aware of
   by multinomial logit (utility ``brand[j]`` plus a standard Gumbel draw, the
   highest wins), applied with ``apply``, approved with ``approve``, and then
   is active with the chosen provider from step ``t``.

Exposure and referral are one activation stage (``spread``) and the funnel is
a second (``step``), each over all customers in random order.  Two stages keep
the update synchronous: everyone's touches for step ``t`` are in before anyone
decides, as in the vectorised model's order exposure -> referral -> funnel.
Within the first stage the order does not matter: who is touched, and of whom
they become aware, has the same distribution whichever customer acts first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx
from mesa import DataCollector, Model
from mesa.discrete_space import FixedAgent, Network

# Funnel stages a customer can end a step in.
NONE, AWARE, INTERESTED, COMPARING, REJECTED, ACTIVE = (
    "none", "aware", "interested", "comparing", "rejected", "active",
)


class Customer(FixedAgent):
    """A customer on the social network: who it knows, where it is in the funnel, who serves it.

    Attributes
    ----------
    aware : list of bool
        ``aware[j]``: knows institution ``j``'s offer.
    touched : bool
        Got at least one exposure or referral in the current step.
    stage : str
        Funnel stage the customer's last attempt ended in.
    provider : int or None
        Institution the customer is active with.
    since : int or None
        Step at which it became active.
    """

    def __init__(self, model: ReferenceModel, cell) -> None:
        super().__init__(model)
        self.cell = cell
        self.aware = [False] * model.institutions
        self.exposures = [0] * model.institutions
        self.touched = False
        self.stage = NONE
        self.provider = None
        self.since = None

    @property
    def is_promoter(self) -> bool:
        """Became active within the last ``window`` steps (before the current one)."""
        if self.provider is None:
            return False
        window = self.model.window
        age = self.model.steps - self.since
        return age >= 1 and (window is None or age <= window)

    def spread(self) -> None:
        """Stage 1: see the institutions' ads, then, as a promoter, refer the neighbours."""
        model = self.model
        for j in range(model.institutions):
            if self.random.random() < model.exposure_rate:
                self.aware[j] = True
                if self.provider is None:
                    m = self.exposures[j]
                    if m == 0 or self.random.random() < model.repeat_decay ** m:
                        self.touched = True
                    self.exposures[j] = min(m + 1, 255)
        if self.is_promoter:
            j = self.provider
            for neighbour in self.cell.neighborhood.agents:
                if neighbour.provider != j and self.random.random() < model.referral_rate:
                    neighbour.aware[j] = True
                    neighbour.touched = True

    def step(self) -> None:
        """Stage 2: a touched customer without a provider goes through the funnel."""
        if not self.touched:
            return
        self.touched = False
        if self.provider is not None:
            return
        model = self.model
        interest, compare, apply, approve = model.funnel
        self.stage = AWARE
        if self.random.random() >= interest:
            return
        self.stage = INTERESTED
        if self.random.random() >= compare:
            return
        self.stage = COMPARING
        choice = self.choose()
        if self.random.random() >= apply:
            return
        if self.random.random() >= approve:
            self.stage = REJECTED
            return
        self.stage = ACTIVE
        self.provider = choice
        self.since = model.steps
        self.exposures = [0] * model.institutions

    def choose(self) -> int:
        """Multinomial logit over the known institutions: highest brand + Gumbel noise."""
        best, best_utility = None, -math.inf
        for j, known in enumerate(self.aware):
            if known:
                utility = self.model.brands[j] + self.gumbel()
                if utility > best_utility:
                    best, best_utility = j, utility
        return best

    def gumbel(self) -> float:
        """A standard Gumbel draw, ``-log(-log(U))``."""
        u = self.random.random()
        while u == 0.0:
            u = self.random.random()
        return -math.log(-math.log(u))


def active_count(model: ReferenceModel) -> int:
    """Customers active with any provider."""
    return sum(1 for a in model.agents if a.provider is not None)


def active_by_institution(model: ReferenceModel) -> list[int]:
    """Customers active with each institution."""
    counts = [0] * model.institutions
    for a in model.agents:
        if a.provider is not None:
            counts[a.provider] += 1
    return counts


def aware_by_institution(model: ReferenceModel) -> list[int]:
    """Customers aware of each institution's offer."""
    counts = [0] * model.institutions
    for a in model.agents:
        for j, known in enumerate(a.aware):
            if known:
                counts[j] += 1
    return counts


class ReferenceModel(Model):
    """Channel competition reduced to exposure, referral and the funnel, one object per customer.

    Parameters
    ----------
    n : int
        Number of customers (nodes of the network).
    mean_degree : int
        ``k`` of the Watts-Strogatz ring lattice (even).
    rewiring : float
        Rewiring probability of the Watts-Strogatz graph.
    institutions : int
        Number of competing institutions, each with one channel reaching everyone.
    exposure_rate : float
        Per-step chance a customer is exposed to an institution's offer.
    repeat_decay : float
        ``d``: an exposure after ``m`` earlier ones (while without a provider) is a touch with probability ``d ** m``.
    referral_rate : float
        ``r``: per-step chance a promoter makes a neighbour aware of its provider.
    window : int or None
        ``W``: steps a new customer stays a promoter; ``None`` for ever.
    funnel : (interest, compare, apply, approve)
        Stage probabilities.
    brands : sequence of float, optional
        Brand constant of each institution in the logit; default zeros.
    seed : int, optional
        Seed of ``model.random`` (all draws, including the graph).
    collect : bool
        Record active and aware counts per step in ``datacollector``.
    """

    def __init__(
        self,
        n: int = 10_000,
        mean_degree: int = 10,
        rewiring: float = 0.1,
        institutions: int = 3,
        exposure_rate: float = 0.02,
        repeat_decay: float = 0.8,
        referral_rate: float = 0.03,
        window: int | None = 6,
        funnel: Sequence[float] = (0.5, 0.8, 0.7, 0.95),
        brands: Sequence[float] | None = None,
        seed: int | None = None,
        collect: bool = True,
    ) -> None:
        super().__init__(seed=seed)
        if len(funnel) != 4:
            raise ValueError(f"funnel must be (interest, compare, apply, approve), got {funnel!r}")
        self.institutions = institutions
        self.exposure_rate = exposure_rate
        self.repeat_decay = repeat_decay
        self.referral_rate = referral_rate
        self.window = window
        self.funnel = tuple(float(p) for p in funnel)
        self.brands = [0.0] * institutions if brands is None else [float(b) for b in brands]
        if len(self.brands) != institutions:
            raise ValueError(f"brands needs {institutions} values, got {len(self.brands)}")

        graph = nx.watts_strogatz_graph(n, mean_degree, rewiring, seed=self.random)
        self.grid = Network(graph, capacity=1, random=self.random)
        Customer.create_agents(self, n, list(self.grid.all_cells))

        self.datacollector = None
        if collect:
            self.datacollector = DataCollector(
                model_reporters={
                    "active": active_count,
                    "active_by_institution": active_by_institution,
                    "aware_by_institution": aware_by_institution,
                }
            )
            self.datacollector.collect(self)

    def step(self) -> None:
        """Exposure and referral for everyone, then the funnel for everyone."""
        self.agents.shuffle_do("spread")
        self.agents.shuffle_do("step")
        if self.datacollector is not None:
            self.datacollector.collect(self)
