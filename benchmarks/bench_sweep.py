"""Time a sweep on the local process pool against the same sweep run serially in one process.

The sweep is ``--runs`` runs (default 200: 40 design points x 5 replications)
of a small scenario (default ``scenarios/baseline.yaml``: 10,000 customers,
60 steps, about a second a run), over ``banks.<first bank>.referral.bonus``.
It runs twice, into fresh temporary folders, through the same
:func:`sim.experiments.sweep.run_sweep`:

1. ``backend="serial"``: every run in this process, parts written as they finish;
2. ``backend="pool"`` with ``--workers`` processes (default all cores),
   including the pool's start-up.

On a shared machine the load from other jobs comes and goes, so the points
are split into ``--blocks`` blocks and the two are run alternately, block by
block (serial first, then pool first, ...), on one pool kept across blocks;
the figures are totals over the blocks, and each block's own speed-up and
overhead are printed too: on a machine shared with other jobs, the least
disturbed block is the best estimate of what the pool does on a quiet one
(compare each block's mean run time in the pool and in-process).

It prints

- the **speed-up**: serial wall time / pool wall time;
- the **per-run overhead** of the pool: ``pool wall x workers / runs`` minus the
  mean in-process run time (the time spent inside the run function during the
  serial sweep), as a share of that run time.  It is what a run costs beyond
  its own computation: start-up, pickling, scheduling, writing the part in
  the parent, and any slowdown of the runs from sharing the cores with the
  parent.  The mean run time inside the pool's workers is shown too, to tell
  slower runs (contention) apart from scheduling and writing.

Gathering the parts into tables is timed separately (it happens once per sweep).

Usage::

    python benchmarks/bench_sweep.py                       # 200 runs, a few minutes on 2 cores
    python benchmarks/bench_sweep.py --runs 40 --points 8  # a quick look
    python benchmarks/bench_sweep.py --json results/bench_sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    parser.add_argument("--runs", type=int, default=200, help="total runs (points x replications)")
    parser.add_argument("--points", type=int, default=40, help="design points; replications = runs / points")
    parser.add_argument("--blocks", type=int, default=4,
                        help="split the points into blocks, run serial and pool alternately per block (default 4)")
    parser.add_argument("--workers", type=int, default=None, help="pool processes (default all cores)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override the scenario")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from sim.experiments.backends import ProcessPoolBackend, available_cores
    from sim.experiments.design import grid_design, points_design, split_assignment
    from sim.experiments.sweep import gather, run_sweep
    from sim.scenario import load_scenario

    if args.runs % args.points or args.points % args.blocks:
        raise SystemExit(
            f"--runs {args.runs} must be a multiple of --points {args.points}, and that of --blocks {args.blocks}"
        )
    replications = args.runs // args.points
    workers = args.workers or available_cores()
    scenario = load_scenario(args.scenario, dict(split_assignment(s, "--set") for s in args.set))
    bank = next(iter(scenario.banks))
    path = f"banks.{bank}.referral.bonus"
    design = grid_design({path: [10 * i for i in range(args.points)]})
    print(f"{args.runs} runs = {args.points} points x {replications} replications of {scenario.name} "
          f"({scenario.population.size} customers, {scenario.time.steps} steps), sweeping {path}")
    print(f"machine: {platform.machine()}, {available_cores()} cores, load average before "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; pool of {workers} workers")

    pool = ProcessPoolBackend(workers=workers)
    serial_wall = pool_wall = gather_seconds = 0.0
    serial_runs: list[float] = []
    pool_runs: list[float] = []
    same = True
    blocks: list[dict[str, float]] = []
    chunk = args.points // args.blocks
    common = dict(replications=replications, seed=args.seed, progress=False, gather_results=False)
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        try:
            for block in range(args.blocks):
                points = design.points[block * chunk:(block + 1) * chunk]
                part = points_design(points, source="bench")
                order = ("serial", "pool") if block % 2 == 0 else ("pool", "serial")
                line, walls = [], {}
                for kind in order:
                    folder = Path(tmp) / f"{kind}{block}"
                    started = time.perf_counter()
                    if kind == "pool":
                        pool.start()  # the first block pays the pool's start-up
                    result = run_sweep(
                        scenario, part, out=folder, backend=pool if kind == "pool" else "serial", **common
                    )
                    wall = time.perf_counter() - started
                    walls[kind] = wall
                    assert result.completed == len(part) * replications, f"some runs failed: {result.failed}"
                    if kind == "pool":
                        pool_wall += wall
                        pool_runs += result.run_seconds
                    else:
                        serial_wall += wall
                        serial_runs += result.run_seconds
                    line.append(f"{kind} {wall:6.1f} s (mean run {statistics.fmean(result.run_seconds):.3f} s)")
                block_runs = len(part) * replications
                block_overhead = walls["pool"] * workers / block_runs - statistics.fmean(serial_runs[-block_runs:])
                blocks.append({"speed_up": walls["serial"] / walls["pool"], "overhead_s": block_overhead})
                print(
                    f"  block {block + 1}/{args.blocks}: "
                    + ", ".join(line)
                    + f"; speed-up {walls['serial'] / walls['pool']:.2f} x, overhead {block_overhead * 1000:.0f} ms/run"
                )
                started = time.perf_counter()
                pooled_tables = gather(Path(tmp) / f"pool{block}")
                gather_seconds += time.perf_counter() - started
                same &= all(
                    pooled_tables[name].equals(frame) for name, frame in gather(Path(tmp) / f"serial{block}").items()
                )
        finally:
            started = time.perf_counter()
            pool.close()
            pool_wall += time.perf_counter() - started

    mean_run = statistics.fmean(serial_runs)
    mean_run_in_pool = statistics.fmean(pool_runs)
    per_run_slot = pool_wall * workers / args.runs
    overhead = per_run_slot - mean_run
    figures = {
        "runs": args.runs, "workers": workers, "scenario": scenario.name,
        "serial_wall_s": round(serial_wall, 2), "pool_wall_s": round(pool_wall, 2),
        "speed_up": round(serial_wall / pool_wall, 3),
        "mean_run_s_in_process": round(mean_run, 4), "mean_run_s_in_pool_workers": round(mean_run_in_pool, 4),
        "serial_overhead_per_run_s": round(serial_wall / args.runs - mean_run, 4),
        "pool_overhead_per_run_s": round(overhead, 4), "pool_overhead_share_of_run": round(overhead / mean_run, 4),
        "pool_machinery_per_run_s": round(per_run_slot - mean_run_in_pool, 4),
        "blocks": [{k: round(v, 4) for k, v in b.items()} for b in blocks],
        "gather_s": round(gather_seconds, 2), "identical_tables": same,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"serial (one process):  {serial_wall:8.1f} s   mean run {mean_run:.3f} s, "
          f"writing etc. {figures['serial_overhead_per_run_s'] * 1000:.1f} ms/run")
    print(f"pool ({workers} workers):      {pool_wall:8.1f} s   mean run inside the workers {mean_run_in_pool:.3f} s")
    print(f"speed-up:              {serial_wall / pool_wall:8.2f} x")
    print(
        f"per-run overhead:      {overhead * 1000:8.1f} ms = "
        f"{100 * overhead / mean_run:.1f}% of a {mean_run:.2f} s run, "
        f"{overhead * 100:.1f}% of a 1 s run (pool wall x workers / runs = {per_run_slot:.3f} s)"
    )
    print(f"  of which machinery:  {(per_run_slot - mean_run_in_pool) * 1000:8.1f} ms "
          f"(start-up, scheduling, encoding and writing: pool wall x workers / runs - mean run inside the workers)")
    print(f"  and slower runs:     {(mean_run_in_pool - mean_run) * 1000:8.1f} ms "
          f"(mean run inside the workers - in-process; cores shared with the parent or other load)")
    best = max(blocks, key=lambda b: b["speed_up"])
    print(f"least disturbed block: speed-up {best['speed_up']:.2f} x, overhead {best['overhead_s'] * 1000:.0f} ms/run "
          f"({best['overhead_s'] * 100:.1f}% of a 1 s run); median block speed-up "
          f"{statistics.median(b['speed_up'] for b in blocks):.2f} x")
    print(f"gather {args.runs} runs:     {gather_seconds:8.2f} s;  pool tables identical to serial: {same}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
