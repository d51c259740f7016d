"""``python -m sim compare A.yaml B.yaml [...]``: scenarios side by side on common random numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import RESULTS, add_out_options, add_workers_option


def add_parser(subparsers) -> None:
    """Add ``compare`` to the subcommands."""
    compare = subparsers.add_parser("compare", help="compare scenarios on common random numbers, with a report")
    compare.add_argument(
        "scenarios", nargs="+", type=Path, help="two or more scenario files; the first is the reference"
    )
    compare.add_argument("--replications", "-r", type=int, help="replications per scenario (default: the first's)")
    compare.add_argument("--seed", "-s", type=int, help="seed (default: the first scenario's)")
    compare.add_argument("--attribute", action="store_true",
                         help="with two scenarios: split each difference into what each changed lever (or "
                              "parameter) did alone, plus the interaction remainder (more runs)")
    add_workers_option(compare)
    add_out_options(compare, "results/compare_<names>/")
    compare.add_argument("--quiet", "-q", action="store_true")
    compare.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Check ``--out``, run every scenario on the same seeds, write the report folder in one step, print the table."""
    from sim.errors import ScenarioError
    from sim.experiments.compare import check_comparable, compare
    from sim.experiments.metrics import key_metrics
    from sim.experiments.replicate import shared_backend
    from sim.experiments.store import check_out, write_folder
    from sim.outputs.report import metric_table, write_report
    from sim.scenario import load_scenario

    scenarios = [load_scenario(path) for path in args.scenarios]
    sources = [str(p) for p in args.scenarios]
    check_comparable(scenarios, sources)
    default = RESULTS / ("compare_" + "_vs_".join(s.name for s in scenarios[:3]))
    if args.attribute and len(scenarios) != 2:
        raise ScenarioError.single("--attribute", "", f"given with {len(scenarios)} scenarios",
                                   "exactly two scenario files: A (the reference) and B")
    out = check_out(args.out or default, "compare", overwrite=args.overwrite)  # before the runs
    with shared_backend(args.workers) as backend:     # one pool for the comparison and the attribution
        comparison = compare(scenarios, replications=args.replications, seed=args.seed, sources=sources,
                             progress=not args.quiet, backend=backend)
        attribution = None
        if args.attribute:
            from sim.experiments.attribution import attribute

            base, full = (key_metrics(r.tables) for r in comparison.results)    # A and B are not run again
            attribution = attribute(scenarios[0], scenarios[1], replications=comparison.replications,
                                    seed=comparison.seed, backend=backend, base=base, full=full)
    out = write_folder(out, lambda tmp: write_report(comparison, tmp, attribution=attribution), kind="compare",
                       overwrite=args.overwrite)
    if not args.quiet:
        table = metric_table(comparison)
        print(table.to_string(max_colwidth=32))
        print(f"\nreport in {out}/report.md and report.html")
    return 0
