"""Defaults (mechanism 5): hazard, peer and threshold contagion, seeded defaults, losses and claims.

Functions take the credit state, the parameters (a
:class:`~sim.core.params.Catalog`), the customer state, the network
adjacency and the credit side's generator explicitly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.core.adoption.churn import leave
from sim.core.codes import NO_LOAN, LoanStatus
from sim.core.risk import contagion, credit, insurance
from sim.core.risk.accounts import AT_RISK, CREDIT_MEASURES, DEFAULTS, EXPECTED_DEFAULTS, LOSSES
from sim.core.risk.credit_state import CreditState, book_sums, borrowers, count


def threshold_need(credit_state: CreditState, risk) -> np.ndarray:
    """Defaulted neighbours that tip each customer (``ceil(phi × degree)``).

    ``phi`` is normal around ``credit.threshold.mean`` (clipped to (0, 1]),
    from each customer's fixed draw; recomputed only when its mean or spread
    changes.
    """
    cs = credit_state
    key = (risk.phi_mean, risk.phi_sd)
    if key != cs.phi_key:
        cs.phi = np.clip(risk.phi_mean + risk.phi_sd * cs.phi_z.astype(np.float64), 1e-9, 1.0)
        cs.threshold_need = contagion.threshold_counts(cs.phi, cs.network_degree).astype(np.int32)
        cs.phi_key = key
    return cs.threshold_need


def draw_defaults(credit_state: CreditState, risk, ids: np.ndarray, c: np.ndarray, lender: np.ndarray, step: int,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Who defaults this step among the borrowers ``c`` of performing loans ``ids``, and by which cause.

    A borrower defaults on all its loans; its cause is seeded, else
    idiosyncratic if any loan would have defaulted without contagion, else
    contagion (peer effect, failed platform, threshold).

    Returns
    -------
    dict
        ``customers`` (all defaulting), ``contagion``, ``threshold``, ``seeded``.
    """
    cs, book = credit_state, credit_state.book
    exposed = None
    if risk.contagion and cs.any_defaulted:
        # Only loans of customers with a defaulted neighbour are exposed to contagion.
        neighbours = cs.defaulted_neighbours[c]
        exposed = np.flatnonzero(neighbours)
        ce, exposed_count = c[exposed], neighbours[exposed]
        exposed_share = exposed_count * cs.inverse_degree[ce]
    collateral = np.where(book.inside[ids], risk.social_collateral, 1.0) if risk.community_lending.any() else 1.0
    strategic = 1.0
    if cs.failed.any():
        strategic = np.where(cs.failed[lender] & risk.is_p2p[lender], risk.p2p_strategic[lender], 1.0)
    base, total = contagion.default_probability(book.hazard[ids], risk.macro(step), collateral, strategic=strategic)
    if exposed is not None and risk.peer_effect > 0:
        # The peer term of default_probability, applied to the exposed loans only.
        total = total.copy()
        total[exposed] *= 1.0 + risk.peer_effect * exposed_share
    tipped = None
    if risk.threshold and exposed is not None:
        tipped = exposed[exposed_count >= threshold_need(cs, risk)[ce]]
    single = cs.single_product      # then each customer has at most one loan: no de-duplication
    count_expected_defaults(cs, ids, c, total, tipped, single)
    default, contagious = contagion.draw_defaults(base, total, rng)
    threshold = np.zeros(ids.size, dtype=bool)
    if tipped is not None:
        threshold[tipped] = ~default[tipped]
    default |= threshold
    drawn = np.flatnonzero(default)
    cd = c[drawn]
    defaulting = cd if single else np.unique(cd)
    seeded = np.zeros(0, dtype=np.int64)
    for at, number in risk.seed_defaults:
        if at == step:
            candidates = np.setdiff1d(np.unique(c), np.concatenate([defaulting, seeded]))
            seeded = np.union1d(seeded, contagion.seeded(candidates, number, rng))
    cause_idiosyncratic = ~contagious[drawn] & ~threshold[drawn]
    if single:
        by_contagion = cd[~cause_idiosyncratic]
        by_threshold = cd[threshold[drawn]]
    else:
        idiosyncratic = np.unique(cd[cause_idiosyncratic])
        by_contagion = np.setdiff1d(defaulting, idiosyncratic, assume_unique=True)
        by_threshold = np.setdiff1d(by_contagion, np.unique(cd[~threshold[drawn]]), assume_unique=True)
    customers = np.concatenate([defaulting, seeded]) if seeded.size else defaulting
    return {"customers": customers, "contagion": by_contagion, "threshold": by_threshold, "seeded": seeded}


