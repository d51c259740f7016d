"""Mechanism 4, underwriting: a lender's noisy view of the applicant's hazard, and its loans.

A lender's credit model sees the applicant's latent per-step default hazard
``h`` through noise (SF14)::

    score = log h + sigma · z,      sigma = sigma_0 · (1 − q)

with ``z`` a standard normal error fixed per (customer, lender) — the same
applicant gets the same score from the same model — ``sigma_0`` the error
with no data (``credit.score_noise``) and ``q`` the lender's effective data
quality, pooled from independent sources (own data; partner platforms'
data; a data alliance, SF10)::

    q = 1 − (1 − q_own) · Π_s (1 − lambda_s · q_s)

where ``lambda_s`` is the share of source ``s``'s value that reaches the
lender (1 direct; ``bureau_share`` through a credit bureau; 0 in direct-jump
mode, SF15).  The predicted per-step default probability is ``exp(score)``;
the lender approves when it is at most its cut-off.  The cut-off tightens
when the lender's capital ratio nears its regulatory minimum
(:mod:`sim.core.risk.capital`), and under an interest
rate cap it shrinks in proportion to the lost margin, so that the lender keeps
the same tolerance of expected loss per unit of margin.

Loans are bullet loans: the amount is lent at origination, earns
``amount × rate / steps per year`` each step it performs at a funding cost of
``amount × cost of funds / steps per year``,
and is repaid at term end; on default the lender loses
``amount × (1 − recovery)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Floor on hazards before taking logs (a zero hazard scores as this).
MIN_HAZARD = 1e-12


def pooled_data_quality(own: float, sources: np.ndarray | list, weights: np.ndarray | list) -> float:
    """Effective data quality ``q = 1 − (1 − q_own) Π_s (1 − lambda_s q_s)``.

    Parameters
    ----------
    own : float
        Quality of the lender's own data, in [0, 1].
    sources : array of float
        Quality ``q_s`` of each other source (partner platform, alliance member).
    weights : array of float
        ``lambda_s``: share of each source's value that reaches the lender (SF15).
    """
    sources = np.asarray(sources, dtype=float)
    weights = np.asarray(weights, dtype=float)
    return float(1.0 - (1.0 - own) * np.prod(1.0 - weights * sources))


def score_noise(base_noise: float | np.ndarray, quality: float | np.ndarray) -> np.ndarray:
    """``sigma = sigma_0 (1 − q)``: the credit model's error in log hazard."""
    return np.asarray(base_noise, dtype=float) * (1.0 - np.asarray(quality, dtype=float))


def predicted_default(hazard: np.ndarray, noise_sd: np.ndarray | float, z: np.ndarray) -> np.ndarray:
    """Predicted per-step default probability ``exp(log h + sigma z)`` (may exceed 1: it is a score)."""
    log_h = np.log(np.maximum(hazard, MIN_HAZARD))
    return np.exp(log_h + noise_sd * z)


def rate_capped_cutoff(cutoff: np.ndarray, rate: np.ndarray, capped_rate: np.ndarray,
                       cost_of_funds: np.ndarray) -> np.ndarray:
    """Cut-off under an interest-rate cap: scaled by (capped margin / margin), clipped to [0, 1]."""
    cutoff, rate, capped, cof = (np.asarray(a, dtype=float) for a in (cutoff, rate, capped_rate, cost_of_funds))
    margin = rate - cof
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where((capped < rate) & (margin > 0), np.clip((capped - cof) / margin, 0.0, 1.0), 1.0)
    return cutoff * scale


