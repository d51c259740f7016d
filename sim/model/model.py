"""The Mesa model of channel competition between banks and platforms.

:class:`ChannelModel` owns the agents, the network space, one random
generator and the customer state arrays.  Its :meth:`~ChannelModel.step`
reads like the ODD process overview (docs/ODD.md): one call per mechanism,
each a vectorised kernel from :mod:`sim.core`.
"""

from __future__ import annotations

import zlib
from functools import partial
from pathlib import Path

import mesa
import numpy as np
import scipy.sparse as sp
from mesa.agent import AgentSet
from mesa.discrete_space import Network

from sim.core.adoption import churn as churn_mechanism
from sim.core.adoption.cells import RelationshipCells, counted_cells
from sim.core.adoption.cohorts import CohortBook, Earnings, step_discount_rate
from sim.core.adoption.economics import (
    Ledger,
    RelationshipMargins,
    account,
    relationship_margin,
)
from sim.core.adoption.exposure import expose, per_reachable_spend, response
from sim.core.adoption.frequency import Counted, count, credited, first_of_each
from sim.core.adoption.funnel import Activations, binomial_approval, run_funnel
from sim.core.adoption.referral import ActivationLog, Promoters, spread, spread_offers
from sim.core.adoption.tally import RelationshipTally
from sim.core.codes import Channel
from sim.core.indexing import KeyTable, put
from sim.core.loans import LoanBook
from sim.core.params import Catalog, compile_catalog, rederive
from sim.core.population import Population, draw_population
from sim.core.risk.capital import dividends, starting_capital
from sim.core.risk.credit_state import CreditState, new_credit_state
from sim.core.risk.lending import book_activations, book_initial, prepay
from sim.core.risk.observation import observe
from sim.core.risk.settlement import settle
from sim.core.risk.underwriting import approval
from sim.core.state import CustomerState
from sim.core.touches import Touches
from sim.model.agents import MODEL_COUNTERS, Bank, Customer, Insurer, Platform
from sim.model.levers import LeverBoard, LeverChange, Market, Partnership
from sim.model.metrics import Recorder, decisions_table
from sim.model.observation import PeriodView, period_view, posted_terms
from sim.model.setup import MarketSetUp
from sim.network import SocialNetwork, build_network
from sim.scenario.paths import parse_value
from sim.scenario.schema import Scenario, make_read_only

#: Spawn-key entry of the credit side's random stream (a child of the run's seed sequence).
RISK_STREAM = 0x5249534B
#: Spawn-key entry of the decisions' random stream (the rule's exploration; learners have children of it).
DECISION_STREAM = 0x44454349
#: Spawn-key entry, under the decision stream, of each institution's learning stream (``learning_rng``).
LEARNING_STREAM = 0x4C524E47


