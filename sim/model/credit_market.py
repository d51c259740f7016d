"""The risk side of one run: loan book, lenders' and insurers' balance sheets (mechanisms 4, 5, 8).

:class:`CreditMarket` holds what the credit side remembers between steps —
the loan book, each customer's fixed credit-model errors and threshold, P2P
platforms' investor cash and alarm, insurers' capital, who has failed — and
calls the kernels of :mod:`sim.core.risk.credit`, :mod:`~sim.core.risk.contagion`,
:mod:`~sim.core.risk.insurance` and :mod:`~sim.core.risk.p2p` in the order
of the ODD process overview.  The model calls it; it never steps itself.

All its random draws come from its own generator (a stream of the run's
seed separate from the adoption side's), so a scenario without credit draws
exactly what it drew before the credit side existed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.core.risk import contagion, credit, insurance, p2p
from sim.core.adoption.churn import leave
from sim.core.adoption.funnel import Activations, ApproveFn
from sim.core.codes import LoanStatus, Stage, NO_LOAN
from sim.core.loans import LoanBook

#: Measures of the ``credit`` table, per (product, lender, channel, segment) and step.
CREDIT_MEASURES = ("applications", "approvals", "rejections", "insured", "loans_at_risk", "defaults", "losses")
APPLICATIONS, APPROVALS, REJECTIONS, INSURED, AT_RISK, DEFAULTS, LOSSES = range(len(CREDIT_MEASURES))
#: Segments: subprime (2) × life stage (3) × loan inside a sanctioning community (2).
N_SEGMENTS = 12


@dataclass
class CreditAccounts:
    """One step's credit flows: per institution (I), per insurer (J), and market counts."""

    applications: np.ndarray
    approvals: np.ndarray
    rejections: np.ndarray
    insured_approvals: np.ndarray
    new_loans: np.ndarray
    repaid: np.ndarray
    defaults: np.ndarray
    losses: np.ndarray
    insured_losses: np.ndarray
    interest_income: np.ndarray
    premiums_paid: np.ndarray
    bureau_cost: np.ndarray
    guarantee_paid: np.ndarray
    investor_withdrawals: np.ndarray
    premiums: np.ndarray               # (J,) earned by insurers
    claims_paid: np.ndarray            # (J,)
    claims_unpaid: np.ndarray          # (J,) due but not paid (insurer failed)
    new_guarantees: np.ndarray         # (J,) loans guaranteed this step
    new_defaults: int = 0              # customers defaulting this step
    contagion_defaults: int = 0
    threshold_defaults: int = 0
    seeded_defaults: int = 0
    borrowers_at_risk: int = 0

    @classmethod
    def zeros(cls, institutions: int, insurers: int) -> "CreditAccounts":
        arrays = {}
        for f in fields(cls):
            if f.type == "np.ndarray":
                size = insurers if f.name in ("premiums", "claims_paid", "claims_unpaid", "new_guarantees") else institutions
                integer = f.name in ("applications", "approvals", "rejections", "insured_approvals", "new_loans",
                                     "repaid", "defaults", "new_guarantees")
                arrays[f.name] = np.zeros(size, dtype=np.int64 if integer else np.float64)
        return cls(**arrays)

    def credit_profit(self, is_p2p: np.ndarray) -> np.ndarray:
        """What the step's lending adds to each institution's capital.

        Balance-sheet lenders: net interest − (losses − insured losses) −
        premiums − bureau queries.  P2P platforms lend investors' money: only
        the guarantee they pay and their bureau queries touch their capital.
        """
        balance_sheet = self.interest_income - (self.losses - self.insured_losses) - self.premiums_paid - self.bureau_cost
        return np.where(is_p2p, -self.guarantee_paid - self.bureau_cost, balance_sheet)


