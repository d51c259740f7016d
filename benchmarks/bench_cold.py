"""What a vectorised step pays for following other work: its own data evicted, or a step of the Mesa reference.

``bench_step.py`` in its default interleaved order times each vectorised
step right after a reference step, and the step is then slower than in a
run of the model alone.  This benchmark splits that difference.  At each
population size it builds three copies of the benchmark model from the same
seed and times the same steps of each, each after something
different:

``own``
    the same model's previous step (a run of the model alone, as in
    ``bench_step.py --order blocks``; these steps are timed in one block);
``evicted``
    writing a 64 MB array, which evicts the caches' data (the customer
    arrays and the interpreter's objects) and runs no other Python code;
``reference``
    one step of the Mesa reference model at ``--reference-size`` customers,
    as in ``bench_step.py``.

``evicted - own`` is what cold data costs; ``reference - evicted`` is what
running after 0.4 s of other Python code costs beyond it (instruction
caches, branch predictors, the interpreter's own state).  If the second
does not grow with the population, it is paid per operation of the step,
not per customer.

Usage::

    python benchmarks/bench_cold.py --sizes 1000 10000 100000 --steps 6 --rounds 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from bench_step import build_reference, build_vectorised, machine  # noqa: E402

CONDITIONS = ("own", "evicted", "reference")
EVICT_BYTES = 64 << 20


def before_step(condition: str, reference, junk: np.ndarray) -> Callable[[], None]:
    """What runs, untimed, before each timed step of a model under ``condition``."""
    if condition == "own":
        return lambda: None
    if condition == "evicted":
        return lambda: junk.__iadd__(1.0)
    if condition == "reference":
        return reference.step
    raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}, got {condition!r}")


def bench_size(n: int, steps: int, seed: int, reference, junk: np.ndarray) -> dict[str, list[float]]:
    """Seconds of each timed step of the three copies at population ``n``, by condition.

    Each copy is stepped once untimed.  The ``own`` copy's ``steps`` timed
    steps then run one after another; the other two copies' steps
    alternate (evicted, reference, evicted, ...), each after its own
    untimed preparation, so a burst of load from other processes hits both.
    Every copy's timed steps are its steps 1 to ``steps``.
    """
    models = {condition: build_vectorised(n, seed) for condition in CONDITIONS}
    for model in models.values():
        model.step()
    times: dict[str, list[float]] = {condition: [] for condition in CONDITIONS}
    schedule = ["own"] * steps + ["evicted", "reference"] * steps
    for condition in schedule:
        before_step(condition, reference, junk)()
        start = time.perf_counter()
        models[condition].step()
        times[condition].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per copy and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each with new copies (seed + round)")
    parser.add_argument("--reference-size", type=int, default=100_000,
                        help="customers of the reference model whose step comes before the 'reference' steps")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    info = machine()
    print(f"machine: {info['cores']} cores, Python {info['python']}, Mesa {info['mesa']}, NumPy {info['numpy']}")
    print(f"median ms of a vectorised step over {args.rounds} rounds x {args.steps} steps, after: "
          f"own = its previous step; evicted = a {EVICT_BYTES >> 20} MB write; "
          f"reference = a reference step at {args.reference_size:,} customers")
    print()
    reference = build_reference(args.reference_size, args.seed)
    reference.step()
    junk = np.zeros(EVICT_BYTES // 8)
    head = f"{'customers':>10} {'own':>8} {'evicted':>8} {'reference':>10} {'data':>8} {'code':>8}"
    print(head)
    print("-" * len(head))
    for n in args.sizes:
        pooled: dict[str, list[float]] = {condition: [] for condition in CONDITIONS}
        for r in range(args.rounds):
            for condition, seconds in bench_size(n, args.steps, args.seed + r, reference, junk).items():
                pooled[condition] += seconds
        ms = {condition: statistics.median(seconds) * 1e3 for condition, seconds in pooled.items()}
        print(f"{n:>10,} {ms['own']:>8.2f} {ms['evicted']:>8.2f} {ms['reference']:>10.2f} "
              f"{ms['evicted'] - ms['own']:>+8.2f} {ms['reference'] - ms['evicted']:>+8.2f}")
    print()
    print("data = evicted - own; code = reference - evicted (ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