class ChannelModel(MarketSetUp, mesa.Model):
    """Banks and platforms competing for customers on a social network.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`sim.load_scenario`).
    seed : int or numpy.random.SeedSequence, optional
        Everything random in the run draws from generators made from it
        (default: the scenario's ``seed``); a ``numpy.random.Generator`` is
        refused (TypeError), since the credit and decision streams are
        children of the seed sequence.

    Attributes
    ----------
    customers, banks, platforms, insurers : mesa.AgentSet
    grid : mesa.discrete_space.Network
        The social network as a Mesa space; each customer sits in its node's cell.
    agents, agents_by_type
        Mesa's views of every agent, customers included.

    network : SocialNetwork
        The same network as a sparse adjacency, for the kernels.
    population : Population
        Fixed customer attributes (arrays).
    state : CustomerState
        Customer state (arrays) moved by the mechanisms.
    catalog : Catalog
        The parameters as flat arrays the kernels read, derived from the
        levers; a changed lever derives again only the sections it feeds.
    partnerships : dict of str to Partnership
        Each partnership's levers (``partnerships.<id>``).
    market : Market
        The market-wide levers (regulation, macro, credit, funnel, choice, products).
    levers : LeverBoard
        Every lever record, :meth:`set_lever` and the change log (``levers.log``).
    ledger : Ledger or None
        The last step's accounts.
    relationships : RelationshipCells
        The relationships at the end of the last recorded step, counted by
        (product, provider, entry channel, city tier), the loan relationships
        one by one (:func:`sim.core.adoption.cells.counted_cells`): the
        ledger, the cohort book and the decisions sum these.
    tally : RelationshipTally
        The relationship counts by cell and by cohort, moved each step by the
        relationships begun and ended (:mod:`sim.core.adoption.tally`).
    margins : RelationshipMargins
        The last recorded step's margin of every relationship, one entry per
        relationship (:func:`sim.core.adoption.economics.relationship_margin`),
        computed from the state on first access; the ledger is its sum (to
        floating-point rounding).
    capital : numpy.ndarray
        (I,) each institution's capital; changed in one place, by the step's
        profit (adoption and credit) when a step is recorded.
    initial_capital : numpy.ndarray
        (I,) capital at set-up (sized to the book held before the run); a
        burn-in restarts capital at it.
    credit : CreditState or None
        The risk side's state (loan book, score errors, insurers, P2P
        funding) when ``credit.enabled``; None otherwise.  Moved by the
        functions of :mod:`sim.core.risk` with ``credit_rng``.

    Notes
    -----
    The step reads only arrays, so the Mesa side of the customers is built
    on first access: reading :attr:`customers`, :attr:`agents`,
    :attr:`agents_by_type`, :attr:`grid` or :meth:`customer` creates the
    networkx graph, the ``Network`` space and one :class:`Customer` per node
    (at a million customers, about half a minute and a gigabyte or two),
    with the ids and cells an eager build would give (customers 1..n, then
    the institutions).  The institutions (:attr:`banks`, :attr:`platforms`,
    :attr:`insurers`, :meth:`institution`) exist from the start.  A run,
    a sweep or a game that never reads them never pays for them.
    """

    def __init__(self, scenario: Scenario, seed: int | np.random.SeedSequence | None = None):
        if seed is None:
            seed = scenario.seed
        if isinstance(seed, (int, np.integer)):
            seed = np.random.SeedSequence(seed)
        elif not isinstance(seed, np.random.SeedSequence):
            raise TypeError(f"seed must be an int, a numpy.random.SeedSequence or None; got {type(seed).__name__}")
        super().__init__(rng=seed)
        # The model's own copy: its blocks become the lever records, read-only outside set_lever,
        # and the caller's scenario is never changed by the run.
        self.scenario = scenario = make_read_only(scenario.model_copy(deep=True))
        base_dir = Path(scenario._source).parent if scenario._source else None
        self.network: SocialNetwork = build_network(scenario.network, scenario.population.size, self.rng, base_dir)
        self.population: Population = draw_population(scenario.population, self.network, self.rng)
        self.catalog: Catalog = compile_catalog(scenario)
        cat = self.catalog
        n = self.network.size
        self.state = CustomerState.empty(n, cat.n_offers, len(cat.products), cat.n_institutions, len(cat.platform_ids))
        self._draw_static_reach()
        self._audience: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # employees, their followers
        self._media_network: dict[int, sp.csr_array] = {}                # adjacency + follower edges
        self.start_step = -scenario.time.burn_in      # the set-up's step: a burn-in runs from it to step 0
        self.credit: CreditState | None = None
        if cat.risk.enabled:
            self.credit_rng = self._risk_rng(seed)
            self.credit = new_credit_state(cat, self.network, self.population, self.state, self.credit_rng)
        self._place_initial_customers()
        self._aware_any = self.state.aware.any(axis=1)
        self._activations = ActivationLog(self.network.adjacency.indptr)   # relationships begun within the windows
        if self.credit is not None:
            self.capital = book_initial(self.credit, cat, self.state, self.credit_rng, start=self.start_step)
        else:
            no_book = np.zeros(cat.n_institutions)
            self.capital = starting_capital(cat, no_book, no_book, n)[0]
        self.initial_capital = self.capital.copy()
        self.approve_fns = self._approval_functions()
        self._keys = KeyTable()      # reusable tables for the step's deduplications (O(touches) each)
        self._distinct_ads = False   # this step's advertising exposed no (customer, offer) pair twice
        self._funnel_counts = np.zeros((len(cat.products), cat.n_institutions, cat.n_channels, 6), dtype=np.int64)

        # The Mesa side of the customers (the Network space, one Customer per node) is built on first access.
        MODEL_COUNTERS.reserve(self, n)
        self._grid: Network | None = None
        self._customer_list: list[Customer] | None = None
        for i, iid in enumerate(cat.institution_ids):
            group = scenario.banks if cat.institution_kind[i] == "bank" else scenario.platforms
            (Bank if cat.institution_kind[i] == "bank" else Platform)(self, i, iid, group[iid])
        for j, jid in enumerate(cat.risk.insurer_ids):
            Insurer(self, j, jid, scenario.insurers[jid])
        self.partnerships = {pid: Partnership(pid, spec) for pid, spec in scenario.partnerships.items()}
        self.market = Market(scenario)
        self.banks = self._agents_by_type.get(Bank, AgentSet([], random=self.random))
        self.platforms = self._agents_by_type.get(Platform, AgentSet([], random=self.random))
        self.insurers = self._agents_by_type.get(Insurer, AgentSet([], random=self.random))
        self.levers = LeverBoard(scenario, [*self.banks, *self.platforms, *self.insurers, *self.partnerships.values(),
                                            *self.market.blocks.values()],
                                 on_change=self._levers_changed, clock=lambda: self.steps)

        self.institutions = AgentSet([*self.banks, *self.platforms, *self.insurers], random=self.random)
        self.decisions_every = scenario.decisions.every
        # Banks, then platforms, then insurers: the first of them with an id is the one named by it.
        self._institution_ids = {a.institution_id: a for a in reversed([*self.banks, *self.platforms,
                                                                         *self.insurers])}
        self._decision_seed = np.random.SeedSequence(entropy=seed.entropy, spawn_key=(*seed.spawn_key, DECISION_STREAM))
        self.decision_rng = np.random.default_rng(self._decision_seed)
        self.posted: dict = {}
        self._posted_of: tuple[tuple, dict] | None = None     # the lever records and the terms they post
        self.period: PeriodView | None = None
        self.posted_before: dict = {}
        self.notices: list[tuple[int, str, str, int]] = []

        self.ledger: Ledger | None = None
        self.relationships: RelationshipCells | None = None
        self._margins: RelationshipMargins | None = None
        self._tier = self.population.city_tier.astype(np.int64)
        self._touch_counts = np.zeros((cat.n_institutions, cat.n_channels), dtype=np.int64)
        self._marketing_spend = np.zeros((cat.n_institutions, cat.n_channels))
        self.cohorts = CohortBook(cat.n_institutions, cat.n_channels, len(cat.products))
        self.tally = RelationshipTally(len(cat.products), cat.n_institutions, cat.n_channels, self._tier,
                                       self.cohorts.cell_of)
        self.recorder = Recorder(cat, cohorts=self.cohorts,
                                 step_rate=step_discount_rate(scenario.valuation.discount_rate, scenario.time.unit))
        self.last = {}
        self._burning_in = False
        self.burn_in(scenario.time.burn_in)
        self._record(step=0, activations=Activations.concat([]), switched=Activations.concat([]),
                     churned_from=np.zeros(0, np.int16), promoters=0,
                     extra={"churned": 0, "switched": 0, "funnel_entries": 0}, initial=True)

    def burn_in(self, steps: int) -> None:
        """Run ``steps`` steps before step 0 with the start-of-run settings; nothing of them is recorded.

        The burn-in steps are numbered ``1 - steps .. 0``, so step 0 is the
        end of the burn-in and relationships won during it carry a start step
        <= 0 (the initial cohorts).  They draw from the run's generators,
        keep the accounts as a run would (the same draws as the first
        ``steps`` steps of a run without burn-in), and then capital restarts
        at its set-up value; customer state, the loan book and the
        referral windows carry over.  Events (timed from step 1) cannot
        fire during it.
        """
        if steps <= 0:
            return
        self.steps = -steps
        self._burning_in = True
        try:
            for _ in range(steps):
                self.step()
        finally:
            self._burning_in = False
        self.capital[:] = self.initial_capital
        self._funnel_counts[:] = 0
        self._touch_counts[:] = 0

    # ------------------------------------------------------------------ the Mesa side, built on first access
    @property
    def grid(self) -> Network:
        """The social network as a Mesa space, each customer in its node's cell (built, with them, on first access)."""
        self._build_customers()
        return self._grid

    @property
    def margins(self) -> RelationshipMargins | None:
        """The last recorded step's margin of every relationship (None before the first); see the class notes."""
        if self._margins is None and self.ledger is not None:
            self._margins = relationship_margin(self.state, self.catalog,
                                                self.credit.book if self.credit is not None else None)
        return self._margins

    @property
    def customers(self) -> AgentSet:
        """Every :class:`Customer`, in node order (created on first access, see :meth:`_build_customers`)."""
        self._build_customers()
        return self._agents_by_type[Customer]

    @property
    def agents(self) -> AgentSet:
        """Every agent of the model: the customers, then the banks, platforms and insurers."""
        self._build_customers()
        return self._all_agents

    @property
    def agents_by_type(self) -> dict:
        """An AgentSet per agent class, customers first (as :attr:`agents`)."""
        self._build_customers()
        return self._agents_by_type

    @property
    def agent_types(self) -> list[type]:
        return list(self.agents_by_type)

    def _build_customers(self) -> None:
        """Create the Network space and the Customer agents in their cells, once, exactly as an eager build would.

        The customers take the ids the model set aside for them (1..n, see
        :meth:`sim.model.agents.ModelCounters.reserve`) and come first in
        :attr:`agents` and :attr:`agents_by_type`, before the institutions
        built with the model.  The step never needs them: a command-line
        run, a sweep or a game never pays for a million Python objects.
        """
        if self._customer_list is not None:
            return
        self._grid = grid = Network(self.network.graph, random=self.random)
        institutions = list(self._agents)
        for agent in institutions:
            self.deregister_agent(agent)
        by_type = dict(self._agents_by_type)
        self._agents_by_type.clear()
        self._customer_list = [Customer(self, i, grid[i]) for i in range(self.network.size)]
        self._agents_by_type.update(by_type)
        for agent in institutions:
            self.register_agent(agent)

    # ------------------------------------------------------------------ set-up
    def _risk_rng(self, seed: np.random.SeedSequence) -> np.random.Generator:
        """The credit side's generator: its own child of the run's seed sequence.

        Kept apart from ``self.rng`` so that switching credit on does not
        move the adoption side's draws before the first loan decision.
        """
        return np.random.default_rng(np.random.SeedSequence(entropy=seed.entropy,
                                                            spawn_key=(*seed.spawn_key, RISK_STREAM)))

    def _approval_functions(self) -> dict:
        """Approval hook per product: underwriting for credit products when credit is on, else binomial."""
        cat = self.catalog
        return {k: (approval(self.credit, cat, self.state, k, self.credit_rng)
                    if self.credit is not None and cat.risk.is_credit[k]
                    else binomial_approval(cat.approve[k])) for k in range(len(cat.products))}

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One step, in the order of the ODD process overview.

        The step that reaches the horizon (step ``time.steps``, counted from
        step 0 after any burn-in) sets ``running`` to False, which ends
        Mesa's :meth:`~mesa.Model.run_model`; stepping on past it still
        works, holding the last macro value.
        """
        t = self.steps
        self.apply_events(t)
        if self.credit is not None:
            settle(self.credit, self.catalog, self.state, self.network.adjacency, self.capital, t, self.credit_rng)
        churned, left, switched = self.churn_and_switch(t)
        promoters = self.promoters(t)
        touches = Touches.concat([self.advertising(), self.referrals(promoters), self.employee_shares()])
        self._touch_counts = self.count_touches(touches)
        counted = count(touches, self.state, self.catalog, t, self.rng, self._keys, self._distinct_ads)
        self.become_aware(counted)
        won, entries = self.funnel(counted, t)
        activations = Activations.concat([won, switched])
        if self.credit is not None:
            book_activations(self.credit, self.catalog, self.state, activations, t)
        self._activations.add(t, activations.customer, activations.offer)
        self._record(t, won, left, int(promoters.customer.size),
                     {"churned": int(churned), "switched": int(switched.customer.size), "funnel_entries": entries},
                     switched=switched)
        if t > 0 and not self._burning_in and t % self.decisions_every == 0:
            self.decide()
        if t >= self.scenario.time.steps:
            self.running = False

    def decide(self) -> None:
        """Decisions: every institution's ``step()`` once, in a seeded random order (docs/ODD.md, Decisions).

        Each reads the terms every institution posted at the start of the
        round (rivals' moves of this round are seen at the next one) and
        changes its own levers; the catalog is derived again once, after
        the round.
        """
        self.posted_before, self.posted = self.posted, self._posted_terms()
        # Relationships by entry channel at the end of the step just recorded: counted only if a rule reads them.
        self.period = period_view(self.recorder, self.catalog, self.decisions_every,
                                  count_via=partial(self._count_via, self.steps),
                                  sum_margins=partial(self._channel_margins, self.steps))
        with self.levers.batch():
            self.institutions.shuffle_do("step")

    def _posted_terms(self) -> dict:
        """The terms posted now (:func:`posted_terms`), derived again only when a lever record has changed.

        A lever change replaces its holder's record (the records are not
        changed in place), so the same records post the same terms; the
        terms are read, never written, by the decisions.
        """
        records = tuple(holder.levers for holder in self.levers.holders.values())
        cached = self._posted_of
        if cached is None or len(cached[0]) != len(records) or any(
                a is not b for a, b in zip(cached[0], records, strict=True)):
            self._posted_of = cached = (records, posted_terms(self.current_scenario()))
        return cached[1]

    def _still_at(self, step: int) -> None:
        if self.steps != step:
            raise RuntimeError(f"the decision view of step {step} is read at step {self.steps}: "
                               "what it counts lazily is no longer there")

    def _count_via(self, step: int) -> np.ndarray:
        """(I, C, K) relationships by institution, entry channel and product now (the round of ``step``)."""
        self._still_at(step)
        return self.relationships.via

    def _channel_margins(self, step: int) -> np.ndarray:
        """(I, C) last step's relationship margins summed by institution and entry channel."""
        self._still_at(step)
        rel = self.relationships
        sums = rel.plain_margin().sum(axis=(0, 3))                   # (I, C + 1)
        for total in rel.loan_sum("margin", "channel", sums.size) if rel.has_loans else ():
            sums += total.reshape(sums.shape)
        return sums[:, 1:]

    def learning_rng(self, lever_key: str) -> np.random.Generator:
        """The random stream of one institution's learning policy (``lever_key`` e.g. ``banks.citic``).

        A child of the decision stream keyed by the institution's own key, so
        that a learner's draws depend on the run's seed and on who learns,
        never on the order or number of other learners (or on the workers
        running the replications).
        """
        seed = self._decision_seed
        key = zlib.crc32(lever_key.encode())
        return np.random.default_rng(np.random.SeedSequence(entropy=seed.entropy,
                                                            spawn_key=(*seed.spawn_key, LEARNING_STREAM, key)))

    def apply_events(self, step: int) -> None:
        """Timeline (mechanism 8): set the levers the events at this step name, each event as one change."""
        for event in self.scenario.events:
            if event.at != step:
                continue
            source = f"event at step {step}" + (f" ({event.label})" if event.label else "")
            with self.levers.batch():
                for path, value in event.set.items():
                    self.set_lever(path, parse_value(value) if isinstance(value, str) else value,
                                   reason=source, step=step, source="event")

    def set_lever(self, path: str, value, *, reason: str = "", step: int | None = None,
                  source: str = "manual") -> LeverChange:
        """Change one lever, e.g. ``banks.citic.credit.cutoff``; see :meth:`sim.model.levers.LeverBoard.set`."""
        return self.levers.set(path, value, reason=reason, step=step, source=source)

    def current_scenario(self) -> Scenario:
        """The scenario as loaded with every lever as it is now."""
        return self.levers.current_scenario()

    def _levers_changed(self, sections: set[str]) -> None:
        """Derive again the catalog sections changed levers feed, and what depends on them.

        Reach (branch coverage, app followers, platform users) is drawn again
        only when one of its inputs changed: it is a function of them and of
        the draws made at set-up, so skipping it otherwise changes nothing;
        the same holds for the employee programmes (:meth:`_staff`).
        """
        previous = self.catalog
        self.catalog = rederive(self.catalog, self.levers.current_scenario(), sections)
        self.recorder.catalog = self.catalog
        if self._reach_inputs(previous) != self._reach_inputs(self.catalog):
            self._apply_reach()
        if self._staff_inputs(previous) != self._staff_inputs(self.catalog):
            self._staff(at_start=False)
        self.approve_fns = self._approval_functions()

    @staticmethod
    def _staff_inputs(catalog: Catalog) -> tuple:
        """What :meth:`_staff` reads from the catalog (programme sizes, audiences, promoted offers)."""
        return (catalog.employees.tobytes(), catalog.employee_audience.tobytes(), catalog.employee_offer.tobytes())

    @staticmethod
    def _reach_inputs(catalog: Catalog) -> tuple:
        """What :meth:`_apply_reach` reads from the catalog, in a comparable form."""
        return (catalog.branch_coverage.tobytes(), catalog.app_followers.tobytes(),
                repr(catalog.app_follower_communities), catalog.platform_users.tobytes())

    def churn_and_switch(self, step: int) -> tuple[int, np.ndarray, Activations]:
        """Mechanism 6: leavers, the institutions they left, and switchers' new relationships."""
        churned, left, switched = 0, [], []
        state, cat = self.state, self.catalog
        churning = bool(cat.churn.size) and float(cat.churn.max()) > 0.0
        if not churning and cat.switching <= 0.0:        # neither mechanism can act: nothing is drawn
            return 0, np.zeros(0, np.int64), Activations.concat([])
        for k in range(len(cat.products)):
            switching = cat.switching > 0.0 and cat.offers_of_product(k).size >= 2
            # One scan per product, shared; none when neither mechanism can act (both would return at once).
            holders = (state.provider[:, k] >= 0).nonzero()[0] if churning or switching else None
            customers, providers = churn_mechanism.churn(k, state, self.catalog, self.rng, holders)
            if self.credit is not None:
                prepay(self.credit, self.catalog, state, customers, k, step)
            churned += customers.size
            left.append(providers)
            if customers.size:          # the leavers are some of the (sorted) holders: drop them
                holders = np.delete(holders, np.searchsorted(holders, customers))
            moved, previous = churn_mechanism.switch(k, state, self.population, self.catalog, step,
                                                     self.approve_fns[k], self.rng, holders)
            left.append(previous)
            switched.append(moved)
        return churned, np.concatenate(left).astype(np.int64), Activations.concat(switched)

    def promoters(self, step: int) -> Promoters:
        """Mechanism 2: (customer, offer) pairs whose relationship began within the referral window."""
        cat = self.catalog
        window = cat.referral_window[cat.offer_institution]
        self._activations.forget_before(step - (int(window.max()) if window.size else 0))
        self._note_changes()
        return self._activations.promoters(step, window)

    def _note_changes(self) -> None:
        """Move the relationship tally and the activation log by the relationships begun and ended since last time."""
        changes = self.state.take_changes()
        self.tally.apply(changes)
        self._activations.note_ends(changes, self.catalog.offer_institution, self.catalog.offer_product)

    def advertising(self) -> Touches:
        """Mechanism 1: branch, own app, live stream and platform ads, each bought by its spend.

        Each paid channel's spend per 1,000 reachable (its own ``spend``, or
        its share of the institution's ``marketing.budget``) sets its
        exposure probability through the market's response curve; what it
        costs this step (spend x reachable / 1,000) is kept in
        ``_marketing_spend`` for the ledger.
        """
        cat, state, rng = self.catalog, self.state, self.rng
        n = self.network.size
        spent = np.zeros((cat.n_institutions, cat.n_channels))
        offers_of = [cat.offers_of_institution(i) for i in range(cat.n_institutions)]
        budgeted = ~np.isnan(cat.budget)
        app_on = (cat.app_spend > 0) | (budgeted & (cat.budget_split[:, 1] > 0))
        live_on = cat.live_enabled & ((cat.live_spend > 0) | (budgeted & (cat.budget_split[:, 2] > 0)))
        advertised = np.array([o.size > 0 for o in offers_of], dtype=bool)
        private = state.private_domains((advertised & (app_on | live_on)).nonzero()[0])
        # The buys in the order they draw: (institution, audience, offers, channel, own spend, budget share, curve).
        buys = []
        for i in advertised.nonzero()[0]:
            offers = offers_of[i]
            buys.append((i, self._branch_audience[i], offers, Channel.BRANCH, cat.branch_spend[i],
                         cat.budget_split[i, 0], 0))
            if app_on[i] or live_on[i]:
                buys.append((i, private[i], offers, Channel.OWN_APP, cat.app_spend[i], cat.budget_split[i, 1], 1))
                if live_on[i]:
                    buys.append((i, private[i], offers, Channel.LIVE_STREAM, cat.live_spend[i],
                                 cat.budget_split[i, 2], 2))
        for j in cat.partner_active.nonzero()[0]:
            bank, platform = cat.partner_bank[j], cat.partner_platform[j]
            if advertised[bank]:
                buys.append((bank, self._platform_audience[platform], offers_of[bank], cat.platform_channel(platform),
                             cat.partner_spend[j], cat.partner_budget_share[j], 3))
        self._marketing_spend = spent
        if not buys:
            self._distinct_ads = True
            return Touches.empty()
        institution, audience, offers, channel, own, share, kind = zip(*buys, strict=True)
        reach = np.array([a.size for a in audience])
        per_thousand = per_reachable_spend(np.array(own), cat.budget[list(institution)], np.array(share), n, reach)
        p = response(per_thousand, cat.response_pmax[list(kind)], cat.response_s0[list(kind)])
        parts = []
        batches = [0] * cat.n_institutions       # exposure batches of each institution's offers this step
        for b in ((per_thousand > 0.0) & (reach > 0)).nonzero()[0]:
            i, size = institution[b], int(reach[b])
            spent[i, channel[b]] += per_thousand[b] * size / 1000.0
            # Every audience is a sorted set of distinct customers (positions of a mask): all n of them is arange(n).
            parts.append(expose(audience[b], offers[b], channel[b], float(p[b]), rng, everyone=size == n))
            batches[i] += 1
        # One batch per institution: every (customer, offer) pair is exposed at most once this step.
        self._distinct_ads = max(batches, default=0) <= 1
        return Touches.concat(parts)

    def referrals(self, promoters: Promoters) -> Touches:
        """Mechanism 2: promoters' neighbours reached with probability 1 - (1 - r)^m."""
        cat = self.catalog
        promoted = np.bincount(promoters.offer, minlength=cat.n_offers).nonzero()[0]   # the offers promoted, sorted
        return spread_offers(self.network.adjacency, promoters.customer, promoters.offer, promoted, Channel.REFERRAL,
                             cat.referral_rate[cat.offer_institution[promoted]], self.state.provider,
                             cat.offer_institution, cat.offer_product, self.rng,
                             neighbour_rows=(promoters.start, promoters.length))

    def employee_shares(self) -> Touches:
        """Employee self-media (SF3): employees share their bank's offer with their neighbours."""
        cat, state, parts = self.catalog, self.state, []
        for i in (cat.employees > 0).nonzero()[0]:
            offer = cat.employee_offer[i]
            if offer < 0:
                continue
            audience = self._media_network.get(i, self.network.adjacency)
            parts.append(spread(audience, self._employees[i], offer, Channel.EMPLOYEE,
                                cat.employee_rate[i], state.provider[:, cat.offer_product[offer]], i, self.rng))
        return Touches.concat(parts)

    def count_touches(self, touches: Touches) -> np.ndarray:
        """(I, C) touches made this step by each institution's offers through each channel.

        A touch is one customer reached with one offer through one channel in
        the step (an exposure, a referral, an employee's share: a "click" of
        SF3); a customer reached twice through the same channel with the same
        offer in one step counts once.
        """
        cat = self.catalog
        cells = cat.offer_institution[touches.offer].astype(np.int64) * cat.n_channels + touches.channel
        return np.bincount(cells, minlength=cat.n_institutions * cat.n_channels).reshape(
            cat.n_institutions, cat.n_channels
        )

    def become_aware(self, counted: Counted | Touches) -> None:
        """Touched customers know the offer; each pair is credited to its first counting touch in the step's order.

        ``counted`` holds the step's counting touches in their random
        attribution order (:func:`sim.core.adoption.frequency.count`; or
        the touches alone), so the channel kept is drawn uniformly among the
        pair's touches, and each pair is written once (no repeated-index
        writes).
        """
        state = self.state
        if isinstance(counted, Touches) or not (state.aware.flags.c_contiguous
                                                and state.aware_channel.flags.c_contiguous):
            touches = counted if isinstance(counted, Touches) else counted.touches
            first = credited(touches, self.catalog.n_offers, table=self._keys)
            put(state.aware, first.customer, first.offer, True)
            put(state.aware_channel, first.customer, first.offer, first.channel)
            self._aware_any[first.customer] = True
            return
        # The pair keys (customer x offers + offer) are the pairs' positions in the row-major (n, offers) arrays.
        at = first_of_each(counted.keys, self._keys)
        keys, touches = counted.keys[at], counted.touches
        state.aware.reshape(-1)[keys] = True
        state.aware_channel.reshape(-1)[keys] = touches.channel[at]
        self._aware_any[touches.customer[at]] = True

    def funnel(self, counted: Counted | Touches, step: int) -> tuple[Activations, int]:
        """Mechanism 3: per product, touched customers go through the funnel."""
        cat = self.catalog
        self._funnel_counts[:] = 0
        parts, entries = [], 0
        touches, entering = (counted, None) if isinstance(counted, Touches) else (counted.touches, counted.entering)
        K = len(cat.products)
        if K > 1:
            # The touches grouped by product, each group in the step's order (a stable sort): one gather, not K.
            touched_product = cat.offer_product[touches.offer]
            order = np.argsort(touched_product, kind="stable")
            bounds = np.searchsorted(touched_product[order], np.arange(K + 1))
            touches = touches.select(order)
            entering = entering[order] if entering is not None else None
        for k in range(K):
            if K == 1:
                mine, free = touches, entering
            else:
                lo, hi = bounds[k], bounds[k + 1]
                mine = Touches(touches.customer[lo:hi], touches.offer[lo:hi], touches.channel[lo:hi])
                free = entering[lo:hi] if entering is not None else None
            activations, _ = run_funnel(k, mine, self.state, self.population, cat, step,
                                        self.approve_fns[k], self.rng, self._funnel_counts[k], free, self._keys)
            entries += int(self._funnel_counts[k, :, :, 0].sum())
            parts.append(activations)
        return Activations.concat(parts), entries

    # ------------------------------------------------------------------ observation
    def _record(self, step: int, activations: Activations, churned_from: np.ndarray, promoters: int, extra: dict,
                switched: Activations, initial: bool = False) -> None:
        """Account for the step and record it.

        ``activations`` are the funnel's, ``switched`` the switchers'; ``initial``:
        the state at step 0, which earns and spends nothing.  During a burn-in
        the accounts move capital as in a run but nothing is recorded.
        """
        self._note_changes()
        book = self.credit.book if self.credit is not None else None
        self.relationships = relationships = counted_cells(self.tally.cells.copy(), self.state, self.catalog,
                                                           self._tier, book)
        self._margins = None
        held = relationships.held
        self.ledger = account(self.catalog, activations, churned_from, relationships, self._tier,
                              marketing_spend=None if initial else self._marketing_spend, switched=switched)
        credit = self.credit_observation(step)
        self.dividends = np.zeros(self.catalog.n_institutions)
        if not initial:
            profit = self.ledger.profit + (credit["institutions"]["credit_profit"] if credit is not None else 0.0)
            self.capital += profit
            if credit is not None:
                risk = self.catalog.risk
                self.dividends = dividends(self.capital, self.credit.risk_weighted, risk.capital_ratio, profit,
                                           risk.payout & risk.is_lender & ~risk.is_p2p)
                self.capital -= self.dividends
        if self._burning_in:
            return
        self._observe_cohorts(step, activations, switched, initial)
        state = self.state
        referral_code, employee_code = int(Channel.REFERRAL), int(Channel.EMPLOYEE)
        referral = int(np.count_nonzero(activations.channel == referral_code)
                       + np.count_nonzero(switched.channel == referral_code))
        self.last = {
            "aware": int(np.count_nonzero(self._aware_any)),
            "active": int(held.sum()) if held.shape[1] == 1 else state.holder_count(),
            "new_active": int(activations.customer.size),
            "referral_conversions": referral,
            "employee_conversions": int(np.count_nonzero(activations.channel == employee_code)
                                        + np.count_nonzero(switched.channel == employee_code)),
            "promoters": promoters,
            "r_eff": referral / promoters if promoters else float("nan"),
            **extra,
        }
        self.recorder.record(step, self.last, self.ledger, self.capital, self._funnel_counts, credit=credit,
                             dividends=self.dividends,
                             touches=self._touch_counts, tiers=held.sum(axis=1))

    def _observe_cohorts(self, step: int, activations: Activations, switched: Activations, initial: bool) -> None:
        """Add the step's relationships (the tally's cohort counts), margins and acquisitions to the cohort book."""
        cat, state, rel, book = self.catalog, self.state, self.relationships, self.cohorts
        if initial:
            book.observe_counts(step, self.tally.cohorts, None)
        else:
            earnings = Earnings(rel.cells.provider_margin, [(loans.customer, loans.margin) for loans in rel.loans])
            book.observe_counts(step, self.tally.cohorts, earnings,
                                [book.codes(state, loans.customer, k) for k, loans in enumerate(rel.loans)])
        if not initial:
            won = Activations.concat([activations, switched]) if switched.customer.size else activations
            paid = (np.concatenate([np.ones(activations.customer.size, bool), np.zeros(switched.customer.size, bool)])
                    if switched.customer.size else None)
            self.cohorts.acquire(step, cat.offer_institution[won.offer], won.channel, cat.offer_product[won.offer],
                                 self.ledger.spend_by_channel, paid=paid)

    def credit_observation(self, step: int | None = None) -> dict | None:
        """The credit side's observations now (see :func:`sim.core.risk.observation.observe`); None when off."""
        if self.credit is None:
            return None
        return observe(self.credit, self.catalog, self.state, self.steps if step is None else step)

    def tables(self, replication: int = 0):
        """The run so far as DataFrames, one per table of a run's results folder.

        Parameters
        ----------
        replication : int, default 0
            Written in each table's ``replication`` column.

        Returns
        -------
        dict of str to DataFrame
            ``market``, ``institutions``, ``channels``, ``funnel``,
            ``products``, ``tiers``, ``credit``, ``insurers``, ``cohorts``
            (from the recorder) and ``decisions`` (the change log): the ten
            tables of :data:`sim.core.codes.TABLE_NAMES`, whose rows and
            columns results/README.md describes.  ``credit`` and ``insurers``
            have no rows with credit off (or no insurers).
        """
        return {**self.recorder.tables(replication), "decisions": decisions_table(self.levers.log, replication)}

    def customer(self, index: int) -> Customer:
        """The Customer agent at network node ``index`` (the customers are created on first access).

        Raises
        ------
        IndexError
            ``index`` is not one of the nodes ``0 .. n-1`` (no negative indices).
        """
        n = self.network.size
        if not 0 <= index < n:
            raise IndexError(f"customer index {index} is out of range: the customers are 0..{n - 1}")
        self._build_customers()
        return self._customer_list[index]

    def institution(self, institution_id: str):
        """The Bank, Platform or Insurer agent with this id."""
        agent = self._institution_ids.get(institution_id)
        if agent is not None:
            return agent
        known = [*self.catalog.institution_ids, *self.catalog.risk.insurer_ids]
        raise KeyError(f"no institution '{institution_id}'; known: {', '.join(known)}")

    def loans(self):
        """Every loan of the run so far, one row per loan (empty when credit is off)."""
        return (self.credit.book if self.credit is not None else LoanBook()).frame()

    def run(self, steps: int | None = None) -> None:
        """Step ``steps`` times (default: the scenario's horizon)."""
        for _ in range(steps if steps is not None else self.scenario.time.steps):
            self.step()
