"""benchmarks/bench_step.py times the same steps of both models whatever the order (not a timed test)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_step  # noqa: E402


@pytest.mark.parametrize("order", ["interleaved", "blocks"])
def test_each_order_times_every_step_of_both_models_in_its_sequence(order, monkeypatch):
    stepped = []          # which model stepped, in order
    build_reference, build_vectorised = bench_step.build_reference, bench_step.build_vectorised

    def counting(build, name):
        def built(*args):
            model = build(*args)
            step = model.step

            def counted():
                stepped.append(name)
                step()
            model.step = counted
            return model
        return built

    monkeypatch.setattr(bench_step, "build_reference", counting(build_reference, "reference"))
    monkeypatch.setattr(bench_step, "build_vectorised", counting(build_vectorised, "vectorised"))
    row = bench_step.bench_size(300, steps=3, seed=1, order=order)
    warm_up, timed = stepped[:2], stepped[2:]
    assert warm_up == ["reference", "vectorised"]
    expected = (["reference", "vectorised"] * 3 if order == "interleaved"
                else ["reference"] * 3 + ["vectorised"] * 3)
    assert timed == expected
    assert row["order"] == order and row["steps"] == 3


def test_an_unknown_order_is_refused():
    with pytest.raises(ValueError, match="interleaved"):
        bench_step.bench_size(300, steps=1, seed=1, order="random")
