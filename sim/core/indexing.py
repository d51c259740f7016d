"""Fast element access to the (customers x offers) and (customers x products) state arrays.

Gathering ``a[rows, cols]`` with two index arrays goes through numpy's
general multi-index machinery; computing the element's position in the
array's memory and indexing a flat view of it is several times faster and
reads the same elements.  Row blocks of a few columns (``a[rows][:, cols]``)
are gathered column-major for the same reason: numpy's inner loops then run
over the rows, not over three or four columns at a time.

:class:`KeyTable` finds the first occurrence (and the count) of each key of
a batch in O(batch) with a table kept between calls, instead of a sort or a
table of the whole key span built for every batch.
"""

from __future__ import annotations

import numpy as np

#: The largest int32, as a Python int (compared with sizes on hot paths, where np.iinfo costs a call).
INT32_MAX = int(np.iinfo(np.int32).max)


def flat(a: np.ndarray) -> np.ndarray | None:
    """A 1-D view of a contiguous 2-D array in its memory order (None if it is not contiguous)."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if a.flags.f_contiguous:
        return a.T.reshape(-1)
    return None


def position(a: np.ndarray, rows: np.ndarray, cols: np.ndarray | int) -> np.ndarray:
    """Index of element ``a[rows, cols]`` in :func:`flat` ``(a)`` (``a`` contiguous)."""
    n, m = a.shape
    rows = np.asarray(rows, dtype=np.int64)
    if m == 1 and np.shape(cols) in ((), rows.shape):      # one column: row r's element is element r
        return rows
    if a.flags.c_contiguous:
        return rows * m + cols
    return rows + np.asarray(cols, dtype=np.int64) * n


def take(a: np.ndarray, rows: np.ndarray, cols: np.ndarray | int) -> np.ndarray:
    """``a[rows, cols]``, read through a flat view when ``a`` is contiguous."""
    view = flat(a)
    if view is None:
        return a[rows, cols]
    return view[position(a, rows, cols)]


def put(a: np.ndarray, rows: np.ndarray, cols: np.ndarray | int, values) -> None:
    """``a[rows, cols] = values``, written through a flat view when ``a`` is contiguous."""
    view = flat(a)
    if view is None:
        a[rows, cols] = values
    else:
        view[position(a, rows, cols)] = values


def block_t(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``a[rows][:, cols].T``: shape (len(cols), len(rows)), C-contiguous, gathered column by column."""
    view = flat(a)
    cols = np.asarray(cols, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    if view is None:
        return np.ascontiguousarray(a[rows][:, cols].T)
    n, m = a.shape
    if a.flags.c_contiguous:
        index = cols[:, None] + (rows * m)[None, :]
    else:
        index = (cols * n)[:, None] + rows[None, :]
    return view[index]


def block_pair_t(a: np.ndarray, b: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`block_t` of two arrays of the same shape and memory order, with the positions computed once."""
    view_a, view_b = flat(a), flat(b)
    if view_a is None or view_b is None or a.shape != b.shape or a.flags.c_contiguous != b.flags.c_contiguous:
        return block_t(a, rows, cols), block_t(b, rows, cols)
    cols = np.asarray(cols, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    n, m = a.shape
    if a.flags.c_contiguous:
        index = cols[:, None] + (rows * m)[None, :]
    else:
        index = (cols * n)[:, None] + rows[None, :]
    return view_a[index], view_b[index]


def put_block(a: np.ndarray, rows: np.ndarray, cols: np.ndarray, value) -> None:
    """``a[rows[:, None], cols[None, :]] = value`` (one value for the whole block), column by column."""
    view = flat(a)
    if view is None:
        a[np.asarray(rows)[:, None], np.asarray(cols)[None, :]] = value
        return
    cols = np.asarray(cols, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    n, m = a.shape
    if a.flags.c_contiguous:
        view[cols[:, None] + (rows * m)[None, :]] = value
    else:
        view[(cols * n)[:, None] + rows[None, :]] = value


class KeyTable:
    """Reusable tables over non-negative integer keys: first occurrence and count of each key of a batch.

    The tables grow to the largest key seen and are never cleared in full,
    so a call costs O(len(keys)), not O(largest key).  Results are those of
    a fresh table (or of a stable sort) for any batch.

    Notes
    -----
    The first occurrences are found by writing each key's positions into an
    int32 table in reverse order and reading the table back at every key: a
    key's entry then holds the position written last.  Every entry read was
    written by this call, so the table needs no reset between calls.  The
    result does not rest on the order in which numpy writes repeated
    indices: each key's entry is one of its positions, so an entry above the
    position it is read at for some key means the first position did not
    win, and that batch is done again with ``np.minimum.at``, exact in any
    order.  An entry at or below every one of its key's positions is the
    first.
    """

    def __init__(self):
        self._first = np.zeros(0, dtype=np.int32)        # a position of each key's latest batch (any resting value)
        self._positions = np.zeros(0, dtype=np.int32)    # 0, 1, 2, ... to slice from
        self._count = np.zeros(0, dtype=np.int64)        # resting value: 0

    @staticmethod
    def _grown(table: np.ndarray, span: int) -> np.ndarray:
        if span <= table.size:
            return table
        return np.zeros(max(span, 2 * table.size), dtype=table.dtype)

    def first_of_each(self, keys: np.ndarray, span: int | None = None) -> np.ndarray:
        """Positions of the first occurrence of each distinct key (in the order given), ascending.

        Parameters
        ----------
        keys : int array
            Non-negative keys.
        span : int, optional
            An upper bound (exclusive) of the keys; ``keys.max() + 1`` when not given.
        """
        m = keys.size
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        if m > INT32_MAX:
            raise ValueError(f"KeyTable.first_of_each: at most 2**31 - 1 keys a call, got {m}")
        self._first = table = self._grown(self._first, int(keys.max()) + 1 if span is None else span)
        if m > self._positions.size:
            self._positions = np.arange(max(m, 2 * self._positions.size), dtype=np.int32)
        positions = self._positions[:m]
        table[keys[::-1]] = positions[::-1]
        winner = table[keys]
        if (winner > positions).any():               # a later position won somewhere: exact in any write order
            table[keys] = m
            np.minimum.at(table, keys, positions)
            winner = table[keys]
        return (winner == positions).nonzero()[0]

    def counts_at(self, keys: np.ndarray, at: np.ndarray | None = None, span: int | None = None) -> np.ndarray:
        """How many times each of ``keys[at]`` (every key when ``at`` is None) occurs in ``keys``."""
        if keys.size == 0:
            return np.zeros(0, dtype=np.int64)
        self._count = table = self._grown(self._count, int(keys.max()) + 1 if span is None else span)
        try:
            np.add.at(table, keys, 1)
            return table[keys if at is None else keys[at]]
        finally:
            table[keys] = 0
