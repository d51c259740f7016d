"""Time a step with the credit side on against the same scenario with credit off.

Both models are built from ``benchmarks/scenarios/bench_risk.yaml`` at the
same population size (default 100,000 customers, Watts–Strogatz k = 10): one
as written (underwriting, loans, hazard defaults under a macro shock, peer
effect and threshold contagion from seeded defaults, a credit insurer), one
with ``credit.enabled=false`` (adoption only; credit is approved like any
product).  Each is stepped ``--warmup`` times, then ``--steps`` times with
the two models alternating step by step, so that load from other processes
on a shared machine falls on both.  The ratio credit-on / adoption-only of
the mean (and of the fastest) step is the figure to quote; issue 3 asks for
at most 2.  Both wall time and the process's CPU time are reported: on a
busy shared machine wall time includes waiting for a core, CPU time does
not (the kernels are single-threaded), so the CPU-time ratio is the steadier
figure.

The ratio depends on the phase of the run.  The adoption-only step costs
what the step's activity costs, and falls as the market fills (about
3.4 ms/step over steps 1–20 at 100,000 customers, 1.7 ms by step 50); the
credit side costs in proportion to the loans performing (a default draw per
loan per step, ~30,000 loans here) and to the defaulted customers'
neighbourhoods, so it stays near 3–3.5 ms.  With the default protocol (3
warm-up steps, 30 timed) the ratio is about 1.8–2.0; over steps 50–60 it is
about 3.  ``--warmup`` moves the window.

Usage::

    python benchmarks/bench_risk.py                      # 100,000 customers, 10 timed steps
    python benchmarks/bench_risk.py --size 10000 --steps 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIO = HERE / "scenarios" / "bench_risk.yaml"


def build(size: int, credit: bool, seed: int):
    from sim.model import ChannelModel
    from sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO, overrides={"population.size": size, "credit.enabled": credit,
                                                  "time.steps": 1000})
    return ChannelModel(scenario, seed=seed)


def bench(size: int, steps: int, warmup: int, seed: int) -> dict:
    """Mean and fastest seconds per step of both models, steps interleaved."""
    models = {"adoption": build(size, False, seed), "credit": build(size, True, seed)}
    for model in models.values():
        for _ in range(warmup):
            model.step()
    wall: dict[str, list[float]] = {name: [] for name in models}
    cpu: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(steps):
        for name, model in models.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            model.step()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    market = models["credit"].recorder.market[-1]
    mean = statistics.fmean
    return {
        "size": size, "steps": steps,
        "adoption_step_s": mean(wall["adoption"]), "credit_step_s": mean(wall["credit"]),
        "adoption_min_s": min(wall["adoption"]), "credit_min_s": min(wall["credit"]),
        "adoption_cpu_s": mean(cpu["adoption"]), "credit_cpu_s": mean(cpu["credit"]),
        "adoption_cpu_median_s": statistics.median(cpu["adoption"]),
        "credit_cpu_median_s": statistics.median(cpu["credit"]),
        "ratio": mean(wall["credit"]) / mean(wall["adoption"]),
        "ratio_of_min": min(wall["credit"]) / min(wall["adoption"]),
        "ratio_cpu": mean(cpu["credit"]) / mean(cpu["adoption"]),
        "ratio_cpu_median": statistics.median(cpu["credit"]) / statistics.median(cpu["adoption"]),
        "borrowers": market["borrowers"], "defaulted": market["defaulted"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per model first")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"{SCENARIO.relative_to(ROOT)} at {args.size:,} customers; {os.cpu_count()} cores, "
          f"load average {', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}")
    r = bench(args.size, args.steps, args.warmup, args.seed)
    print(f"adoption only : {r['adoption_step_s'] * 1e3:8.1f} ms/step wall (fastest {r['adoption_min_s'] * 1e3:.1f}), "
          f"{r['adoption_cpu_s'] * 1e3:.1f} ms CPU")
    print(f"credit on     : {r['credit_step_s'] * 1e3:8.1f} ms/step wall (fastest {r['credit_min_s'] * 1e3:.1f}), "
          f"{r['credit_cpu_s'] * 1e3:.1f} ms CPU")
    print(f"ratio         : {r['ratio']:8.2f}x mean wall, {r['ratio_of_min']:.2f}x fastest wall, "
          f"{r['ratio_cpu']:.2f}x mean CPU, {r['ratio_cpu_median']:.2f}x median CPU")
    print(f"credit run    : {r['borrowers']:,} borrowers, {r['defaulted']:,} defaulted at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
