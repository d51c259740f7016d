"""Mechanism 2, referral spread: promoters make their neighbours aware.

Fixed semantics (docs/ODD.md, "Referral"): a customer who became active with a provider is a
promoter for a window of ``W`` steps.  Each step each promoter gives each
neighbour who is not yet a customer of that provider an independent chance
``r``; a customer with ``m`` promoter neighbours for an offer is reached with
probability ``1 - (1 - r)^m``.  Employee self-media (SF3) uses the same kernel
with employees as permanent sharers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sim.core.indexing import INT32_MAX, take
from sim.core.sampling import bernoulli_positions
from sim.core.touches import Touches


class ActivationLog:
    """The relationships begun in the last steps, and which of them still last: the promoters' source.

    A relationship begun at step ``s`` promotes at steps ``s+1 .. s+W`` while
    it lasts (W = ``window`` of its offer).  Each step's activations are added
    as a row ``(s, customers, offers)`` (:meth:`add`); relationships held
    before the run are never added, so they never promote.  Every relationship
    ends through :meth:`sim.core.state.CustomerState.end` (or ``begin``,
    which ends the one held first), which notes what it was; :meth:`note_ends`
    reads those notes and marks the rows that ended.  So :meth:`promoters`
    costs what the rows within the window hold, and never reads the
    customers' state.  Each activation also keeps where its customer's
    neighbour list starts in the network's CSR adjacency, and its length,
    read once when it is added rather than at every step it promotes.

    Parameters
    ----------
    indptr : int array (n + 1,)
        The CSR adjacency's ``indptr``: customer ``c``'s neighbours are
        ``indices[indptr[c]:indptr[c + 1]]``.
    """

    def __init__(self, indptr: np.ndarray) -> None:
        self._indptr = indptr
        self._rows: list[tuple[int, np.ndarray, np.ndarray]] = []
        self._neighbour_rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._lasting: list[np.ndarray | None] = []      # per row: bool per activation, None while all last

    def __iter__(self):
        """The rows kept, oldest first, as ``(step, customers, offers)``."""
        return iter(self._rows)

    def add(self, step: int, customers: np.ndarray, offers: np.ndarray) -> None:
        """The relationships begun at ``step`` (distinct customers per product)."""
        self._rows.append((step, customers, offers))
        starts = self._indptr[customers]
        self._neighbour_rows.append((starts, self._indptr[customers + 1] - starts))
        self._lasting.append(None)

    def forget_before(self, step: int) -> None:
        """Drop the rows begun before ``step``."""
        keep = [r for r, row in enumerate(self._rows) if row[0] >= step]
        self._rows = [self._rows[r] for r in keep]
        self._neighbour_rows = [self._neighbour_rows[r] for r in keep]
        self._lasting = [self._lasting[r] for r in keep]

    def note_ends(self, changes, offer_institution: np.ndarray, offer_product: np.ndarray) -> None:
        """Mark the rows whose relationship one of ``changes`` (:class:`~sim.core.state.Change`) ended.

        An ended relationship is the row with its customer, product, provider
        and start step: a customer holds one relationship per product at a
        time, and one begun after a row was added starts at a later step.
        """
        for change in changes:
            if change.sign > 0 or not self._rows:
                continue
            for r, (step, customers, offers) in enumerate(self._rows):
                ended = change.since == step
                if not ended.any():
                    continue
                who, provider = change.customers[ended], change.provider[ended]
                order = np.argsort(who)
                who, provider = who[order], provider[order]
                at = np.minimum(np.searchsorted(who, customers), who.size - 1)
                gone = ((who[at] == customers) & (offer_product[offers] == change.product)
                        & (provider[at] == offer_institution[offers]))
                if gone.any():
                    lasting = self._lasting[r]
                    self._lasting[r] = ~gone if lasting is None else lasting & ~gone

    def promoters(self, step: int, window: np.ndarray) -> Promoters:
        """The (customer, offer) pairs whose lasting relationship began within its offer's window before ``step``.

        ``window``: per offer, the referral window W in steps.
        """
        if not self._rows:
            none = np.zeros(0, np.int64)
            return Promoters(none, np.zeros(0, np.int32), none, none)
        ages = [step - row[0] for row in self._rows]
        every = window.size and 1 <= min(ages) and max(ages) <= int(window.min())
        columns = []
        for (_, c, o), (start, length), lasting, age in zip(self._rows, self._neighbour_rows, self._lasting, ages,
                                                            strict=True):
            if not every:
                within = (age >= 1) & (age <= window[o])
                lasting = within if lasting is None else lasting & within
            if lasting is not None:
                keep = lasting.nonzero()[0]
                c, o, start, length = c[keep], o[keep], start[keep], length[keep]
            columns.append((c, o, start, length))
        customer, offer, start, length = (np.concatenate(column) for column in zip(*columns, strict=True))
        return Promoters(customer.astype(np.int64, copy=False), offer, start, length)


@dataclass
class Promoters:
    """This step's promoters: (customer, offer) pairs, with each customer's neighbour list in the adjacency.

    Attributes
    ----------
    customer, offer : int arrays
        The pairs, in the order of the activations they come from.
    start, length : int arrays
        Per pair: where the customer's neighbours start in the adjacency's
        ``indices`` (its ``indptr`` entry), and how many there are.
    """

    customer: np.ndarray
    offer: np.ndarray
    start: np.ndarray
    length: np.ndarray


def spread(adjacency: sp.csr_array, sources: np.ndarray, offer: int, channel: int, rate: float,
           holder: np.ndarray, institution: int, rng: np.random.Generator) -> Touches:
    """Touches by sharers of one offer to their neighbours who are not yet customers.

    Each (sharer, neighbour) edge succeeds independently with probability
    ``r``; a neighbour is touched if any of its edges succeeds, i.e. with
    probability ``1 - (1 - r)^m`` for ``m`` sharing neighbours.  Successful
    edges are sampled directly (geometric gaps over the sharers' concatenated
    neighbour lists), so the cost grows with the sharers and their successes,
    not with the population.

    Parameters
    ----------
    adjacency : CSR adjacency of the social network.
    sources : int array
        Promoters (or employees) sharing the offer this step; a customer
        listed twice shares twice.
    offer, channel : int
        Recorded on the touches (``referral`` or ``employee``).
    rate : float
        ``r``, the per-neighbour chance of each sharer.
    holder : int array (n,)
        Each customer's provider of the offer's product (-1 none).
    institution : int
        The offer's institution: its customers for the product are not touched.
    rng : numpy.random.Generator
    """
    if rate <= 0.0 or sources.size == 0:
        return Touches.empty()
    indptr, indices = adjacency.indptr, adjacency.indices
    starts = indptr[sources]
    lengths = indptr[sources + 1] - starts
    ends = np.cumsum(lengths)
    if ends[-1] == 0:
        return Touches.empty()
    edges = bernoulli_positions(int(ends[-1]), rate, rng)
    sharer = np.searchsorted(ends, edges, side="right")
    # Edge j of the concatenated lists is entry starts[s] + j - (ends[s] - lengths[s]) of ``indices``.
    offset = starts - ends
    offset += lengths
    reached = np.sort(indices[offset[sharer] + edges])
    first = np.ones(reached.size, dtype=bool)
    np.not_equal(reached[1:], reached[:-1], out=first[1:])
    reached = reached[first]                       # as np.unique, without its overhead
    reached = reached[holder[reached] != institution]
    return Touches.of(reached, offer, channel)


def spread_offers(adjacency: sp.csr_array, sources: np.ndarray, source_offer: np.ndarray, offers: np.ndarray,
                  channel: int, rates: np.ndarray, provider: np.ndarray, offer_institution: np.ndarray,
                  offer_product: np.ndarray, rng: np.random.Generator,
                  neighbour_rows: tuple[np.ndarray, np.ndarray] | None = None) -> Touches:
    """:func:`spread` for several offers in one pass: the same touches, in the same order, from the same draws.

    Offer ``offers[g]``'s sharers are ``sources[source_offer == offers[g]]``
    (in their order) with rate ``rates[g]``; its touches come after those of
    ``offers[g - 1]``, as ``Touches.concat`` of one :func:`spread` per offer
    would give.  Only the random draws are made offer by offer (each offer's
    own draw, in the order of ``offers``); the neighbour lists, the lookup of
    the reached neighbours, their deduplication and the filter of the
    offer's customers are done once for all offers.

    Parameters
    ----------
    adjacency : CSR adjacency of the social network.
    sources, source_offer : int arrays
        The sharers and the offer each shares (a customer may share several).
    offers : int array
        The offers to spread, in the order of their touches.
    channel : int
        Recorded on the touches.
    rates : float array
        Per offer of ``offers``, the per-neighbour chance of each sharer.
    provider : int array (n, K)
        Each customer's provider of each product (-1 none): an offer's
        institution's customers for its product are not touched.
    offer_institution, offer_product : int arrays
        Per offer (of the catalog), its institution and product.
    rng : numpy.random.Generator
    neighbour_rows : (start, length) int arrays, optional
        Per source, its ``indptr`` entry and degree in ``adjacency``, when
        already known (:class:`Promoters`): the same touches, without
        reading ``indptr`` at every source.
    """
    if len(offers) != len(rates):
        raise ValueError(f"spread_offers: {len(offers)} offers but {len(rates)} rates")
    spreading = [(int(o), float(rate)) for o, rate in zip(offers, rates, strict=True) if rate > 0.0]
    mine = [(source_offer == o).nonzero()[0] for o, _ in spreading]
    offers = np.asarray([o for o, _ in spreading], dtype=np.int64)
    rates = [rate for _, rate in spreading]
    if not mine:
        return Touches.empty()
    chosen = np.concatenate(mine)
    indptr, indices = adjacency.indptr, adjacency.indices
    if neighbour_rows is None:
        sharers = sources[chosen]
        starts = indptr[sharers]
        lengths = indptr[sharers + 1] - starts
    else:
        starts, lengths = neighbour_rows[0][chosen], neighbour_rows[1][chosen]
    ends = np.cumsum(lengths)
    last = np.cumsum([m.size for m in mine]) - 1          # each offer's last sharer
    parts, groups = [], []
    below = 0
    for g, rate in enumerate(rates):
        top = int(ends[last[g]])
        if top > below:
            edges = bernoulli_positions(top - below, rate, rng)
            parts.append(edges + below if below else edges)
            groups.append(np.full(edges.size, g, dtype=np.int64))
        below = top
    if not parts:
        return Touches.empty()
    edges = np.concatenate(parts)
    sharer = np.searchsorted(ends, edges, side="right")
    # Edge j of the concatenated lists is entry starts[s] + j - (ends[s] - lengths[s]) of ``indices``.
    offset = starts - ends
    offset += lengths
    n = provider.shape[0]
    # Keys by offer, then customer; int32 when they fit (numpy sorts those about twice as fast).
    kind = np.int32 if len(rates) * n <= INT32_MAX else np.int64
    group = np.concatenate(groups).astype(kind)
    key = group * kind(n)
    key += indices[offset[sharer] + edges]
    key.sort()
    first = np.ones(key.size, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=first[1:])
    key = key[first.nonzero()[0]]
    group, reached = np.divmod(key, kind(n))
    reached = reached.astype(np.int64)
    offer = offers[group]
    outside = (take(provider, reached, offer_product[offer]) != offer_institution[offer]).nonzero()[0]
    return Touches(reached[outside], offer[outside].astype(np.int32),
                   np.full(outside.size, int(channel), dtype=np.int8))
