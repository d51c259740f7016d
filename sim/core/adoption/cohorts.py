"""Customer cohorts: who was won when, through which channel, how long they stay and what they earn.

A relationship's cohort is (cohort step, institution, channel, product): the
step it began (``state.since``), its provider, the channel it came through
and the product.  Relationships held at step 0 — placed at set-up or won
during a burn-in — form the *initial* cohorts: cohort step 0, with the
channel they came through (``none`` for holdings placed at set-up).  A
switcher starts a new relationship, so joins a new cohort of its new provider.

Each recorded step the book adds, per cohort cell, the relationships still
held at the end of the step, those that ended in it (churn, switching away,
a loan not renewed) and the margin they earned: counted from the holders
(:meth:`CohortBook.observe`, one ``np.bincount`` per product, O(holders)) or
given as counts kept up to date (:meth:`CohortBook.observe_counts`, what the
model does, :mod:`sim.core.adoption.tally`); the memory is the cohort cells
alive at each step.  What the relationships earned is an input (:class:`Earnings`: one margin per (product, institution,
channel) cell, the relationships with a performing loan one by one; see
:mod:`sim.core.adoption.cells`), so how margin is computed is not this
module's business.

Acquisition cost of a cohort of step s: its institution's spend on the
channel in step s shared over the products by the step's acquisitions
through the channel — the channel's CAC in the step × the cohort's
acquisitions (per-customer fees and referral incentives are part of that
spend).  Spend on a channel in a step with no acquisitions through it buys
no cohort: it is kept as *unattributed* spend, so cohort costs plus
unattributed spend add up to the ledger's acquisition spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Steps in one year for each ``time.unit`` (to turn an annual discount rate into a per-step one).
STEPS_PER_YEAR = {"day": 365.0, "week": 52.0, "month": 12.0, "quarter": 4.0, "year": 1.0}


def step_discount_rate(annual_rate: float, unit: str) -> float:
    """The per-step rate equivalent to ``annual_rate`` compounded over a year of ``unit`` steps."""
    return (1.0 + annual_rate) ** (1.0 / STEPS_PER_YEAR[unit]) - 1.0


@dataclass(frozen=True)
class Earnings:
    """What relationships earned in a step: one margin per (product, institution, channel) cell, bar some.

    Parameters
    ----------
    cell_margin : (K, I, C + 1) float array
        The step's margin of a relationship of each (product, provider,
        channel + 1) cell (the same for all of them but those below).
    loans : list of (int array, float array)
        Per product, the customers (ascending) whose relationship earned
        something else (a performing loan), and what each earned.
    """

    cell_margin: np.ndarray
    loans: list[tuple[np.ndarray, np.ndarray]]

    @classmethod
    def per_relationship(cls, holders: list[np.ndarray], margins: list[np.ndarray], book: CohortBook) -> Earnings:
        """Earnings given one by one: per product, each holder's margin (``margins`` aligned with ``holders``)."""
        return cls(np.zeros((book.K, book.I, book.C1)),
                   [(np.asarray(h), np.asarray(m, dtype=float)) for h, m in zip(holders, margins, strict=True)])

    def by_cell(self, product: int, loan_cells: np.ndarray, counts: np.ndarray, step: int) -> np.ndarray:
        """Margin earned by each cohort cell ``0 .. len(counts) - 1``.

        ``counts``: the relationships held in each cell; ``loan_cells``: the
        cohort cell of each of ``loans[product]``'s relationships.
        """
        per_step = self.cell_margin.reshape(-1)
        earned = self.loans[product][1]
        if earned.size == 0:
            return counts * np.tile(per_step, max(step, 0) + 1)
        plain = counts - np.bincount(loan_cells, minlength=counts.size)
        return (plain * np.tile(per_step, max(step, 0) + 1)
                + np.bincount(loan_cells, weights=earned, minlength=counts.size))


