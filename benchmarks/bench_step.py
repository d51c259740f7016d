"""Time one step of the Mesa reference model against the project's vectorised model.

Both models are built in this one process at the same population sizes from
``benchmarks/scenarios/bench.yaml`` (the reference reads its parameters from
the same file), stepped once to warm up, then stepped ``--steps`` times,
alternating between the two so that a burst of load from other processes on
a shared machine hits both.  Construction is timed separately and excluded
from the per-step figures.  The ratio reference / vectorised is what to quote:
absolute seconds depend on the machine and on what else it is doing.  The
process CPU time of each step is recorded too: ``ratio(CPU)``, the ratio of
the mean CPU seconds, is the least disturbed by other processes taking the
cores (a vectorised step of a few milliseconds loses a whole scheduler slice
when preempted, a reference step of half a second averages over many).

``--order blocks`` times all the reference's steps first and then all the
vectorised model's, still in one process.  Interleaved, each vectorised step
follows a reference step that has left the caches cold, so it pays for what
a run of the model alone does not; the two orders together show how much
of the ratio is that, and ``bench_cold.py`` how much of it is the customer
data and how much the rest of the step's state.

``--full`` also times a whole run of ``scenarios/baseline.yaml`` (60 steps,
10,000 customers, one replication) through ``sim.run``, wall time after
import; it is skipped with a note if that file does not exist.

Usage::

    python benchmarks/bench_step.py --sizes 10000 100000 --steps 5
    python benchmarks/bench_step.py --sizes --full      # only the full run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from reference_model import ReferenceModel  # noqa: E402

from sim.core.adoption.exposure import response  # noqa: E402

BENCH_SCENARIO = HERE / "scenarios" / "bench.yaml"
BASELINE_SCENARIO = ROOT / "scenarios" / "baseline.yaml"


# --------------------------------------------------------------------------- building the two models
def load_bench(n: int, overrides: dict | None = None, path: Path = BENCH_SCENARIO):
    """The benchmark scenario at population ``n``, with optional dotted-path overrides."""
    from sim.scenario import load_scenario

    return load_scenario(path, overrides={**(overrides or {}), "population.size": n})


def reference_kwargs(scenario) -> dict:
    """ReferenceModel arguments for a scenario, refusing features the reference does not have."""
    net = scenario.network
    if net.kind != "watts_strogatz":
        raise ValueError(f"the reference model only has a watts_strogatz network, scenario has {net.kind}")
    if len(scenario.products) != 1 or scenario.platforms or scenario.partnerships or scenario.events:
        raise ValueError("the reference model has one product, banks only, no partnerships or events")
    (product,) = scenario.products
    banks = list(scenario.banks.values())
    curve = scenario.marketing.response.branch
    exposure = {float(response(b.branch.spend, curve.p_max, curve.s0)) for b in banks}
    rate = {b.referral.rate if b.referral.enabled else 0.0 for b in banks}
    window = {b.referral.window for b in banks}
    if len(exposure) != 1 or len(rate) != 1 or len(window) != 1:
        raise ValueError("the reference model needs the same exposure rate and referral rule for every bank")
    for b in banks:
        if b.branch.coverage != [1.0, 1.0, 1.0, 1.0] or b.retention != 1.0:
            raise ValueError("the reference model needs full branch coverage and retention 1.0")
        if b.own_app.spend or b.live_stream.enabled or b.employee_media.staff_share or b.targeting \
                or b.marketing.budget is not None:
            raise ValueError("the reference model has only the branch channel and referral")
    c = scenario.choice
    if c.switching or c.price or c.convenience or c.trust or c.outside_utility is not None:
        raise ValueError("the reference model's logit has brands only (choice weights 0, no switching)")
    f = scenario.products[product].funnel or scenario.funnel
    if f.reapply_after != 0:
        raise ValueError("the reference model lets a rejected applicant re-apply at once (funnel.reapply_after 0)")
    return dict(
        n=scenario.population.size,
        mean_degree=net.mean_degree,
        rewiring=net.rewiring,
        institutions=len(banks),
        exposure_rate=exposure.pop(),
        repeat_decay=f.repeat_decay,
        referral_rate=rate.pop(),
        window=window.pop(),
        funnel=(f.interest, f.compare, f.apply, f.approve),
        brands=[b.offers[product].brand for b in banks],
    )


def build_reference(n: int, seed: int, overrides: dict | None = None) -> ReferenceModel:
    return ReferenceModel(**reference_kwargs(load_bench(n, overrides)), seed=seed)


def build_vectorised(n: int, seed: int, overrides: dict | None = None):
    from sim.model import ChannelModel

    return ChannelModel(load_bench(n, overrides), seed=seed)


# --------------------------------------------------------------------------- timing
def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def bench_size(n: int, steps: int, seed: int, order: str = "interleaved") -> dict:
    """Per-step seconds of both models at population ``n``.

    ``order``: ``interleaved`` (one reference step, one vectorised step, and
    so on) or ``blocks`` (every reference step, then every vectorised step).
    """
    if order not in ("interleaved", "blocks"):
        raise ValueError(f"order must be 'interleaved' or 'blocks', got {order!r}")
    reference, ref_build = timed(build_reference, n, seed)
    vectorised, vec_build = timed(build_vectorised, n, seed)
    reference.step()  # warm-up
    vectorised.step()
    ref_times, vec_times, ref_cpu, vec_cpu = [], [], [], []
    timings = ((reference, ref_times, ref_cpu), (vectorised, vec_times, vec_cpu))
    if order == "interleaved":
        schedule = [timing for _ in range(steps) for timing in timings]
    else:
        schedule = [timing for timing in timings for _ in range(steps)]
    for model, wall, cpu in schedule:
        start = time.process_time()
        wall.append(timed(model.step)[1])
        cpu.append(time.process_time() - start)
    ref_mean, vec_mean = statistics.fmean(ref_times), statistics.fmean(vec_times)
    return dict(
        n=n, steps=steps, order=order,
        reference_build_s=ref_build, vectorised_build_s=vec_build,
        reference_step_s=ref_mean, vectorised_step_s=vec_mean,
        reference_step_min_s=min(ref_times), vectorised_step_min_s=min(vec_times),
        ratio=ref_mean / vec_mean,
        ratio_of_min=min(ref_times) / min(vec_times),
        reference_step_cpu_s=statistics.fmean(ref_cpu), vectorised_step_cpu_s=statistics.fmean(vec_cpu),
        ratio_cpu=statistics.fmean(ref_cpu) / statistics.fmean(vec_cpu),
    )


def bench_full(path: Path = BASELINE_SCENARIO, n: int = 10_000, steps: int = 60) -> dict | None:
    """Wall time of ``sim.run`` on the baseline scenario, or None if the file is missing."""
    if not path.exists():
        return None
    import sim
    from sim.scenario import load_scenario

    scenario = load_scenario(path, overrides={"population.size": n, "time.steps": steps})
    _, wall = timed(lambda: sim.run(scenario, replications=1, seed=1))
    return dict(scenario=str(path.relative_to(ROOT)), n=n, steps=steps, wall_s=wall, per_step_s=wall / steps)


# --------------------------------------------------------------------------- report
def machine() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    import mesa
    import numpy

    return dict(cores=os.cpu_count(), usable_cores=usable, load_average=load,
                python=platform.python_version(), mesa=mesa.__version__, numpy=numpy.__version__)


def print_table(rows: list[dict]) -> None:
    head = (f"{'customers':>10} {'ref s/step':>11} {'vec s/step':>11} {'ratio':>8} "
            f"{'ratio(min)':>10} {'ratio(CPU)':>10} {'ref build s':>11} {'vec build s':>11}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['n']:>10,} {r['reference_step_s']:>11.4f} {r['vectorised_step_s']:>11.4f} "
              f"{r['ratio']:>7.1f}x {r['ratio_of_min']:>9.1f}x {r['ratio_cpu']:>9.1f}x "
              f"{r['reference_build_s']:>11.2f} {r['vectorised_build_s']:>11.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000],
                        help="population sizes to time per step (none: skip)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model after one warm-up step")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--order", choices=("interleaved", "blocks"), default="interleaved",
                        help="alternate the two models step by step (default), or time each model's steps together")
    parser.add_argument("--full", action="store_true",
                        help="also time a 60-step sim.run of scenarios/baseline.yaml at 10,000 customers")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    info = machine()
    load = info["load_average"]
    print(f"machine: {info['cores']} cores ({info['usable_cores']} usable), "
          f"load average {', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}; "
          f"Python {info['python']}, Mesa {info['mesa']}, NumPy {info['numpy']}")
    print(f"scenario: {BENCH_SCENARIO.relative_to(ROOT)}; mean seconds per step over {args.steps} steps "
          f"after one warm-up, {'steps interleaved' if args.order == 'interleaved' else 'each model in one block'}; "
          "ratio = reference / vectorised")
    print()

    rows = []
    for n in args.sizes:
        rows.append(bench_size(n, args.steps, args.seed, args.order))
    if rows:
        print_table(rows)

    full = None
    if args.full:
        print()
        full = bench_full()
        if full is None:
            print(f"--full: {BASELINE_SCENARIO.relative_to(ROOT)} not found, skipped")
        else:
            print(f"--full: sim.run({full['scenario']}, replications=1, seed=1) at {full['n']:,} customers, "
                  f"{full['steps']} steps: {full['wall_s']:.2f} s wall ({full['per_step_s']:.4f} s/step)")

    if args.json:
        args.json.write_text(json.dumps(dict(machine=info, sizes=rows, full=full), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