def count_expected_defaults(credit_state: CreditState, ids: np.ndarray, c: np.ndarray, total: np.ndarray,
                            tipped: np.ndarray | None, single: bool) -> None:
    """Add each at-risk loan's probability of defaulting this step to the ``expected_defaults`` measure.

    A loan defaults when its borrower does: with probability ``total`` of
    its own draw for a borrower with one loan, ``1 - prod(1 - total)`` over
    the borrower's loans otherwise, and 1 for a loan whose borrower the
    threshold tips (``tipped``, positions in ``ids``).  Seeded defaults are
    not counted.
    """
    loan = np.minimum(total, 1.0)
    if tipped is not None and tipped.size:
        loan = loan.copy()
        loan[tipped] = 1.0
    if not single:
        with np.errstate(divide="ignore"):
            survive = np.exp(np.bincount(c, weights=np.log1p(-loan), minlength=int(c.max(initial=-1)) + 1))
        loan = 1.0 - survive[c]
    count(credit_state, EXPECTED_DEFAULTS, credit_state.book.cell[ids], weights=loan)


def defaults(credit_state: CreditState, catalog, state, adjacency: sp.csr_array, step: int,
             rng: np.random.Generator) -> None:
    """Mechanism 5: hazard and contagion defaults of performing loans; losses and insurance claims."""
    cs, risk, book, acc = credit_state, catalog.risk, credit_state.book, credit_state.accounts
    ids = book.performing()
    c = book.customer[ids]
    lender = book.lender[ids]
    n = state.defaulted.size
    acc.borrowers_at_risk = borrowers(cs, c)
    cs.counts[AT_RISK::len(CREDIT_MEASURES)] += cs.cell_loans
    drawn = draw_defaults(cs, risk, ids, c, lender, step, rng)
    customers = drawn["customers"]
    acc.new_defaults = int(customers.size)
    acc.contagion_defaults = int(drawn["contagion"].size)
    acc.threshold_defaults = int(drawn["threshold"].size)
    acc.seeded_defaults = int(drawn["seeded"].size)
    if customers.size == 0:
        return
    mark = np.zeros(n, dtype=bool)
    mark[customers] = True
    hit = mark[c]
    ids, c, lender = ids[hit], c[hit], lender[hit]
    book_losses(cs, risk, ids, lender)
    k = book.product[ids]
    book_sums(cs, ids, -1.0)
    book.close(ids, LoanStatus.DEFAULTED, step)
    state.loan[c, k] = NO_LOAN
    for product in np.unique(k):
        leave(state, c[k == product], int(product))
    first = customers[~state.defaulted[customers]]
    touched, times = np.unique(contagion.neighbour_list(adjacency, first), return_counts=True)
    cs.defaulted_neighbours[touched] += times.astype(cs.defaulted_neighbours.dtype)
    cs.any_defaulted = True
    state.defaulted[customers] = True
    state.default_step[customers] = step


def book_losses(credit_state: CreditState, risk, ids: np.ndarray, lender: np.ndarray) -> None:
    """Losses, insurance claims and P2P guarantees of the defaulting loans ``ids``."""
    cs, book, acc = credit_state, credit_state.book, credit_state.accounts
    k = book.product[ids]
    amount = book.amount[ids]
    loss = credit.loss_given_default(amount, risk.loan_recovery[k])
    j = book.insurer[ids]
    insured = j >= 0
    claims = np.zeros(ids.size)
    paid = np.zeros(ids.size)
    if insured.any():
        claims[insured] = book.coverage[ids][insured] * loss[insured]
        was_failed = cs.insurer_failed
        paid[insured], cs.insurer_capital, cs.insurer_failed = insurance.settle_claims(
            claims[insured], j[insured], cs.insurer_capital, cs.insurer_failed)
        # A failed insurer's guarantees are void: nothing of it stays covered or earns premiums.
        cs.covered_balance[cs.insurer_failed & ~was_failed] = 0.0
        cs.premium_balance[:, cs.insurer_failed & ~was_failed] = 0.0
        acc.claims_paid += cs.per_insurer(j[insured], paid[insured])
        acc.claims_unpaid += cs.per_insurer(j[insured], claims[insured] - paid[insured])
    book.loss[ids] = loss
    book.claim[ids] = claims
    book.claim_paid[ids] = paid
    acc.defaults += cs.per_lender(lender)
    acc.losses += cs.per_lender(lender, loss)
    acc.insured_losses += cs.per_lender(lender, paid)
    count(cs, DEFAULTS, book.cell[ids])
    count(cs, LOSSES, book.cell[ids], weights=loss)
    # P2P: recoveries and claims return to investors' cash; a platform still standing makes good
    # its guarantee from its capital.
    on_p2p = risk.is_p2p[lender]
    if on_p2p.any():
        guarantee = np.where(cs.failed[lender], 0.0, risk.p2p_guarantee[lender]) * (loss - paid)
        back = amount * risk.loan_recovery[k] + paid + guarantee
        cs.cash += cs.per_lender(lender[on_p2p], back[on_p2p])
        acc.guarantee_paid += cs.per_lender(lender[on_p2p], guarantee[on_p2p])
