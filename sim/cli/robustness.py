"""``python -m sim robustness SCENARIO.yaml``: where a scenario's claims hold (sizes x uncertain parameters)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import add_backend_options, add_out_options, assignments, backend


def add_parser(subparsers) -> None:
    """Add ``robustness`` to the subcommands."""
    from sim.experiments.robustness import DEFAULT_SAMPLES, DEFAULT_SIZES

    rob = subparsers.add_parser(
        "robustness", help="evaluate a scenario's claims across population sizes and uncertain parameters",
        description="Judge each claim of the scenario (claims:) on paired replications at every population size "
                    "crossed with a Latin hypercube over the ranges of the uncertainty file; report the share of "
                    "the space where it holds (Wilson interval) and PRIM boxes where it fails. Resumable.")
    rob.add_argument("scenario", type=Path, help="scenario YAML file with claims:")
    rob.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N",
                     help=f"population sizes (default {' '.join(str(s) for s in DEFAULT_SIZES)})")
    rob.add_argument("--samples", "-n", type=int, default=DEFAULT_SAMPLES,
                     help=f"Latin hypercube points per size (default {DEFAULT_SAMPLES}; 0 = the scenario's values)")
    rob.add_argument("--uncertainty", type=Path,
                     help="file of uncertain ranges (default: uncertainty.yaml beside the scenario, else "
                          "scenarios/uncertainty.yaml)")
    rob.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter of the scenario")
    rob.add_argument("--replications", "-r", type=int, help="paired replications per cell (default: the scenario's)")
    rob.add_argument("--seed", "-s", type=int, help="seed of the runs and the hypercube (default: the scenario's)")
    add_out_options(rob, "results/<scenario>/robustness/", resumable=True)
    rob.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_backend_options(rob)
    rob.set_defaults(handler=handle)


def uncertainty_file(args: argparse.Namespace) -> Path:
    """The uncertainty file: ``--uncertainty``, else the one beside the scenario, else the library's."""
    from sim.scenario.uncertainty import UNCERTAINTY_FILE

    if args.uncertainty is not None:
        return args.uncertainty
    beside = Path(args.scenario).parent / UNCERTAINTY_FILE
    return beside if beside.is_file() else Path("scenarios") / UNCERTAINTY_FILE


def handle(args: argparse.Namespace) -> int:
    """Check everything, sweep, judge the claims, write table, summary, plots and report; print the shares."""
    from sim.experiments.robustness import run_robustness
    from sim.outputs.robustness_report import write_robustness_report
    from sim.scenario import load_scenario
    from sim.scenario.uncertainty import read_uncertainty

    scenario = load_scenario(args.scenario, assignments(args.set))
    source = uncertainty_file(args)
    ranges = read_uncertainty(source)
    result = run_robustness(scenario, ranges, uncertainty_file=str(source), sizes=args.sizes, samples=args.samples,
                            replications=args.replications, seed=args.seed, out=args.out, backend=backend(args),
                            progress=not args.quiet, overwrite=args.overwrite)
    write_robustness_report(result)
    for entry in result.summary["claims"]:
        verdict = "fragile" if entry["fragile"] else "holds in most of the space"
        print(f"{entry['metric']} {entry['direction']} than {entry['compare_to']}: holds in {entry['holds']} of "
              f"{entry['cells']} cells ({entry['share']:.0%}, 95% [{entry['low']:.0%}, {entry['high']:.0%}]), "
              f"{verdict}")
        for box in entry["failure_boxes"]:
            print(f"  fails where {box['text']}")
    print(f"table, summary, plots and report in {result.out}/")
    return 0
