"""How build time, step time and memory grow with the number of customers.

For each size (10,000, 100,000 and 1,000,000 customers; 10,000,000 as well
with ``--big``) a fresh Python process loads ``scenarios/baseline.yaml`` with
``population.size`` and ``time.steps`` overridden, then times, through the
public API only:

- ``network``: generating the scenario's network alone
  (``sim.network.build_network`` with a generator from the same seed);
- ``build``: ``sim.ChannelModel(scenario, seed)``, which generates the
  network again and builds everything else;
- ``run``: ``model.run()`` over the steps, also given per step;
- ``tables``: ``model.tables()``;
- ``agents`` (only with ``--agents``): the first read of ``model.customers``,
  which builds the networkx graph, Mesa's ``Network`` space and one
  ``Customer`` agent per node (a run never does; see docs/architecture.md).

It prints the peak resident memory (``ru_maxrss``) after each phase.  The
peak never falls, so the figure after ``build`` is the most the model needed
to exist, and the one after ``tables`` the most the whole run needed.  Each
size runs in its own process so that one size's peak does not hide the
next's.  The last table gives the growth exponent between neighbouring
sizes, ``log(t2 / t1) / log(n2 / n1)``: 1 is linear.

The machine is shared; read the exponents and the phase shares rather than
the absolute seconds, and compare seconds only between runs on the same
quiet machine.

Usage::

    python benchmarks/bench_scale.py                    # 10k, 100k, 1M; 120 steps
    python benchmarks/bench_scale.py --big              # and 10M
    python benchmarks/bench_scale.py --sizes 10000 100000 --steps 12
    python benchmarks/bench_scale.py --json results/bench_scale.json
    python benchmarks/bench_scale.py --sizes 10000 100000 --agents   # and the Mesa side's cost
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASELINE_SCENARIO = ROOT / "scenarios" / "baseline.yaml"
SIZES = [10_000, 100_000, 1_000_000]
BIG = 10_000_000
PHASES = ("network", "build", "run", "tables")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (``ru_maxrss`` is KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# --------------------------------------------------------------------------- one size, in its own process
def measure(scenario_path: Path, size: int, steps: int, seed: int, agents: bool = False) -> dict:
    """Time network generation, model build, run and tables at one size, with the peak memory after each."""
    import numpy as np

    import sim
    from sim.network import build_network

    figures: dict = {"size": size, "steps": steps, "seconds": {}, "peak_rss_mb": {"start": peak_rss_mb()}}
    scenario = sim.load_scenario(scenario_path, overrides={"population.size": size, "time.steps": steps})

    def timed(phase: str, action):
        start = time.perf_counter()
        result = action()
        figures["seconds"][phase] = time.perf_counter() - start
        figures["peak_rss_mb"][phase] = peak_rss_mb()
        return result

    network = timed("network", lambda: build_network(scenario.network, size, np.random.default_rng(seed),
                                                     scenario_path.parent))
    figures["edges"] = network.adjacency.nnz // 2
    del network
    model = timed("build", lambda: sim.ChannelModel(scenario, seed=seed))
    timed("run", model.run)
    tables = timed("tables", model.tables)
    figures["table_rows"] = {name: len(frame) for name, frame in tables.items()}
    if agents:
        del tables
        timed("agents", lambda: len(model.customers))
    figures["seconds_per_step"] = figures["seconds"]["run"] / max(steps, 1)
    return figures


def measure_in_subprocess(scenario_path: Path, size: int, steps: int, seed: int, agents: bool = False) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--one", str(size), "--steps", str(steps),
               "--seed", str(seed), "--scenario", str(scenario_path), *(["--agents"] if agents else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {"size": size, "steps": steps, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report
def growth(results: list[dict], key) -> list[float | None]:
    """Exponent of growth of ``key(result)`` between neighbouring sizes."""
    out = []
    for small, large in pairwise(results):
        a, b = key(small), key(large)
        out.append(math.log(b / a) / math.log(large["size"] / small["size"]) if a and b and a > 0 else None)
    return out


def print_report(results: list[dict]) -> None:
    ok = [r for r in results if "error" not in r]
    for r in results:
        if "error" in r:
            print(f"size {r['size']:>11,}: failed: {' '.join(r['error'])}")
    if not ok:
        return
    phases = [p for p in (*PHASES, "agents") if all(p in r["seconds"] for r in ok)]
    print(f"\n{'customers':>11} {'edges':>12} " + " ".join(f"{p + ' s':>10}" for p in phases)
          + f" {'s/step':>9} {'total s':>9} " + " ".join(f"{'MB@' + p:>11}" for p in phases))
    for r in ok:
        s, m = r["seconds"], r["peak_rss_mb"]
        total = s["build"] + s["run"] + s["tables"]
        print(f"{r['size']:>11,} {r['edges']:>12,} " + " ".join(f"{s[p]:>10.2f}" for p in phases)
              + f" {r['seconds_per_step']:>9.4f} {total:>9.2f} " + " ".join(f"{m[p]:>11.0f}" for p in phases))
    print("(total = build + run + tables, the wall time of a run after import)")
    if len(ok) > 1:
        print("\ngrowth exponent between neighbouring sizes (1 = linear)")
        columns = {**{p: (lambda r, p=p: r["seconds"][p]) for p in phases},
                   "peak MB": lambda r: r["peak_rss_mb"]["tables"] - r["peak_rss_mb"]["start"]}
        print(f"{'from':>11} {'to':>11} " + " ".join(f"{c:>9}" for c in columns))
        exponents = {c: growth(ok, f) for c, f in columns.items()}
        for i, (small, large) in enumerate(pairwise(ok)):
            cells = " ".join(
                f"{'-' if exponents[c][i] is None else format(exponents[c][i], '.2f'):>9}" for c in columns
            )
            print(f"{small['size']:>11,} {large['size']:>11,} {cells}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=SIZES, help="population sizes (default 10k 100k 1M)")
    parser.add_argument("--big", action="store_true", help=f"also {BIG:,} customers")
    parser.add_argument("--steps", type=int, default=120, help="steps per run (default 120)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=BASELINE_SCENARIO)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--agents", action="store_true",
                        help="also time the first read of model.customers (the Mesa side, built on first access)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)      # internal: measure one size, print JSON
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.scenario, args.one, args.steps, args.seed, args.agents)))
        return 0
    sizes = sorted(set(args.sizes + ([BIG] if args.big else [])))
    print(f"{args.scenario.name}, {args.steps} steps, seed {args.seed}; {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, Python {platform.python_version()}")
    results = []
    for size in sizes:
        result = measure_in_subprocess(args.scenario, size, args.steps, args.seed, args.agents)
        results.append(result)
        if "error" in result:
            print(f"  {size:>11,} customers: failed", flush=True)
        else:
            print(
                f"  {size:>11,} customers: build {result['seconds']['build']:.2f} s, "
                f"run {result['seconds']['run']:.2f} s, "
                f"peak {result['peak_rss_mb']['tables']:.0f} MB",
                flush=True,
            )
    print_report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"steps": args.steps, "seed": args.seed, "cpu_count": os.cpu_count(),
                                         "results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
