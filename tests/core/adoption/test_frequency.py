"""The frequency kernel's helpers (:mod:`sim.core.adoption.frequency`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.frequency import first_of_each


@pytest.mark.parametrize("span", [50, 10**9])          # the scatter table, then the sort
def test_first_of_each_finds_the_first_occurrence_of_every_key_by_either_path(span):
    rng = np.random.default_rng(3)
    keys = rng.integers(0, span, 5_000)
    keys[::7] = keys[0]                                   # many repeats of one key
    first = first_of_each(keys)
    expected = np.sort(np.unique(keys, return_index=True)[1])   # np.unique returns first occurrences
    assert np.array_equal(first, expected)


def test_first_of_each_of_nothing_is_empty():
    assert first_of_each(np.zeros(0, dtype=np.int64)).size == 0
