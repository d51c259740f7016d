"""What decisions add to the step: the baseline with every institution on ``rule`` against all ``fixed``.

Both models are built in this one process from ``scenarios/baseline.yaml`` at
the same population size and seed, then stepped alternately (so a burst of
load from other processes hits both).  Reported per model: mean wall and CPU
seconds per step; for the ``rule`` model also the seconds spent inside
:meth:`~sim.model.model.ChannelModel.decide` (observation, rules, the lever
changes and the catalog derived again after each round), as a share of its
step time.  Time is process CPU time (wall time on a shared machine is
mostly other processes' preemption); medians are reported beside means,
and ``decide_median_share_of_fixed_step`` (median CPU of a decision round
over ``decisions.every`` median fixed steps) is the figure least moved by
load.  The share of the rule model's step
CPU spent deciding is the figure to quote: the two models' step times also
differ because their prices, and so their customers, differ.

Usage::

    python benchmarks/bench_decisions.py --size 100000 --steps 12
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASELINE = ROOT / "scenarios" / "baseline.yaml"


def build(size: int, kind: str, seed: int):
    """The baseline at ``size`` customers with every bank, platform and insurer on policy ``kind``."""
    from sim.model.model import ChannelModel
    from sim.scenario import load_scenario

    plain = load_scenario(BASELINE, overrides={"population.size": size})
    overrides = {"population.size": size}
    for group in ("banks", "platforms", "insurers"):
        for iid in getattr(plain, group):
            overrides[f"{group}.{iid}.policy.kind"] = kind
    return ChannelModel(load_scenario(BASELINE, overrides=overrides), seed=seed)


def timed_decide(model) -> list[float]:
    """Wrap ``model.decide`` to record the process CPU seconds of each decision round."""
    rounds: list[float] = []
    original = model.decide

    def decide() -> None:
        start = time.process_time()
        original()
        rounds.append(time.process_time() - start)

    model.decide = decide
    return rounds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    models = {kind: build(args.size, kind, args.seed) for kind in ("fixed", "rule")}
    rounds = timed_decide(models["rule"])
    wall = {kind: [] for kind in models}
    cpu = {kind: [] for kind in models}
    for _ in range(args.steps):
        for kind, model in models.items():
            w, c = time.perf_counter(), time.process_time()
            model.step()
            wall[kind].append(time.perf_counter() - w)
            cpu[kind].append(time.process_time() - c)
    changes = sum(1 for c in models["rule"].levers.log if c.source == "decision")
    every = models["rule"].decisions_every
    result = {
        "size": args.size, "steps": args.steps,
        "step_seconds": {kind: statistics.mean(v) for kind, v in wall.items()},
        "step_cpu_seconds": {kind: statistics.mean(v) for kind, v in cpu.items()},
        "decision_rounds": len(rounds),
        "decide_cpu_seconds_per_round": statistics.mean(rounds) if rounds else 0.0,
        "decide_share_of_rule_step_cpu": sum(rounds) / sum(cpu["rule"]),
        "decide_cpu_over_fixed_step_cpu": sum(rounds) / sum(cpu["fixed"]),
        # Medians resist bursts of load from other processes better than means.
        "decide_cpu_median_per_round": statistics.median(rounds) if rounds else 0.0,
        "step_cpu_median": {kind: statistics.median(v) for kind, v in cpu.items()},
        "decide_median_share_of_fixed_step": (statistics.median(rounds) / every / statistics.median(cpu["fixed"])
                                              if rounds else 0.0),
        "lever_changes": changes,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
