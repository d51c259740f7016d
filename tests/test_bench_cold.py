"""benchmarks/bench_cold.py times the same steps of three copies, each after what its condition names."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_cold  # noqa: E402
import bench_step  # noqa: E402


class _Junk(np.ndarray):
    """An eviction array that logs each write."""

    log: list

    def __iadd__(self, other):
        self.log.append("write")
        return super().__iadd__(other)


def test_each_timed_step_follows_what_its_condition_names(monkeypatch):
    events = []           # (what ran, the copy's step count after it), in order
    copies = []

    def built(n, seed):
        model = bench_step.build_vectorised(n, seed)
        step, index = model.step, len(copies)
        copies.append(model)

        def counted():
            step()
            events.append((bench_cold.CONDITIONS[index], model.steps))
        model.step = counted
        return model

    monkeypatch.setattr(bench_cold, "build_vectorised", built)
    reference = bench_step.build_reference(300, 1)
    reference_step = reference.step
    monkeypatch.setattr(reference, "step", lambda: (events.append(("reference model", None)), reference_step()))
    junk = np.zeros(8).view(_Junk)
    junk.log = events
    times = bench_cold.bench_size(300, steps=3, seed=1, reference=reference, junk=junk)

    warm_up, rest = events[:3], events[3:]
    assert [name for name, _ in warm_up] == list(bench_cold.CONDITIONS)
    expected = [("own", s) for s in (2, 3, 4)]
    for s in (2, 3, 4):
        expected += ["write", ("evicted", s), ("reference model", None), ("reference", s)]
    assert [e if e == "write" else tuple(e) for e in rest] == expected
    assert {condition: len(seconds) for condition, seconds in times.items()} == dict.fromkeys(bench_cold.CONDITIONS, 3)


def test_an_unknown_condition_is_refused():
    with pytest.raises(ValueError, match="own, evicted, reference"):
        bench_cold.before_step("sleep", None, np.zeros(1))
