"""PRIM recovers a planted box (sim.experiments.prim).

2,000 uniform points in [0, 1]^4; y = 1 with probability 0.9 inside the box
a in [0.2, 0.6], b in [0.3, 0.8] (mass 0.2) and 0.05 outside.  The planted box
itself has coverage 0.18 / (0.18 + 0.04) = 0.82 and density 0.9, each with a
binomial sampling error of about 0.02 at this size; the thresholds below
leave five such errors for the search.  The limits are recovered to within
0.03 (about 3% of the range: points are 1/2000 apart per unit of mass along
a dimension, and alpha = 5% peels are coarse).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiments.prim import find_box, find_boxes

PLANTED = {"a": (0.2, 0.6), "b": (0.3, 0.8)}


def planted(seed: int, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, 4)), columns=list("abcd"))
    inside = x["a"].between(*PLANTED["a"]) & x["b"].between(*PLANTED["b"])
    y = np.where(inside, rng.uniform(size=n) < 0.9, rng.uniform(size=n) < 0.05).astype(int)
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prim_recovers_a_planted_box(seed):
    box = find_box(*planted(seed))
    assert box.coverage >= 0.70
    assert box.density >= 0.80
    restricted = box.restricted()
    assert set(restricted) == {"a", "b"}
    for name, (low, high) in PLANTED.items():
        assert restricted[name][0] == pytest.approx(low, abs=0.03)
        assert restricted[name][1] == pytest.approx(high, abs=0.03)
    assert "a in [" in box.describe() and "c in" not in box.describe()


def test_no_cases_no_box_and_covering_finds_two_boxes():
    x, _ = planted(5)
    assert find_box(x, np.zeros(len(x))) is None
    y = ((x["a"] < 0.3) & (x["b"] < 0.3) | (x["c"] > 0.7) & (x["d"] > 0.7)).astype(int).to_numpy()
    boxes = find_boxes(x, y, max_boxes=2)
    assert len(boxes) == 2
    found = [set(b.restricted()) for b in boxes]
    assert {"a", "b"} in found and {"c", "d"} in found
    assert sum(b.coverage for b in boxes) >= 0.9
