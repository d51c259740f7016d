"""Check that the Mesa reference model follows the same rules as the vectorised model.

Runs both models from ``benchmarks/scenarios/bench.yaml`` at ``--n``
customers for ``--steps`` steps over ``--seeds`` seeds each and prints, per
step, the mean number of active customers and of (customer, offer) awareness
pairs in each, with standard errors over seeds and the z-score of the
difference.  The two use different random streams, so they agree only in
distribution: |z| mostly below 2 is what a faithful reference looks like
(the steps are cumulative, so neighbouring z-scores are correlated).

``--set path=value`` (repeatable) changes the scenario for both models, e.g.
to stress referral and the logit::

    python benchmarks/check_reference.py --set banks.b1.referral.rate=0.2 \
        --set banks.b2.referral.rate=0.2 --set banks.b3.referral.rate=0.2 \
        --set banks.b1.offers.payments.brand=1.0

Usage::

    python benchmarks/check_reference.py --n 5000 --steps 10 --seeds 10
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

from bench_step import build_reference, build_vectorised  # also puts the repo root on sys.path


def reference_run(n: int, steps: int, seed: int, overrides: dict) -> tuple[list[int], list[int], list[int]]:
    """Active customers, awareness pairs per step, and final actives per institution."""
    model = build_reference(n, seed, overrides)
    for _ in range(steps):
        model.step()
    data = model.datacollector.model_vars
    active = data["active"][1:]
    aware = [sum(row) for row in data["aware_by_institution"][1:]]
    return active, aware, data["active_by_institution"][-1]


def vectorised_run(n: int, steps: int, seed: int, overrides: dict) -> tuple[list[int], list[int], list[int]]:
    """Active customers, awareness pairs per step, and final actives per institution."""
    model = build_vectorised(n, seed, overrides)
    active, aware = [], []
    for _ in range(steps):
        model.step()
        provider = model.state.provider[:, 0]
        active.append(int((provider >= 0).sum()))
        aware.append(int(model.state.aware.sum()))
    institutions = len(model.scenario.institution_ids)
    by_institution = [int((provider == j).sum()) for j in range(institutions)]
    return active, aware, by_institution


def mean_se(values: list[float]) -> tuple[float, float]:
    m = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return m, se


def z_score(a: list[float], b: list[float]) -> float:
    (ma, sa), (mb, sb) = mean_se(a), mean_se(b)
    spread = math.hypot(sa, sb)
    return (ma - mb) / spread if spread > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1, help="seeds are first-seed, first-seed + 1, ...")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="dotted-path override of bench.yaml for both models (repeatable)")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        path, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set needs PATH=VALUE, got {item!r}")
        overrides[path] = value

    start = time.perf_counter()
    runs = {"reference": [], "vectorised": []}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        runs["reference"].append(reference_run(args.n, args.steps, seed, overrides))
        runs["vectorised"].append(vectorised_run(args.n, args.steps, seed, overrides))

    if overrides:
        print("overrides: " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
    print(f"{args.n:,} customers, {args.steps} steps, {args.seeds} seeds per model; "
          f"mean ± standard error over seeds; z = (reference - vectorised) / se of the difference")
    print()
    head = (f"{'step':>4}  {'active: reference':>19} {'vectorised':>16} {'z':>6}   "
            f"{'aware pairs: reference':>22} {'vectorised':>16} {'z':>6}")
    print(head)
    print("-" * len(head))
    for t in range(args.steps):
        cols = []
        for what in (0, 1):
            ref = [r[what][t] for r in runs["reference"]]
            vec = [r[what][t] for r in runs["vectorised"]]
            (mr, sr), (mv, sv) = mean_se(ref), mean_se(vec)
            cols.append((mr, sr, mv, sv, z_score(ref, vec)))
        (a_mr, a_sr, a_mv, a_sv, a_z), (w_mr, w_sr, w_mv, w_sv, w_z) = cols
        print(f"{t + 1:>4}  {a_mr:>10.1f} ± {a_sr:>5.1f} {a_mv:>9.1f} ± {a_sv:>4.1f} {a_z:>+6.2f}   "
              f"{w_mr:>13.1f} ± {w_sr:>5.1f} {w_mv:>9.1f} ± {w_sv:>4.1f} {w_z:>+6.2f}")
    print()
    for name, rows in runs.items():
        finals = [r[2] for r in rows]
        total = sum(sum(f) for f in finals)
        shares = [sum(f[j] for f in finals) / total for j in range(len(finals[0]))]
        print(f"final market shares, {name:>10}: " + ", ".join(f"{s:.3f}" for s in shares))
    print(f"\n({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
