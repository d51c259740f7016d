"""Employees' self-media audience (SF3): followers beyond their network neighbours."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def media_audience(adjacency: sp.csr_array, employees: np.ndarray, size: int,
                   known: tuple[np.ndarray, np.ndarray], rng: np.random.Generator
                   ) -> tuple[tuple[np.ndarray, np.ndarray], sp.csr_array]:
    """Each employee's ``size`` followers, keeping those drawn before, and the audience network.

    Each employee gets ``size`` (A in ``employee_media.audience``) followers
    drawn uniformly at random (with replacement, never itself; a repeat or a
    follower who is also a neighbour counts once) the first time it is
    needed; they are kept for the rest of the run, so growing A adds
    followers and shrinking it drops the last ones drawn.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_array
        (n, n) the social network.
    employees : numpy.ndarray
        Sorted ids of the bank's employees now.
    size : int
        Followers per employee (> 0).
    known : (numpy.ndarray, numpy.ndarray)
        The employees and (employees, width) followers drawn before (empty at first).
    rng : numpy.random.Generator

    Returns
    -------
    ((employees, followers), audience)
        The followers now, and the adjacency plus employee → follower edges
        (0/1 entries), the audience the share kernel reaches.
    """
    n = adjacency.shape[0]
    known_employees, followers = known
    rows = np.full((employees.size, size), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(known_employees, employees), max(known_employees.size - 1, 0))
    kept = known_employees[at] == employees if known_employees.size else np.zeros(employees.size, dtype=bool)
    width = min(size, followers.shape[1])
    rows[kept, :width] = followers[at[kept], :width]
    missing = rows < 0
    draws = rng.integers(0, n - 1, size=int(missing.sum()))
    owner = np.broadcast_to(employees[:, None], rows.shape)[missing]
    rows[missing] = draws + (draws >= owner)      # uniform over everyone but the employee
    edges = sp.csr_array((np.ones(rows.size, dtype=np.float32), (np.repeat(employees, size), rows.ravel())),
                         shape=(n, n))
    combined = (adjacency + edges).tocsr()
    combined.sum_duplicates()
    combined.data[:] = 1.0
    return (employees, rows), combined