class CreditMarket:
    """Loans, underwriting, defaults and the balance sheets they hit, for one model.

    Parameters
    ----------
    model : ChannelModel
        Read for the network, population, customer state, catalog and capital.
    rng : numpy.random.Generator
        The credit side's own stream.
    """

    def __init__(self, model, rng: np.random.Generator):
        self.model = model
        self.rng = rng
        cat = model.catalog
        risk = cat.risk
        n = model.network.size
        I, K, J = cat.n_institutions, len(cat.products), risk.n_insurers
        self.book = LoanBook()
        self.book.reserve(2 * n * max(int(np.count_nonzero(risk.is_credit)), 1))
        # Fixed errors of each credit model for each customer: one applicant, one score per model.
        self.lender_z = rng.standard_normal((n, I), dtype=np.float32)
        self.insurer_z = rng.standard_normal((n, J), dtype=np.float32)
        self.phi_z = rng.standard_normal(n, dtype=np.float32)
        self.failed = np.zeros(I, dtype=bool)
        self.in_run = np.zeros(I, dtype=bool)
        self.cash = risk.p2p_funding.copy()
        self.signal = np.zeros(I)
        self.insurer_capital = risk.insurer_capital.copy()
        self.insurer_failed = np.zeros(J, dtype=bool)
        # Running sums over performing loans, updated at origination and closure.
        self.balance = np.zeros(I)                 # Σ amount per lender
        self.loan_count = np.zeros(I, dtype=np.int64)
        self.rate_balance = np.zeros(I)            # Σ amount × rate per lender
        self.covered_balance = np.zeros(J)         # Σ coverage × amount per live insurer
        self.premium_balance = np.zeros((I, J))    # Σ amount × premium rate per lender and live insurer
        self.cell_loans = np.zeros(K * I * (cat.n_channels + 1) * N_SEGMENTS)   # performing loans per credit-table cell
        self.maturing: dict[int, list[np.ndarray]] = {}                      # step -> ids of loans due then
        self.pending_amount = np.zeros((n, K))
        self.pending_insurer = np.full((n, K), -1, dtype=np.int16)
        pop = model.population
        self.in_sanctioning = model.network.sanctioning[pop.community]
        self.hazard = pop.hazard.astype(np.float64)
        self.log_hazard = credit.log_hazard(pop.hazard)
        degree = model.network.degree
        self.inverse_degree = np.divide(1.0, degree, out=np.zeros(n), where=degree > 0)
        # Defaulted neighbours per customer, kept up to date as customers default (contagion).
        self.defaulted_neighbours = contagion.defaulted_neighbours(model.network.adjacency,
                                                                   model.state.defaulted).astype(np.int32)
        self.inverse_degree = self.inverse_degree.astype(np.float32)
        self.network_degree = degree
        self._phi_key, self._phi = None, None
        self.any_defaulted = bool(model.state.defaulted.any())
        self.segment_base = (pop.subprime * 6 + pop.life_stage * 2)
        self.accounts = CreditAccounts.zeros(I, J)
        self.counts = np.zeros(K * I * (cat.n_channels + 1) * N_SEGMENTS * len(CREDIT_MEASURES), dtype=np.float64)
        self._open_window()

    # ------------------------------------------------------------------ helpers
    @property
    def risk(self):
        return self.model.catalog.risk

    @property
    def state(self):
        return self.model.state

    def _cells(self, product, lender, channel, customers, inside) -> np.ndarray:
        """Row key of the credit table: (product, lender, channel or 'none', segment)."""
        cat = self.model.catalog
        C1 = cat.n_channels + 1
        ch = np.where(channel >= 0, channel, C1 - 1)
        seg = self.segment_base[customers] + inside
        return ((np.asarray(product, dtype=np.int64) * cat.n_institutions + lender) * C1 + ch) * N_SEGMENTS + seg

    def _count(self, measure: int, cells: np.ndarray, weights=None) -> None:
        index = cells * len(CREDIT_MEASURES) + measure
        self.counts += np.bincount(index, weights=weights, minlength=self.counts.size)

    def _single_product(self) -> bool:
        """One credit product: a customer has at most one performing loan."""
        return int(np.count_nonzero(self.risk.is_credit)) == 1

    def _borrowers(self, customers: np.ndarray) -> int:
        """Distinct customers among the borrowers of performing loans ``customers``."""
        if self._single_product():
            return int(customers.size)   # one loan per customer and product
        seen = np.zeros(self.state.defaulted.size, dtype=bool)
        seen[customers] = True
        return int(np.count_nonzero(seen))

    def _inside(self, lender: np.ndarray, customers: np.ndarray) -> np.ndarray:
        """Loans inside a sanctioning community: community lender and a borrower in a sanctioning community (SF1)."""
        return self.risk.community_lending[lender] & self.in_sanctioning[customers]

    def _bincount(self, index: np.ndarray, weights=None, size: int | None = None) -> np.ndarray:
        size = self.model.catalog.n_institutions if size is None else size
        return np.bincount(index, weights=weights, minlength=size)[:size]

    def outstanding(self) -> np.ndarray:
        """(I,) outstanding amount of performing loans per lender (kept up to date at origination and closure)."""
        return self.balance.copy()

    def recount(self) -> dict[str, np.ndarray]:
        """The running sums recomputed from the book (a check on them)."""
        book = self.book
        ids = book.performing()
        lender, amount, j = book.lender[ids], book.amount[ids], book.insurer[ids]
        live = j >= 0
        live[live] = ~self.insurer_failed[j[live]]
        premium = np.zeros_like(self.premium_balance)
        np.add.at(premium, (lender[live], j[live]), amount[live] * book.premium_rate[ids][live])
        cells = np.bincount(book.cell[ids], minlength=self.cell_loans.size).astype(float)
        return {"balance": self._bincount(lender, amount), "loan_count": self._bincount(lender), "cell_loans": cells,
                "rate_balance": self._bincount(lender, amount * book.rate[ids]),
                "covered_balance": self._covered_from_book(), "premium_balance": premium}

    def covered(self) -> np.ndarray:
        """(J,) covered balance (coverage × guaranteed outstanding amount) of each insurer; 0 once failed."""
        return self.covered_balance.copy()

    def _covered_from_book(self) -> np.ndarray:
        """(J,) covered balance (coverage × guaranteed outstanding amount) of each insurer; 0 once failed."""
        J = self.risk.n_insurers
        ids = self.book.performing()
        j = self.book.insurer[ids]
        mine = j >= 0
        mine[mine] = ~self.insurer_failed[j[mine]]
        amount = self.book.amount[ids][mine] * self.book.coverage[ids][mine]
        return self._bincount(j[mine], amount, J)

    # ------------------------------------------------------------------ the step
    def begin_step(self) -> None:
        """Reset the step's accounts and counts."""
        cat = self.model.catalog
        self.accounts = CreditAccounts.zeros(cat.n_institutions, self.risk.n_insurers)
        self.counts[:] = 0.0

    def settle(self, step: int) -> None:
        """The risk phase at the start of a step: defaults, interest, repayment, runs, renewals."""
        self.begin_step()
        self.defaults(step)
        self.accrue()
        matured = self.mature(step)
        self.investors_and_failures()
        self._open_window()
        self.renew(matured, step)

    def defaults(self, step: int) -> None:
        """Mechanism 5: hazard and contagion defaults of performing loans; losses and insurance claims."""
        risk, state, book, acc = self.risk, self.state, self.book, self.accounts
        ids = book.performing()
        c = book.customer[ids]
        lender = book.lender[ids]
        n = state.defaulted.size
        acc.borrowers_at_risk = self._borrowers(c)
        self.counts[AT_RISK::len(CREDIT_MEASURES)] += self.cell_loans

        exposed = None
        if risk.contagion and self.any_defaulted:
            # Only loans of customers with a defaulted neighbour are exposed to contagion.
            neighbours = self.defaulted_neighbours[c]
            exposed = np.flatnonzero(neighbours)
            ce, exposed_count = c[exposed], neighbours[exposed]
            exposed_share = exposed_count * self.inverse_degree[ce]
        collateral = np.where(book.inside[ids], risk.social_collateral, 1.0) if risk.community_lending.any() else 1.0
        strategic = 1.0
        if self.failed.any():
            strategic = np.where(self.failed[lender] & risk.is_p2p[lender], risk.p2p_strategic[lender], 1.0)
        base, total = contagion.default_probability(book.hazard[ids], risk.macro(step), collateral,
                                                    strategic=strategic)
        if exposed is not None and risk.peer_effect > 0:
            # The peer term of default_probability, applied to the exposed loans only.
            total = total.copy()
            total[exposed] *= 1.0 + risk.peer_effect * exposed_share
        default, contagious = contagion.draw_defaults(base, total, self.rng)
        threshold = np.zeros(ids.size, dtype=bool)
        if risk.threshold and exposed is not None:
            threshold[exposed] = (exposed_count >= self.threshold_need()[ce]) & ~default[exposed]
        default |= threshold
        # Per customer: a borrower defaults on all its loans; its cause is seeded, else
        # idiosyncratic if any loan would have defaulted without contagion, else contagion
        # (peer effect, failed platform, threshold).  Only the defaulting loans are looked at.
        drawn = np.flatnonzero(default)
        cd = c[drawn]
        single = self._single_product()      # then each customer has at most one loan: no de-duplication
        defaulting = cd if single else np.unique(cd)
        seeded = np.zeros(0, dtype=np.int64)
        for at, count in risk.seed_defaults:
            if at == step:
                candidates = np.setdiff1d(np.unique(c), np.concatenate([defaulting, seeded]))
                seeded = np.union1d(seeded, contagion.seeded(candidates, count, self.rng))
        cause_idiosyncratic = ~contagious[drawn] & ~threshold[drawn]
        if single:
            by_contagion = cd[~cause_idiosyncratic]
            by_threshold = cd[threshold[drawn]]
        else:
            idiosyncratic = np.unique(cd[cause_idiosyncratic])
            by_contagion = np.setdiff1d(defaulting, idiosyncratic, assume_unique=True)
            by_threshold = np.setdiff1d(by_contagion, np.unique(cd[~threshold[drawn]]), assume_unique=True)
        customers = np.concatenate([defaulting, seeded]) if seeded.size else defaulting
        acc.new_defaults = int(customers.size)
        acc.contagion_defaults = int(by_contagion.size)
        acc.threshold_defaults = int(by_threshold.size)
        acc.seeded_defaults = int(seeded.size)
        if customers.size == 0:
            return

        mark = np.zeros(n, dtype=bool)
        mark[customers] = True
        hit = mark[c]
        ids, c, lender = ids[hit], c[hit], lender[hit]
        k = book.product[ids]
        amount = book.amount[ids]
        loss = credit.loss_given_default(amount, risk.loan_recovery[k])
        j = book.insurer[ids]
        insured = j >= 0
        claims = np.zeros(ids.size)
        paid = np.zeros(ids.size)
        if insured.any():
            claims[insured] = book.coverage[ids][insured] * loss[insured]
            was_failed = self.insurer_failed
            paid[insured], self.insurer_capital, self.insurer_failed = insurance.settle_claims(
                claims[insured], j[insured], self.insurer_capital, self.insurer_failed)
            # A failed insurer's guarantees are void: nothing of it stays covered or earns premiums.
            self.covered_balance[self.insurer_failed & ~was_failed] = 0.0
            self.premium_balance[:, self.insurer_failed & ~was_failed] = 0.0
            J = risk.n_insurers
            acc.claims_paid += self._bincount(j[insured], paid[insured], J)
            acc.claims_unpaid += self._bincount(j[insured], claims[insured] - paid[insured], J)
        book.loss[ids] = loss
        book.claim[ids] = claims
        book.claim_paid[ids] = paid
        acc.defaults += self._bincount(lender)
        acc.losses += self._bincount(lender, loss)
        acc.insured_losses += self._bincount(lender, paid)
        self._count(DEFAULTS, book.cell[ids])
        self._count(LOSSES, book.cell[ids], weights=loss)

        # P2P: recoveries and claims return to investors' cash; a platform still standing makes good
        # its guarantee from its capital.
        on_p2p = risk.is_p2p[lender]
        if on_p2p.any():
            guarantee = np.where(self.failed[lender], 0.0, risk.p2p_guarantee[lender]) * (loss - paid)
            back = amount * risk.loan_recovery[k] + paid + guarantee
            self.cash += self._bincount(lender[on_p2p], back[on_p2p])
            acc.guarantee_paid += self._bincount(lender[on_p2p], guarantee[on_p2p])

        self._release(ids)
        book.close(ids, LoanStatus.DEFAULTED, step)
        state.loan[c, k] = NO_LOAN
        for product in np.unique(k):
            leave(state, c[k == product], int(product))
        first = customers[~state.defaulted[customers]]
        touched, times = np.unique(contagion.neighbour_list(self.model.network.adjacency, first), return_counts=True)
        self.defaulted_neighbours[touched] += times.astype(self.defaulted_neighbours.dtype)
        self.any_defaulted = True
        state.defaulted[customers] = True
        state.default_step[customers] = step

    def phi(self) -> np.ndarray:
        """Each customer's threshold ``phi`` (normal around ``credit.threshold.mean``, clipped to (0, 1])."""
        risk = self.risk
        key = (risk.phi_mean, risk.phi_sd)
        if key != self._phi_key:
            self._phi = np.clip(risk.phi_mean + risk.phi_sd * self.phi_z.astype(np.float64), 1e-9, 1.0)
            self._need = contagion.threshold_counts(self._phi, self.network_degree).astype(np.int32)
            self._phi_key = key
        return self._phi

    def threshold_need(self) -> np.ndarray:
        """Defaulted neighbours that tip each customer (``ceil(phi × degree)``)."""
        self.phi()
        return self._need

    def accrue(self) -> None:
        """Interest on performing loans and premiums on guaranteed ones, for the step."""
        risk, acc = self.risk, self.accounts
        spy = self.model.catalog.steps_per_year
        # From the running sums: P2P interest goes to investors (no cost of funds of the platform's).
        margin = credit.book_interest(self.rate_balance, self.balance,
                                      np.where(risk.is_p2p, 0.0, risk.cost_of_funds), spy)
        acc.interest_income += margin
        self.cash += np.where(risk.is_p2p, margin, 0.0)
        if risk.n_insurers:
            premium = insurance.premiums(self.premium_balance, 1.0, spy)   # premium_balance = Σ amount × rate
            earned = premium.sum(axis=0)
            paid = premium.sum(axis=1)
            acc.premiums += earned
            self.insurer_capital += earned
            acc.premiums_paid += paid
            self.cash -= np.where(risk.is_p2p, paid, 0.0)

    def mature(self, step: int) -> np.ndarray:
        """Repay the loans that reach term; return their ids (the customers may renew)."""
        scheduled = [self.maturing.pop(t) for t in sorted(t for t in self.maturing if t <= step)]
        due = np.concatenate([part for parts in scheduled for part in parts]) if scheduled else np.zeros(0, np.int64)
        due = np.sort(due[self.book.status[due] == LoanStatus.PERFORMING])
        self.repay(due, step)
        return due

    def repay(self, ids: np.ndarray, step: int) -> None:
        """Close performing loans as repaid: at term, or early when the borrower leaves or refinances."""
        if ids.size == 0:
            return
        book, risk = self.book, self.risk
        lender = book.lender[ids]
        self._release(ids)
        book.close(ids, LoanStatus.REPAID, step)
        self.state.loan[book.customer[ids], book.product[ids]] = NO_LOAN
        self.accounts.repaid += self._bincount(lender)
        on_p2p = risk.is_p2p[lender]
        if on_p2p.any():
            self.cash += self._bincount(lender[on_p2p], book.amount[ids][on_p2p])

    def _release(self, ids: np.ndarray) -> None:
        """Take closing loans off the running sums."""
        self._book_sums(ids, -1.0)

    def _book_sums(self, ids: np.ndarray, sign: float) -> None:
        """Add (+1) or remove (−1) loans ``ids`` from the running sums over performing loans."""
        book, risk = self.book, self.risk
        lender, amount = book.lender[ids], book.amount[ids]
        self.balance += sign * self._bincount(lender, amount)
        self.loan_count += int(sign) * self._bincount(lender)
        self.cell_loans += sign * np.bincount(book.cell[ids], minlength=self.cell_loans.size)
        self.rate_balance += sign * self._bincount(lender, amount * book.rate[ids])
        j = book.insurer[ids]
        live = j >= 0
        if live.any():
            live[live] = ~self.insurer_failed[j[live]]
            J = risk.n_insurers
            self.covered_balance += sign * self._bincount(j[live], book.coverage[ids][live] * amount[live], J)
            premium = amount[live] * book.premium_rate[ids][live]
            cell = lender[live] * J + j[live]
            self.premium_balance += sign * np.bincount(cell, premium, minlength=self.premium_balance.size).reshape(
                self.premium_balance.shape)

    def prepay(self, customers: np.ndarray, product: int, step: int) -> None:
        """Borrowers who left their lender (churn) repay early."""
        if not self.risk.is_credit[product] or customers.size == 0:
            return
        ids = self.state.loan[customers, product]
        self.repay(ids[ids >= 0], step)

    def investors_and_failures(self) -> None:
        """P2P investor flows and runs (SF13); failures of lenders whose capital is gone."""
        risk, acc = self.risk, self.accounts
        capital = self.model.capital + acc.credit_profit(risk.is_p2p)
        if risk.is_p2p.any():
            alive = risk.is_p2p & ~self.failed
            at_risk = self._counts_view()[..., AT_RISK].sum(axis=(0, 2, 3))
            rate = np.divide(acc.defaults, at_risk, out=np.zeros(at_risk.size), where=at_risk > 0)
            self.signal = np.where(alive, p2p.update_signal(self.signal, rate, risk.p2p_memory), self.signal)
            failed_share = float(self.failed[risk.is_p2p].mean())
            alarm = p2p.alarm(self.signal, failed_share, risk.p2p_failure_weight)
            self.in_run = alive & (alarm > risk.p2p_trigger)
            cash, withdrawn, illiquid = p2p.investor_flows(self.cash, self.outstanding(), self.in_run,
                                                           risk.p2p_inflow, risk.p2p_withdrawal)
            self.cash = np.where(alive, cash, self.cash)
            acc.investor_withdrawals += np.where(alive, withdrawn, 0.0)
            self.failed |= alive & (illiquid | (capital <= 0))
        self.failed |= risk.is_lender & ~risk.is_p2p & (capital <= 0)

    def _counts_view(self) -> np.ndarray:
        cat = self.model.catalog
        return self.counts.reshape(len(cat.products), cat.n_institutions, cat.n_channels + 1, N_SEGMENTS,
                                   len(CREDIT_MEASURES))

    def _open_window(self) -> None:
        """Cut-offs and budgets for this step's applications (after capital, runs and insurer solvency)."""
        risk, cat = self.risk, self.model.catalog
        outstanding = self.outstanding()
        factor = credit.tightened_cutoff(np.ones(cat.n_institutions), self.model_capital(), outstanding,
                                         risk.capital_target, risk.tightening)
        factor = np.where(risk.is_p2p, 1.0, factor)
        self.offer_cutoff_now = risk.offer_cutoff * factor[cat.offer_institution]
        self.offer_log_cutoff = credit.log_cutoff(self.offer_cutoff_now)
        self.open = risk.is_lender & ~self.failed & ~self.in_run
        self.lender_budget = np.where(risk.is_p2p, np.maximum(self.cash, 0.0), np.inf)
        covered = self.covered()
        self.insurer_writing = insurance.writing(self.insurer_capital, covered, risk.insurer_floor, self.insurer_failed)
        self.insurer_budget = np.where(self.insurer_writing,
                                       insurance.capacity(self.insurer_capital, covered, risk.insurer_floor,
                                                          self.insurer_failed), 0.0)

    def model_capital(self) -> np.ndarray:
        capital = getattr(self.model, "capital", None)
        return self.model.catalog.capital if capital is None else capital + self.accounts.credit_profit(self.risk.is_p2p)

    def renew(self, matured: np.ndarray, step: int) -> None:
        """Borrowers repaid at term apply to the same lender again with the product's renewal chance."""
        if matured.size == 0:
            return
        book, state, risk, cat = self.book, self.state, self.risk, self.model.catalog
        c = book.customer[matured]
        k = book.product[matured]
        lender = book.lender[matured]
        renewing = self.rng.random(matured.size) < risk.loan_renewal[k]
        for product in (np.flatnonzero(risk.is_credit) if self._single_product() else np.unique(k)):
            mine = k == product
            asking = mine & renewing
            customers = c[asking]
            offers = cat.offer_of[lender[asking], product]
            approved = self.decide(int(product), customers, offers, state.channel[customers, product])
            self.originate(customers[approved], offers[approved], state.channel[customers[approved], product],
                           int(product), step)
            refused = customers[~approved]
            leave(state, c[mine & ~renewing], int(product))
            leave(state, refused, int(product))
            state.stage[refused, product] = Stage.REJECTED

    # ------------------------------------------------------------------ underwriting (mechanism 4)
    def approval(self, product: int) -> ApproveFn:
        """The funnel's and switching's approval hook for a credit product: underwriting."""
        def approve(customers: np.ndarray, offers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return self.decide(product, customers, offers, self.state.aware_channel[customers, offers])
        return approve

    def decide(self, product: int, customers: np.ndarray, offers: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """Underwrite applications for ``product``; remember amounts and guarantees of approvals."""
        m = customers.size
        if m == 0:
            return np.zeros(0, dtype=bool)
        risk, cat, state, acc = self.risk, self.model.catalog, self.state, self.accounts
        k = product
        lender = cat.offer_institution[offers]
        amount = credit.loan_sizes(risk.loan_mean[k], risk.loan_sd[k], m, self.rng)
        eligible = self.open[lender]
        if risk.blacklist:
            eligible &= ~state.defaulted[customers]
        J = risk.n_insurers
        j = risk.lender_insurer[lender]
        insurer_z = np.zeros(m, dtype=np.float32)
        if J:
            j = np.where((j >= 0) & self.insurer_writing[np.maximum(j, 0)], j, -1)
            partnered = np.flatnonzero(j >= 0)
            insurer_z[partnered] = self.insurer_z[customers[partnered], j[partnered]]
        decision = credit.underwrite(
            self.log_hazard[customers], self.lender_z[customers, lender], risk.noise[lender],
            self.offer_log_cutoff[offers], eligible, amount, lender, self.lender_budget,
            j, insurer_z, risk.insurer_noise, credit.log_cutoff(risk.insurer_cutoff), risk.insurer_coverage,
            self.insurer_budget, self.rng)
        approved, insured = decision.approved, decision.insured
        self.lender_budget = self.lender_budget - self._bincount(lender[approved], amount[approved])
        if insured.any():
            ji = j[insured]
            self.insurer_budget = self.insurer_budget - self._bincount(ji, risk.insurer_coverage[ji] * amount[insured], J)
        acc.bureau_cost += self._bincount(lender, np.where(risk.bureau[lender], risk.query_cost, 0.0))
        acc.applications += self._bincount(lender)
        acc.approvals += self._bincount(lender[approved])
        acc.rejections += self._bincount(lender[~approved])
        acc.insured_approvals += self._bincount(lender[insured])
        cells = self._cells(k, lender, channels, customers, self._inside(lender, customers))
        M = len(CREDIT_MEASURES)
        index = np.concatenate([cells * M + APPLICATIONS, cells[approved] * M + APPROVALS,
                                cells[~approved] * M + REJECTIONS, cells[insured] * M + INSURED])
        self.counts += np.bincount(index, minlength=self.counts.size)
        self.pending_amount[customers[approved], k] = amount[approved]
        self.pending_insurer[customers[approved], k] = decision.insurer[approved]
        return approved

    def book_activations(self, activations: Activations, step: int) -> None:
        """Originate the loans of this step's new credit relationships (refinancing repays the old loan)."""
        cat = self.model.catalog
        product = cat.offer_product[activations.offer]
        for k in np.flatnonzero(self.risk.is_credit):
            mine = product == k
            if mine.any():
                self.originate(activations.customer[mine], activations.offer[mine], activations.channel[mine],
                               int(k), step)

    def originate(self, customers: np.ndarray, offers: np.ndarray, channels: np.ndarray, product: int, step: int,
                  amounts: np.ndarray | None = None, maturity: np.ndarray | None = None,
                  insurers: np.ndarray | None = None) -> np.ndarray:
        """Book loans for approved customers of ``product`` (amounts and guarantees from underwriting)."""
        if customers.size == 0:
            return np.zeros(0, dtype=np.int64)
        risk, cat, state = self.risk, self.model.catalog, self.state
        k = product
        old = state.loan[customers, k]
        self.repay(old[old >= 0], step)
        lender = cat.offer_institution[offers]
        amount = self.pending_amount[customers, k] if amounts is None else amounts
        insurer = self.pending_insurer[customers, k] if insurers is None else insurers
        inside = self._inside(lender, customers)
        guaranteed = insurer >= 0
        written = np.maximum(insurer, 0)
        coverage = np.where(guaranteed, risk.insurer_coverage[written], 0.0) if risk.n_insurers else 0.0
        premium_rate = np.where(guaranteed, risk.insurer_premium[written], 0.0) if risk.n_insurers else 0.0
        ids = self.book.originate(
            customer=customers, product=k, lender=lender, insurer=insurer, channel=channels, inside=inside,
            amount=amount, rate=risk.offer_rate[offers], start=step,
            maturity=step + risk.loan_term[k] if maturity is None else maturity,
            cell=self._cells(k, lender, channels, customers, inside), coverage=coverage, premium_rate=premium_rate,
            hazard=self.hazard[customers])
        state.loan[customers, k] = ids
        self.accounts.new_loans += self._bincount(lender)
        self._book_sums(ids, +1.0)
        if maturity is None:
            self.maturing.setdefault(int(step + risk.loan_term[k]), []).append(ids)
        else:
            for t in np.unique(maturity):
                self.maturing.setdefault(int(t), []).append(ids[maturity == t])
        on_p2p = risk.is_p2p[lender]
        if on_p2p.any():
            self.cash -= self._bincount(lender[on_p2p], amount[on_p2p])
        if guaranteed.any():
            self.accounts.new_guarantees += self._bincount(insurer[guaranteed], size=risk.n_insurers)
        self.pending_insurer[customers, k] = -1
        return ids

    def screen(self, customers: np.ndarray, offer: int) -> np.ndarray:
        """Customers the offer's lender would approve on its score alone (for the book held before the run)."""
        lender = self.model.catalog.offer_institution[offer]
        predicted = credit.predicted_default(self.model.population.hazard[customers], self.risk.noise[lender],
                                             self.lender_z[customers, lender])
        return customers[predicted <= self.risk.offer_cutoff[offer]]

    def book_initial(self) -> None:
        """Loans of the credit relationships held before the run: seasoned, maturing over one term."""
        risk, cat, state = self.risk, self.model.catalog, self.state
        for k in np.flatnonzero(risk.is_credit):
            customers = np.flatnonzero((state.provider[:, k] >= 0) & (state.loan[:, k] < 0))
            if customers.size == 0:
                continue
            lender = state.provider[customers, k]
            offers = cat.offer_of[lender, k]
            amount = credit.loan_sizes(risk.loan_mean[k], risk.loan_sd[k], customers.size, self.rng)
            # A P2P platform's book held before the run cannot exceed its investors' funds.
            for i in np.unique(lender[risk.is_p2p[lender]]):
                mine = lender == i
                total = amount[mine].sum()
                if total > self.cash[i]:
                    amount[mine] *= self.cash[i] / total
            maturity = self.rng.integers(1, risk.loan_term[k] + 1, size=customers.size)
            self.originate(customers, offers, np.full(customers.size, -1, dtype=np.int8), int(k), 0,
                           amounts=amount, maturity=maturity, insurers=np.full(customers.size, -1, dtype=np.int16))
        self.accounts = CreditAccounts.zeros(cat.n_institutions, risk.n_insurers)
        self._open_window()

    # ------------------------------------------------------------------ observation
    def observe(self) -> dict:
        """The step's credit observations for the recorder."""
        risk, book, state, acc = self.risk, self.book, self.state, self.accounts
        outstanding = self.balance.copy()
        loans = int(self.loan_count.sum())
        borrowers = loans if self._single_product() else self._borrowers(book.customer[book.performing()])
        losses = float(acc.losses.sum())
        covered = self.covered()
        return {
            "market": {
                "borrowers": borrowers,
                "loans": loans,
                "loan_balance": float(outstanding.sum()),
                "new_loans": int(acc.new_loans.sum()),
                "defaulted": int(state.defaulted.sum()),
                "new_defaults": acc.new_defaults,
                "default_rate": acc.new_defaults / acc.borrowers_at_risk if acc.borrowers_at_risk else float("nan"),
                "contagion_defaults": acc.contagion_defaults,
                "threshold_defaults": acc.threshold_defaults,
                "seeded_defaults": acc.seeded_defaults,
                "credit_losses": losses,
                "insured_losses": float(acc.insured_losses.sum()),
                "macro": risk.macro(self.model.steps),
                "failed_lenders": int(self.failed.sum()),
                "failed_insurers": int(self.insurer_failed.sum()),
            },
            "institutions": {
                "loans": self.loan_count.copy(),
                "loan_balance": outstanding,
                "new_loans": acc.new_loans,
                "applications": acc.applications,
                "approvals": acc.approvals,
                "rejections": acc.rejections,
                "insured_approvals": acc.insured_approvals,
                "repaid": acc.repaid,
                "defaults": acc.defaults,
                "losses": acc.losses,
                "insured_losses": acc.insured_losses,
                "net_losses": acc.losses - acc.insured_losses,
                "interest_income": acc.interest_income,
                "premiums_paid": acc.premiums_paid,
                "bureau_cost": acc.bureau_cost,
                "guarantee_paid": acc.guarantee_paid,
                "credit_profit": acc.credit_profit(risk.is_p2p),
                "investor_funds": np.where(risk.is_p2p, self.cash + outstanding, 0.0),
                "investor_withdrawals": acc.investor_withdrawals,
                "in_run": self.in_run.copy(),
                "failed": self.failed.copy(),
            },
            "insurers": {
                "premiums": acc.premiums,
                "claims": acc.claims_paid,
                "unpaid_claims": acc.claims_unpaid,
                "new_guarantees": acc.new_guarantees,
                "covered_balance": covered,
                "capital": self.insurer_capital.copy(),
                "writing": insurance.writing(self.insurer_capital, covered, risk.insurer_floor, self.insurer_failed),
                "failed": self.insurer_failed.copy(),
            },
            "counts": self.counts.copy(),
        }
