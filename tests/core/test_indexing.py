"""Flat-view element access and the reusable key table (:mod:`sim.core.indexing`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.frequency import first_of_each
from sim.core.indexing import KeyTable, block_t, flat, put, put_block, take

LAYOUTS = ["C", "F", "strided"]


def _array(layout: str, rng) -> np.ndarray:
    base = rng.integers(-5, 100, (60, 8)).astype(np.int16)
    if layout == "strided":
        return base[:, ::2]                     # neither C- nor F-contiguous: the fancy-index fallback
    return np.array(base[:, :4], order=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_take_and_block_read_what_fancy_indexing_reads(layout):
    rng = np.random.default_rng(1)
    a = _array(layout, rng)
    rows, cols = rng.integers(0, a.shape[0], 500), rng.integers(0, a.shape[1], 500)
    assert np.array_equal(take(a, rows, cols), a[rows, cols])
    assert np.array_equal(take(a, rows, 2), a[rows, 2])
    some = np.array([3, 0, 2])
    block = block_t(a, rows, some)
    assert block.shape == (3, rows.size) and block.flags.c_contiguous
    assert np.array_equal(block, a[rows][:, some].T)
    assert (flat(a) is None) == (layout == "strided")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_put_and_put_block_write_what_fancy_assignment_writes(layout):
    rng = np.random.default_rng(2)
    a, b = _array(layout, rng), None
    b = a.copy()
    rows = rng.choice(a.shape[0], 30, replace=False)        # distinct pairs: no write order to depend on
    cols = rng.integers(0, a.shape[1], 30)
    values = rng.integers(0, 9, 30).astype(np.int16)
    put(a, rows, cols, values)
    b[rows, cols] = values
    assert np.array_equal(a, b)
    put_block(a, rows[:10], np.array([1, 3]), -7)
    b[rows[:10, None], np.array([1, 3])[None, :]] = -7
    assert np.array_equal(a, b)


class _WritesInTheOtherOrder(np.ndarray):
    """A table whose repeated-index writes keep the first value written, as a numpy build might."""

    def __setitem__(self, index, values):
        if isinstance(index, np.ndarray) and np.ndim(values):
            index, values = index[::-1], np.asarray(values)[::-1]
        super().__setitem__(index, values)


@pytest.mark.parametrize("write_order", ["numpy", "other"])
def test_key_table_agrees_with_a_fresh_table_on_every_batch_and_rests_between_calls(write_order):
    rng = np.random.default_rng(3)
    table = KeyTable()
    if write_order == "other":        # the first positions lose the reversed writes: the exact fallback answers
        table._first = np.zeros(3_000, dtype=np.int32).view(_WritesInTheOtherOrder)
    for _ in range(200):
        span = int(rng.integers(1, 3_000))
        keys = rng.integers(0, span, int(rng.integers(0, 400)))
        if keys.size > 3:
            keys[::3] = keys[0]                              # repeats
        expected = np.sort(np.unique(keys, return_index=True)[1]) if keys.size else np.zeros(0, np.int64)
        assert np.array_equal(table.first_of_each(keys), expected)
        assert np.array_equal(first_of_each(keys, table), expected)
        at = np.arange(keys.size)
        assert np.array_equal(table.counts_at(keys, at), np.array([np.count_nonzero(keys == k) for k in keys],
                                                                  dtype=np.int64).reshape(-1))
    assert not table._count.any()
    assert isinstance(table._first, _WritesInTheOtherOrder) == (write_order == "other")
    # The reversed writes alone leave a later position for a repeated key only in the other order: its fallback ran.
    repeated = np.array([5, 3, 5, 3, 9])
    positions = np.arange(repeated.size, dtype=np.int32)
    table._first[repeated[::-1]] = positions[::-1]
    assert (np.asarray(table._first)[repeated] > positions).any() == (write_order == "other")


def test_key_table_of_keys_seen_once_returns_every_position():
    keys = np.array([9, 4, 7, 0])
    assert KeyTable().first_of_each(keys).tolist() == [0, 1, 2, 3]