class CohortBook:
    """Per-step cohort accounts of one run.

    Parameters
    ----------
    n_institutions, n_channels, n_products : int
        Sizes of the run.

    Notes
    -----
    Cell code of a cohort: ``((s·K + k)·I + i)·(C + 1) + c + 1`` with cohort
    step s (0 for the initial cohorts), product k, institution i and
    channel c (-1 none).

    A relationship keeps its cell while it lasts: it ends (churn, switching
    away, a loan not renewed, a default) or a new one begins, in the cohort
    of the step it begins in.  So from one step to the next a cell of an
    earlier cohort only loses relationships, and those that ended in a step
    are the cell's count before less its count after (no pass over the
    previous holders).  When the observations are not of consecutive steps,
    the previous holders' cells are compared one by one instead.
    """

    def __init__(self, n_institutions: int, n_channels: int, n_products: int):
        self.I, self.C1, self.K = n_institutions, n_channels + 1, n_products
        empty = np.zeros(0, np.int64)
        self._held = [(empty, empty)] * n_products          # per product: last observed holders and their cells
        self._counts = [empty] * n_products                  # per product: relationships per cell then
        self._step: int | None = None                        # the step last observed
        self.entries: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.acquisitions: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def cells_per_step(self) -> int:
        """Cohort cells of one cohort step."""
        return self.K * self.I * self.C1

    def cell_of(self, cohort_step: np.ndarray, product: int, institution: np.ndarray,
                channel: np.ndarray) -> np.ndarray:
        """Cell codes of relationships (see the class notes)."""
        # ((cohort_step x K + product) x I + institution) x C1 + channel + 1, in fewer passes over the arrays
        code = np.array(institution, dtype=np.int64)
        code *= self.C1
        code += channel
        code += np.asarray(cohort_step, dtype=np.int64) * self.cells_per_step()
        code += product * self.I * self.C1 + 1
        return code

    def codes(self, state, customers: np.ndarray, product: int) -> np.ndarray:
        """Cell of each customer's current relationship for ``product`` (-1 where none)."""
        k = product
        provider = state.provider[:, k][customers]
        code = self.cell_of(np.maximum(state.since[:, k][customers], 0), k, provider, state.channel[:, k][customers])
        code[provider < 0] = -1
        return code

    def decode(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(cohort step, product, institution, channel) of cell codes."""
        rest, channel = np.divmod(cells, self.C1)
        rest, institution = np.divmod(rest, self.I)
        cohort, product = np.divmod(rest, self.K)
        return cohort, product, institution, channel - 1

    def observe(self, step: int, state, holders: list[np.ndarray], earnings: Earnings | None) -> None:
        """Add one step's relationships at its end, read from ``state``: held, ended in the step, and their margin.

        Parameters
        ----------
        step : int
            The step (0 for the state at the start of the run).
        state : CustomerState
            After the step.
        holders : list of int arrays
            Per product, the customers holding it.
        earnings : Earnings or None
            What the relationships earned this step; None at step 0, which earns nothing.
        """
        top = (max(step, 0) + 1) * self.cells_per_step()
        following = self._step is not None and step == self._step + 1
        counts, lost = [], []
        for k in range(self.K):
            who = holders[k]
            code = self.codes(state, who, k)
            counts.append(np.bincount(code, minlength=top))
            if following:
                lost.append(self._lost(k, counts[k]))
            else:
                # The previous relationships that are not held now under the same cell ended in this step.
                before_who, before_code = self._held[k]
                lost.append(np.bincount(before_code[self.codes(state, before_who, k) != before_code], minlength=top))
            self._held[k] = (who, code)
        loan_cells = [self.codes(state, earnings.loans[k][0], k) for k in range(self.K)] if earnings else None
        self._enter(step, counts, lost, earnings, loan_cells)

    def observe_counts(self, step: int, counts: list[np.ndarray], earnings: Earnings | None,
                       loan_cells: list[np.ndarray] | None = None) -> None:
        """Add one step's relationships at its end, already counted by cohort cell.

        Parameters
        ----------
        step : int
            The step; the observations are of consecutive steps.
        counts : list of int arrays
            Per product, the relationships held now in each cohort cell
            (cells ``0 .. len - 1``; those beyond hold none).
        earnings : Earnings or None
            As for :meth:`observe`.
        loan_cells : list of int arrays, optional
            Per product, the cohort cell of each of ``earnings.loans``' relationships.
        """
        top = (max(step, 0) + 1) * self.cells_per_step()
        held = []
        for k in range(self.K):
            now = np.zeros(top, np.int64)
            now[:min(top, counts[k].size)] = counts[k][:top]
            held.append(now)
        self._enter(step, held, [self._lost(k, held[k]) for k in range(self.K)], earnings, loan_cells)

    def _lost(self, k: int, counts: np.ndarray) -> np.ndarray:
        """Relationships of product ``k`` that ended since the last observation, by cell.

        A cell only loses relationships after its cohort step: what it held then and not now ended.
        """
        before = self._counts[k]
        lost = np.zeros(counts.size, np.int64)
        np.subtract(before, counts[:before.size], out=lost[:before.size])
        return lost

    def _enter(self, step: int, counts: list[np.ndarray], lost: list[np.ndarray], earnings: Earnings | None,
               loan_cells: list[np.ndarray] | None) -> None:
        """Keep the step's nonzero cells: held, ended, earned."""
        cells, held, earned, ended = [], [], [], []
        for k in range(self.K):
            self._counts[k] = counts[k]
            margin = (earnings.by_cell(k, loan_cells[k], counts[k], step) if earnings is not None
                      else np.zeros(counts[k].size))
            nonzero = ((counts[k] > 0) | (lost[k] > 0)).nonzero()[0]
            cells.append(nonzero)
            held.append(counts[k][nonzero])
            ended.append(lost[k][nonzero])
            earned.append(margin[nonzero])
        self._step = step
        if self.K == 1:
            self.entries.append((step, cells[0], held[0], ended[0], earned[0]))
        else:
            self.entries.append((step, np.concatenate(cells), np.concatenate(held), np.concatenate(ended),
                                 np.concatenate(earned)))

    def acquire(self, step: int, institution: np.ndarray, channel: np.ndarray, product: np.ndarray,
                spend: np.ndarray, paid: np.ndarray | None = None) -> None:
        """Add one step's new relationships and their acquisition cost.

        Parameters
        ----------
        step : int
        institution, channel, product : int arrays
            One entry per new relationship (the step's activations, switchers included).
        spend : (I, C) float array
            The step's acquisition spend per institution and channel (the ledger's).
        paid : bool array, optional
            Which entries are acquisitions through the funnel (default all):
            they share their channel's spend (the CAC of the cell); the others
            (relationships won from a rival by switching) cost nothing.
        """
        I, C1, K = self.I, self.C1, self.K
        C = C1 - 1
        code = (institution.astype(np.int64) * C + channel) * K + product
        new = np.bincount(code, minlength=I * C * K).reshape(I, C, K)
        bought = (new if paid is None
                  else np.bincount(code[np.asarray(paid, bool)], minlength=I * C * K).reshape(I, C, K))
        by_channel = bought.sum(axis=2)
        cac = np.divide(spend, by_channel, out=np.zeros_like(spend, dtype=float), where=by_channel > 0)
        i, c, k = np.nonzero(new)
        cells = self.cell_of(np.full(i.size, step), 0, i, c)          # product added below
        cells += k * I * C1
        self.acquisitions.append((step, cells, new[i, c, k], cac[i, c] * bought[i, c, k]))


def cohort_rows(book: CohortBook) -> dict[str, np.ndarray]:
    """The book's observations as columns, one row per (cohort cell, step) with relationships held or ended.

    A cohort whose acquisitions were all gone by the end of their step
    still gets its age-0 row, so that no acquisition cost is lost.

    Returns
    -------
    dict of str to numpy.ndarray
        ``cohort``, ``product``, ``institution``, ``channel`` (indices, -1
        none), ``step``, ``age``, ``active``, ``lost``, ``margin``, and per
        cohort (repeated on its rows) ``acquired`` and ``acquisition_cost``;
        sorted by cell then age.
    """
    names = ("cohort", "product", "institution", "channel", "step", "age", "active", "lost", "margin",
             "acquired", "acquisition_cost")
    if not any(e[1].size for e in book.entries) and not any(a[1].size for a in book.acquisitions):
        return {name: np.zeros(0, np.float64 if name in ("margin", "acquisition_cost") else np.int64)
                for name in names}
    parts = [(np.full(e[1].size, e[0]), e[1], e[2], e[3], e[4]) for e in book.entries]
    for step, cells, _, _ in book.acquisitions:
        zero = np.zeros(cells.size)
        parts.append((np.full(cells.size, step), cells, zero.astype(np.int64), zero.astype(np.int64), zero))
    step, cell, active, lost, margin = (np.concatenate([p[j] for p in parts]) for j in range(5))
    span = int(step.max()) + 1
    key, row = np.unique(cell * span + step, return_inverse=True)
    row = row.ravel()
    cell, step = np.divmod(key, span)
    active = np.bincount(row, weights=active, minlength=key.size).astype(np.int64)
    lost = np.bincount(row, weights=lost, minlength=key.size).astype(np.int64)
    margin = np.bincount(row, weights=margin, minlength=key.size)

    cohort_cells, which = np.unique(cell, return_inverse=True)
    which = which.ravel()
    acquired = np.zeros(cohort_cells.size, np.int64)
    cost = np.zeros(cohort_cells.size)
    for _, cells, count, spent in book.acquisitions:
        at = np.searchsorted(cohort_cells, cells)
        acquired[at] += count
        cost[at] += spent
    cohort, product, institution, channel = book.decode(cell)
    # The initial cohorts "acquired" what they held at step 0; their cost was spent before the run.
    at_start = (cohort == 0) & (step == 0)
    acquired[which[at_start]] = active[at_start]
    return {"cohort": cohort, "product": product, "institution": institution, "channel": channel, "step": step,
            "age": step - cohort, "active": active, "lost": lost, "margin": margin, "acquired": acquired[which],
            "acquisition_cost": cost[which]}


def cohort_values(rows: dict[str, np.ndarray], step_rate: float) -> dict[str, np.ndarray]:
    """Cumulative margin, lifetime value to date and payback age of each row of :func:`cohort_rows`.

    Parameters
    ----------
    rows : dict of arrays
        From :func:`cohort_rows` (sorted by cell then age).
    step_rate : float
        Per-step discount rate (:func:`step_discount_rate`).

    Returns
    -------
    dict of str to numpy.ndarray
        ``cumulative_margin`` (undiscounted, ages 0..a), ``ltv`` (margin
        discounted to the cohort step, ages 0..a: the lifetime value to
        date), ``payback_age`` (per cohort: the first age at which the
        cumulative margin reaches the acquisition cost; NaN if never, and for
        the initial cohorts, whose cost was spent before the run).
    """
    cell = _cell_index(rows)
    margin = rows["margin"]
    cumulative = _group_cumsum(margin, cell)
    ltv = _group_cumsum(margin / (1.0 + step_rate) ** rows["age"], cell)
    paid = (cumulative >= rows["acquisition_cost"]) & (rows["cohort"] > 0)
    first = np.full(int(cell.max()) + 1 if cell.size else 0, np.inf)
    np.minimum.at(first, cell[paid], rows["age"][paid].astype(float))
    payback = first[cell]
    payback[~np.isfinite(payback)] = np.nan
    return {"cumulative_margin": cumulative, "ltv": ltv, "payback_age": payback}


def _cell_index(rows: dict[str, np.ndarray]) -> np.ndarray:
    """0..m-1 per distinct cohort cell, in row order (rows are grouped by cell)."""
    keys = np.stack([rows["cohort"], rows["product"], rows["institution"], rows["channel"]])
    if keys.shape[1] == 0:
        return np.zeros(0, np.int64)
    change = np.any(keys[:, 1:] != keys[:, :-1], axis=0)
    return np.concatenate([[0], np.cumsum(change)]).astype(np.int64)


def _group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` within consecutive runs of equal ``group``."""
    total = np.cumsum(values)
    if values.size == 0:
        return total
    starts = np.concatenate([[True], group[1:] != group[:-1]]).nonzero()[0]
    offset = np.repeat(total[starts] - values[starts], np.diff(np.concatenate([starts, [values.size]])))
    return total - offset
