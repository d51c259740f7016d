"""Customer state as arrays: the model's agents are views onto these."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from sim.core.codes import NO_CHANNEL, NO_LOAN


@dataclass
class CustomerState:
    """Everything about customers that changes during a run.

    Shapes: ``n`` customers, ``O`` offers, ``K`` products, ``I`` institutions,
    ``P`` platforms.

    Attributes
    ----------
    aware : bool (n, O)            customer knows the offer
    aware_channel : int8 (n, O)    channel credited for the offer's latest counting touch (-1 none)
    exposures : uint8 (n, O)       advertising exposures of the offer while the customer could enter the
                                   funnel, since it last became a customer of the product (saturating)
    stage : int8 (n, K)            funnel stage per product (see STAGE_NAMES)
    provider : int16 (n, K)        institution providing the product (-1 none)
    channel : int8 (n, K)          channel the current relationship came through (-1 none)
    since : int32 (n, K)           step the current relationship began (-1 none)
    rejected_at : int32 (n, K)     step of the customer's latest rejection for the product (-1 none)
    trust : float32 (n, I)         trust in each institution
    branch_reach : bool (n, I)     lives in a city the institution's branches cover
    platform_user : bool (n, P)    uses each platform
    follower : bool (n, I)         follows the institution's app outside any product
    employer : int16 (n,)          institution employing the customer (-1 none)
    loan : int32 (n, K)            id of the customer's performing loan per product in the LoanBook (-1 none)
    defaulted : bool (n,)          the customer has defaulted (permanent; counts for contagion)
    default_step : int32 (n,)      step of the default (-1 none)

    Notes
    -----
    ``provider``, ``channel`` and ``since`` describe the relationships, and
    the model keeps counts of them by cell (:mod:`sim.core.adoption.tally`)
    up to date from the relationships begun and ended, so they are
    read-only: a relationship begins with :meth:`begin` and ends with
    :meth:`end`, which write them and note the change in :attr:`changes`.
    """

    aware: np.ndarray
    aware_channel: np.ndarray
    exposures: np.ndarray
    stage: np.ndarray
    provider: np.ndarray
    channel: np.ndarray
    since: np.ndarray
    rejected_at: np.ndarray
    trust: np.ndarray
    branch_reach: np.ndarray
    platform_user: np.ndarray
    follower: np.ndarray
    employer: np.ndarray
    loan: np.ndarray | None = None
    defaulted: np.ndarray | None = None
    default_step: np.ndarray | None = None
    #: The relationships begun and ended since the list was last emptied, as :class:`Change`\ s, in order.
    changes: list[Change] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        for a in (self.provider, self.channel, self.since):
            a.flags.writeable = False

    @classmethod
    def empty(cls, n: int, offers: int, products: int, institutions: int, platforms: int) -> CustomerState:
        """State of ``n`` customers before anything happened.

        The per-product and per-institution arrays are column-major, since
        the kernels read them a product or an institution at a time (a
        column is then one contiguous block); ``aware``, ``aware_channel`` and
        ``exposures`` stay row-major, read a customer's offers at a time.
        """
        def column_major(shape, value, dtype):
            return np.full(shape, value, dtype=dtype, order="F")

        return cls(
            aware=np.zeros((n, offers), dtype=bool),
            aware_channel=np.full((n, offers), NO_CHANNEL, dtype=np.int8),
            exposures=np.zeros((n, offers), dtype=np.uint8),
            stage=column_major((n, products), 0, np.int8),
            provider=column_major((n, products), -1, np.int16),
            channel=column_major((n, products), NO_CHANNEL, np.int8),
            since=column_major((n, products), -1, np.int32),
            rejected_at=column_major((n, products), -1, np.int32),
            trust=np.zeros((n, institutions), dtype=np.float32),
            branch_reach=column_major((n, institutions), False, bool),
            platform_user=column_major((n, platforms), False, bool),
            follower=column_major((n, institutions), False, bool),
            employer=np.full(n, -1, dtype=np.int16),
            loan=column_major((n, products), NO_LOAN, np.int32),
            defaulted=np.zeros(n, dtype=bool),
            default_step=np.full(n, -1, dtype=np.int32),
        )

    def begin(self, customers: np.ndarray, product: int, provider: np.ndarray | int, channel: np.ndarray | int,
              since: int) -> None:
        """Start the customers' relationships for ``product`` (ending any they hold for it).

        ``customers`` are distinct; ``provider`` and ``channel`` per customer
        or one for all; ``since``: the step the relationships begin.
        """
        k = product
        customers = _indices(customers)
        if customers.size == 0:
            return
        self._end_held(customers, k)
        provider = _per_customer(provider, self.provider.dtype, customers.size)
        channel = _per_customer(channel, self.channel.dtype, customers.size)
        since = np.full(customers.size, since, dtype=self.since.dtype)
        _write(self.provider, customers, k, provider)
        _write(self.channel, customers, k, channel)
        _write(self.since, customers, k, since)
        self.changes.append(Change(k, customers.copy(), provider, channel, since, 1))

    def end(self, customers: np.ndarray, product: int) -> None:
        """End the customers' relationships for ``product`` (those who hold none are left as they are)."""
        k = product
        customers = _indices(customers)
        self._end_held(customers, k)
        _write(self.provider, customers, k, -1)
        _write(self.channel, customers, k, NO_CHANNEL)
        _write(self.since, customers, k, -1)

    def _end_held(self, customers: np.ndarray, k: int) -> None:
        """Note the end of the relationships the customers hold for product ``k``."""
        if customers.size == 0:
            return
        provider = self.provider[:, k][customers]
        held = (provider >= 0).nonzero()[0]
        if held.size:
            who = customers[held]
            self.changes.append(Change(k, who, provider[held], self.channel[:, k][who], self.since[:, k][who], -1))

    def take_changes(self) -> list[Change]:
        """The changes noted since the last call, and an empty list from now on."""
        changes, self.changes = self.changes, []
        return changes

    def customer_of(self, institutions: int) -> np.ndarray:
        """Bool (n, I): customer holds at least one product with the institution."""
        n = self.provider.shape[0]
        held = np.zeros((n, institutions), dtype=bool)
        rows = np.arange(n)
        for k in range(self.provider.shape[1]):
            has = self.provider[:, k] >= 0
            held[rows[has], self.provider[has, k]] = True
        return held

    def holder_count(self) -> int:
        """Customers holding at least one product."""
        held = self.provider[:, 0] >= 0
        for k in range(1, self.provider.shape[1]):
            held |= self.provider[:, k] >= 0
        return int(np.count_nonzero(held))

    def private_domains(self, institutions: np.ndarray) -> dict[int, np.ndarray]:
        """Customers in each institution's private domain (its customers and its app's followers), sorted.

        The institutions a customer holds a product with are packed as bits
        of one small unsigned integer per customer, in one pass per product,
        so each institution's domain costs two passes over the customers.
        """
        n_institutions = self.follower.shape[1]
        if len(institutions) == 0:
            return {}
        if n_institutions + 1 > 64:
            held = self.customer_of(n_institutions) | self.follower
            return {int(i): held[:, i].nonzero()[0] for i in institutions}
        bits = _bit_set_type(n_institutions + 1)
        held = np.zeros(self.provider.shape[0], dtype=bits)
        one = bits(1)
        for k in range(self.provider.shape[1]):
            shift = self.provider[:, k].astype(bits)     # -1 wraps round and shifts to bit 0 after the + 1
            shift += one
            held |= np.left_shift(one, shift)
        out = {}
        for i in institutions:
            member = (held & np.left_shift(one, bits(int(i) + 1))) != 0
            member |= self.follower[:, i]
            out[int(i)] = member.nonzero()[0]
        return out


@dataclass(frozen=True)
class Change:
    """Relationships of one product begun (``sign`` 1) or ended (-1), with what they were."""

    product: int
    customers: np.ndarray
    provider: np.ndarray
    channel: np.ndarray
    since: np.ndarray
    sign: int


def _indices(customers) -> np.ndarray:
    """Customer indices from indices or a boolean mask over the customers."""
    customers = np.asarray(customers)
    return customers.nonzero()[0] if customers.dtype == bool else customers


def _per_customer(values, dtype, n: int) -> np.ndarray:
    """A new array of ``n`` values of ``dtype``: ``values`` per customer, or one value for all."""
    if np.ndim(values) == 0:
        return np.full(n, values, dtype=dtype)
    return np.array(values, dtype=dtype)


def _write(a: np.ndarray, customers: np.ndarray, k: int, values) -> None:
    """``a[customers, k] = values`` on a read-only (n, K) relationship array."""
    a.flags.writeable = True
    try:
        a[:, k][customers] = values
    finally:
        a.flags.writeable = False


@functools.cache
def _bit_set_type(bits: int) -> type:
    """The smallest unsigned integer type with at least ``bits`` bits."""
    return next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= bits)
