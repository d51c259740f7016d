"""Time what the dashboard does after a click on *Step*, without a browser.

One step of ``scenarios/baseline.yaml`` (10,000 customers), then the run's
tables, every live chart and the network view rendered to PNG, exactly what
``sim.dashboard`` redraws after each step.  The first ``--warmup`` rounds are
untimed (Matplotlib's font cache and the first figures are slower); the median
and the slowest of the timed rounds are printed, wall and CPU time.  On a
shared machine the CPU-time median is the steadier figure.

The dashboard aims at a redraw well under a second at the baseline's size;
``docs/dashboard.md`` has the figures measured with this script.  It is a
benchmark, not a test, because a timing depends on what else the machine
runs; ``tests/dashboard/test_charts.py`` checks that the same round draws
every chart.

Usage::

    python benchmarks/bench_dashboard.py
    python benchmarks/bench_dashboard.py --rounds 30 --size 50000
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

BASELINE = ROOT / "scenarios" / "baseline.yaml"


def redraw_round(model, hood, mode) -> list[bytes]:
    """One step, then the tables, every chart and the network view as PNG images, network last."""
    from sim.dashboard import charts

    model.step()
    tables = charts.tables_of(model)
    images = [charts.figure_png(charts.chart_figure(chart, tables)) for chart in charts.available_charts(tables)]
    images.append(charts.figure_png(charts.network_figure(model, hood, mode)))
    return images


def bench(size: int | None, rounds: int, warmup: int, seed: int, shown: int) -> dict:
    """Wall and CPU seconds of each timed round."""
    from sim.dashboard import charts
    from sim.model.model import ChannelModel
    from sim.scenario import load_scenario

    overrides = {"population.size": size} if size else None
    model = ChannelModel(load_scenario(BASELINE, overrides=overrides), seed=seed)
    hood = charts.neighbourhood_of(model, shown)
    mode = charts.colour_modes(model)[0]
    wall, cpu = [], []
    for done in range(warmup + rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        images = redraw_round(model, hood, mode)
        if done >= warmup:
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start)
    return {"customers": model.network.size, "images": len(images), "wall": wall, "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=None, help="customers (default: the baseline's)")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument("--shown", type=int, default=300, help="customers in the network view")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    r = bench(args.size, args.rounds, args.warmup, args.seed, args.shown)
    print(f"{BASELINE.relative_to(ROOT)} at {r['customers']:,} customers, {r['images']} images a round; "
          f"{os.cpu_count()} cores, load average {', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}")
    print(f"step + redraw : median {statistics.median(r['wall']):.3f} s wall "
          f"({statistics.median(r['cpu']):.3f} s CPU), slowest {max(r['wall']):.3f} s, "
          f"over {len(r['wall'])} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