def loan_sizes(mean: float, sd: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """Log-normal loan amounts with the given mean and standard deviation."""
    if sd <= 0.0:
        return np.full(count, float(mean))
    sigma2 = np.log1p((sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - 0.5 * sigma2, np.sqrt(sigma2), size=count)


def within_budget(amounts: np.ndarray, groups: np.ndarray, budgets: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Bool mask: the requests each group can fund, served in random order until its budget is spent.

    Parameters
    ----------
    amounts : float array
        What each request uses of its group's budget.
    groups : int array
        Budget each request draws on (index into ``budgets``).
    budgets : float array
        Budget per group (``inf`` = unlimited).
    """
    m = amounts.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    if np.isinf(budgets[groups]).all():
        return np.ones(m, dtype=bool)
    order = np.lexsort((rng.random(m), groups))
    amount, group = amounts[order], groups[order]
    total = np.cumsum(amount)
    first = np.empty(m, dtype=bool)
    first[0] = True
    np.not_equal(group[1:], group[:-1], out=first[1:])
    start_total = np.maximum.accumulate(np.where(first, total - amount, -np.inf))
    used = total - start_total
    keep = np.zeros(m, dtype=bool)
    keep[order] = used <= budgets[group] * (1.0 + 1e-12)
    return keep


def interest_margin(amount: np.ndarray, rate: np.ndarray, cost_of_funds: np.ndarray | float,
                    steps_per_year: float) -> np.ndarray:
    """Per-step net interest income of performing loans: ``amount × (rate − cost of funds) / steps per year``."""
    return amount * (rate - cost_of_funds) / steps_per_year


def book_interest(rate_balance: np.ndarray, balance: np.ndarray, cost_of_funds: np.ndarray | float,
                  steps_per_year: float) -> np.ndarray:
    """Per-step net interest income of a whole book from its running sums.

    ``Σ amount (rate − cof) / spy = (Σ amount·rate − cof · Σ amount) / spy``,
    with ``rate_balance = Σ amount·rate`` and ``balance = Σ amount`` over the
    performing loans: the same as summing :func:`interest_margin` loan by loan.
    """
    return (rate_balance - cost_of_funds * balance) / steps_per_year


def loss_given_default(amount: np.ndarray, recovery: np.ndarray | float) -> np.ndarray:
    """Loss on default: ``amount × (1 − recovery)``."""
    return amount * (1.0 - recovery)


@dataclass
class Decisions:
    """Underwriting decisions for a batch of applications (aligned arrays)."""

    approved: np.ndarray        # bool: a loan will be made
    insured: np.ndarray         # bool: approved only because the insurer guarantees it
    amount: np.ndarray          # float: loan amount requested
    insurer: np.ndarray         # int: guaranteeing insurer, -1 none


def log_hazard(hazard: np.ndarray) -> np.ndarray:
    """``log h`` with zero hazards floored at ``MIN_HAZARD`` (the credit model's target)."""
    return np.log(np.maximum(np.asarray(hazard, dtype=np.float64), MIN_HAZARD))


def log_cutoff(cutoff: np.ndarray | float) -> np.ndarray:
    """``log`` of cut-offs (``-inf`` for 0: nobody is approved)."""
    cutoff = np.asarray(cutoff, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(cutoff)


def underwrite(log_h: np.ndarray, lender_z: np.ndarray, lender_noise: np.ndarray, lender_log_cutoff: np.ndarray,
               eligible: np.ndarray, amount: np.ndarray, lender: np.ndarray, lender_budget: np.ndarray,
               insurer: np.ndarray, insurer_z: np.ndarray, insurer_noise: np.ndarray,
               insurer_log_cutoff: np.ndarray, insurer_coverage: np.ndarray, insurer_budget: np.ndarray,
               rng: np.random.Generator) -> Decisions:
    """Decide a batch of applications: the lender's score, then its insurer, then funding.

    Scores are compared in log space: ``exp(log h + sigma z) <= cutoff`` is
    ``log h + sigma z <= log cutoff`` (``log_h``: :func:`log_hazard`;
    cut-offs: :func:`log_cutoff`).

    Per application (arrays aligned with the applicants; ``lender_*`` and
    ``insurer_*`` per-application values unless noted):

    1. ``eligible`` applicants (lender open, no default on record) whose
       predicted default probability is at most the lender's cut-off are
       approved;
    2. the others, if the lender has an insurer (``insurer >= 0``) whose
       own prediction is at most its cut-off, are guaranteed, as long as the
       insurer's capacity (``insurer_budget`` per insurer, in covered
       balance = coverage × amount) lasts (SF12);
    3. approvals are then limited by the lender's funding (``lender_budget``
       per lender, in amount; ``inf`` for deposit-funded lenders).

    Budgets are served in random order.
    """
    m = log_h.size
    approved = eligible & (log_h + lender_noise * lender_z <= lender_log_cutoff)
    insured = np.zeros(m, dtype=bool)
    candidates = np.flatnonzero(eligible & ~approved & (insurer >= 0))
    if candidates.size:
        j = insurer[candidates]
        ok = log_h[candidates] + insurer_noise[j] * insurer_z[candidates] <= insurer_log_cutoff[j]
        chosen = candidates[ok]
        j = j[ok]
        funded = within_budget(insurer_coverage[j] * amount[chosen], j, insurer_budget, rng)
        insured[chosen[funded]] = True
        approved |= insured
    if np.isfinite(lender_budget).any():
        asking = np.flatnonzero(approved)
        funded = within_budget(amount[asking], lender[asking], lender_budget, rng)
        approved[asking[~funded]] = False
        insured &= approved
    return Decisions(approved, insured, amount, np.where(insured, insurer, -1))
