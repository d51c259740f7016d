"""The baseline's strategy quantities at several population sizes: do they depend on the size?

For each size (default 5,000, 50,000 and 500,000 customers) it runs
``scenarios/baseline.yaml`` with ``population.size`` overridden (its full
horizon unless ``--steps``), computes per replication the quantities of
:func:`sim.experiments.invariance.size_quantities` (market share at the
final step, CAC by channel over the run, default rate, LTV per customer,
pooled payback and per-cohort payback by channel), and prints one table: each
quantity's mean ± standard error at every size, and for each size after the
first the Holm-adjusted p-value (Welch) of its difference from the first
size (the smallest).  Quantities zero at every size are left out.

Usage::

    python benchmarks/bench_size_invariance.py                         # 5k x 20, 50k x 8, 500k x 2
    python benchmarks/bench_size_invariance.py --sizes 5000 50000 --replications 10 4
    python benchmarks/bench_size_invariance.py --markdown               # the table as Markdown (benchmarks/README.md)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 50_000, 500_000])
    parser.add_argument("--replications", type=int, nargs="+", default=[20, 8, 2],
                        help="per size (one number: the same for every size)")
    parser.add_argument("--steps", type=int, default=None, help="override time.steps")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    return parser.parse_args(argv)


def _cell(mean: float, se: float) -> str:
    if not math.isfinite(mean):
        return "—"
    digits = 4 if abs(mean) < 0.1 else 3
    text = f"{mean:.{digits}g}" if abs(mean) < 1000 else f"{mean:,.0f}"
    return text if not math.isfinite(se) else f"{text} ± {se:.2g}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import pandas as pd

    import sim
    from sim.experiments.invariance import compare_sizes, size_quantities
    from sim.scenario import load_scenario

    reps = args.replications * len(args.sizes) if len(args.replications) == 1 else args.replications
    if len(reps) != len(args.sizes):
        raise SystemExit("--replications: one number, or one per size")
    found: dict[int, pd.DataFrame] = {}
    for size, replications in zip(args.sizes, reps, strict=True):
        overrides = {"population.size": size, **({"time.steps": args.steps} if args.steps else {})}
        scenario = load_scenario(args.scenario, overrides)
        started = time.perf_counter()
        result = sim.run(scenario, replications=replications, seed=args.seed)
        seconds = time.perf_counter() - started
        found[size] = size_quantities(result.tables)
        print(f"{size:>9,} customers x {replications} replications: {seconds:7.1f} s "
              f"({seconds / replications:.1f} s a run)", file=sys.stderr)
    first = args.sizes[0]
    comparisons = {size: compare_sizes(found[first], found[size]).set_index("quantity") for size in args.sizes[1:]}
    quantities = [q for q in found[first].columns
                  if any(found[s][q].abs().max() > 0 for s in args.sizes if q in found[s])]
    header = ["quantity", *(f"{s:,} (n={r})" for s, r in zip(args.sizes, reps, strict=True)),
              *(f"p_holm {s:,} vs {first:,}" for s in args.sizes[1:])]
    rows = []
    for q in quantities:
        cells = [q]
        for s in args.sizes:
            column = found[s][q].dropna() if q in found[s] else pd.Series(dtype=float)
            se = column.std(ddof=1) / math.sqrt(len(column)) if len(column) > 1 else float("nan")
            cells.append(_cell(column.mean() if len(column) else float("nan"), se))
        for s in args.sizes[1:]:
            table = comparisons[s]
            cells.append(f"{table.loc[q, 'p_holm']:.3g}" if q in table.index else "—")
        rows.append(cells)
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
        for cells in rows:
            print("| " + " | ".join(cells) + " |")
    else:
        widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]
        for cells in [header, *rows]:
            print("  ".join(str(c).ljust(w) if k == 0 else str(c).rjust(w) for k, (c, w) in
                            enumerate(zip(cells, widths, strict=True))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
