"""The relationships held now, counted by cell, kept up to date from those begun and ended.

The ledger, the cohort book and the decisions read the relationships by
cell: (product, provider, entry channel, city tier) for the accounts
(:mod:`sim.core.adoption.cells`) and (cohort step, product, provider,
entry channel) for the cohorts (:mod:`sim.core.adoption.cohorts`).
Counting them from the customer arrays costs a pass over every holder
each step; a relationship only begins (:meth:`CustomerState.begin`) or
ends (:meth:`CustomerState.end`), and each change is noted with what the
relationship was, so the counts move by the step's changes alone, O(changes).
The counts are integers: they equal a count from scratch exactly
(``tests/core/adoption/test_tally.py`` checks it every step of library runs).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.core.adoption.cells import cell_codes
from sim.core.state import Change

CohortCell = Callable[[np.ndarray, int, np.ndarray, np.ndarray], np.ndarray]


class RelationshipTally:
    """Relationships held, by (product, provider, channel + 1, tier) and by cohort cell.

    Parameters
    ----------
    n_products, n_institutions, n_channels : int
        Sizes of the run.
    tier : (n,) int array
        Each customer's city tier index 0..3.
    cohort_cell : callable
        ``cohort_cell(cohort_step, product, provider, channel)``: the cohort
        cell codes of relationships (:meth:`sim.core.adoption.cohorts.CohortBook.cell_of`).

    Attributes
    ----------
    cells : (K, I, C + 1, 4) int array
        Relationships by product, provider, entry channel + 1 (0: held before
        the run) and the customer's city tier.
    cohorts : list of int arrays
        Per product, relationships by cohort cell (the cells beyond the end
        hold none).
    """

    def __init__(self, n_products: int, n_institutions: int, n_channels: int, tier: np.ndarray,
                 cohort_cell: CohortCell):
        self.width = n_channels + 1
        self.cells = np.zeros((n_products, n_institutions, self.width, 4), dtype=np.int64)
        self.cohorts = [np.zeros(0, np.int64) for _ in range(n_products)]
        self._tier = tier
        self._cohort_cell = cohort_cell

    def apply(self, changes: list[Change]) -> None:
        """Move the counts by relationships begun (+1) and ended (-1), in any order."""
        flat = self.cells.reshape(self.cells.shape[0], -1)
        for change in changes:
            k, sign = change.product, change.sign
            code = cell_codes(change.provider, change.channel, self._tier[change.customers], self.width)
            moved = np.bincount(code, minlength=flat.shape[1])
            flat[k] += moved if sign > 0 else -moved
            cohort = self._cohort_cell(np.maximum(change.since, 0), k, change.provider, change.channel)
            counts = self.cohorts[k]
            top = int(cohort.max()) + 1
            if top > counts.size:
                counts = self.cohorts[k] = np.concatenate([counts, np.zeros(top - counts.size, np.int64)])
            moved = np.bincount(cohort, minlength=counts.size)
            counts += moved if sign > 0 else -moved
