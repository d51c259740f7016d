"""Does a game run at the sweep's throughput?  ``run_game`` against ``run_sweep`` over the same runs.

``scenarios/alliance_game.yaml`` (3 banks × 4 strategies = 64 profiles) at a
small size (default 500 customers, 12 steps, no burn-in) with 10
replications: 640 runs, on the local process pool (``-j``, default 2).  It
times, alternately so that a change of the machine's load hits both alike:

- ``game``: :func:`sim.experiments.game.run_game` — every profile as one
  sweep, then gathering the payoffs, best replies, equilibria, ε and writing
  ``payoffs.parquet``, ``deviations.parquet``, ``equilibria.json``;
- ``sweep``: :func:`sim.experiments.sweep.run_sweep` of the same 640 runs
  (the 64 profile scenarios as design points, the same replications and
  seed) with its default gathering of the tables, i.e. what
  ``python -m sim sweep`` does with a design of those points;
- ``grid`` (with ``--grid``): ``run_sweep`` of the game-less scenario over a
  64-point grid of one bank's referral bonus, i.e. ``python -m sim sweep
  --grid``, for the throughput of an ordinary sweep of that scenario.

and prints runs per second for each and the game's throughput relative to
the sweep's.

Usage::

    python benchmarks/bench_game.py                         # 500 customers, 12 steps, 10 replications, -j 2
    python benchmarks/bench_game.py --size 1000 --steps 24 --rounds 2 --grid
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "alliance_game.yaml")
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--burn-in", type=int, default=0)
    parser.add_argument("--replications", "-r", type=int, default=10)
    parser.add_argument("--workers", "-j", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="repeat game/sweep (alternating order) this often")
    parser.add_argument("--grid", action="store_true", help="also time a plain 64-point grid sweep")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from sim.experiments.backends import ProcessPoolBackend
    from sim.experiments.design import grid_design, points_design
    from sim.experiments.game import (
        game_of,
        menus,
        profile_names,
        profile_scenarios,
        run_game,
        runs_identity,
        without_game,
    )
    from sim.experiments.game_theory import all_profiles
    from sim.experiments.sweep import run_sweep
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, {"population.size": args.size, "time.steps": args.steps,
                                             "time.burn_in": args.burn_in})
    game = game_of(scenario)
    sizes = tuple(len(v) for v in menus(game).values())
    profiles = all_profiles(sizes)
    runs = len(profiles) * args.replications
    print(f"{scenario.name}: {' x '.join(map(str, sizes))} = {len(profiles)} profiles x {args.replications} "
          f"replications = {runs} runs; {args.size} customers, {args.steps} steps (burn-in {args.burn_in}); "
          f"pool of {args.workers}; load average before {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    scenarios = profile_scenarios(scenario, profiles)
    design = points_design([{f"strategy.{p}": s for p, s in profile_names(game, profile).items()}
                            for profile in profiles], source="bench", kind="game")
    bank = next(iter(scenario.banks))
    grid = grid_design({f"banks.{bank}.referral.bonus": [float(v) for v in range(len(profiles))]})
    pool = ProcessPoolBackend(workers=args.workers)
    pool.start()
    walls: dict[str, list[float]] = {"game": [], "sweep": [], "grid": []}
    try:
        with tempfile.TemporaryDirectory(prefix="bench_game_") as tmp:
            for k in range(args.rounds):
                order = ["game", "sweep"] if k % 2 == 0 else ["sweep", "game"]
                if args.grid:
                    order.append("grid")
                for kind in order:
                    out = Path(tmp) / f"{kind}{k}"
                    started = time.perf_counter()
                    if kind == "game":
                        result = run_game(scenario, out=out, replications=args.replications, seed=args.seed,
                                          backend=pool, progress=False)
                        assert result.completed == runs, result.completed
                    elif kind == "sweep":
                        result = run_sweep(runs_identity(scenario), design, out=out, replications=args.replications,
                                           seed=args.seed, backend=pool, progress=False, scenarios=scenarios)
                        assert result.completed == runs, result.completed
                    else:
                        result = run_sweep(without_game(scenario), grid, out=out, replications=args.replications,
                                           seed=args.seed, backend=pool, progress=False)
                        assert result.completed == runs, result.completed
                    wall = time.perf_counter() - started
                    walls[kind].append(wall)
                    print(f"  round {k + 1} {kind:5s}: {wall:7.1f} s  {runs / wall:6.2f} runs/s")
    finally:
        pool.close()
    best = {kind: min(v) for kind, v in walls.items() if v}
    median = {kind: statistics.median(v) for kind, v in walls.items() if v}
    for kind in best:
        print(f"{kind:5s}: best {runs / best[kind]:6.2f} runs/s, median {runs / median[kind]:6.2f} runs/s")
    print(f"game / sweep of the same runs: {best['sweep'] / best['game']:.3f} (best), "
          f"{median['sweep'] / median['game']:.3f} (median) of the sweep's throughput")
    if "grid" in best:
        print(f"game / plain grid sweep:       {best['grid'] / best['game']:.3f} (best)")
    print(f"load average after {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
