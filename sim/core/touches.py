"""A batch of touches: customers made aware of an offer through a channel this step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Touches:
    """Parallel arrays: ``customer[j]`` met ``offer[j]`` through ``channel[j]``."""

    customer: np.ndarray
    offer: np.ndarray
    channel: np.ndarray

    @classmethod
    def empty(cls) -> Touches:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int8))

    @classmethod
    def of(cls, customer: np.ndarray, offer: int | np.ndarray, channel: int) -> Touches:
        customer = np.asarray(customer, dtype=np.int64)
        if np.ndim(offer) == 0:
            offer = np.full(customer.size, offer, dtype=np.int32)
        else:
            offer = np.broadcast_to(np.asarray(offer, dtype=np.int32), customer.shape).copy()
        return cls(customer, offer, np.full(customer.size, channel, dtype=np.int8))

    @classmethod
    def concat(cls, parts: list[Touches]) -> Touches:
        parts = [p for p in parts if p.customer.size]
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.customer for p in parts]),
                   np.concatenate([p.offer for p in parts]),
                   np.concatenate([p.channel for p in parts]))

    def __len__(self) -> int:
        return self.customer.size

    def select(self, which: np.ndarray) -> Touches:
        """The touches at positions ``which`` (ints), or where ``which`` (bools) is true, in order."""
        if which.dtype == bool:     # positions once: three gathers by index cost less than three by a mask
            which = which.nonzero()[0]
        return Touches(self.customer[which], self.offer[which], self.channel[which])
