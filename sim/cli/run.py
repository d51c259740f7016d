"""``python -m sim run SCENARIO.yaml``: a scenario's replications, written as tables, summary and plots."""

from __future__ import annotations

import argparse

from sim.cli.common import RESULTS, add_out_options, add_workers_option, assignments


def add_parser(subparsers) -> None:
    """Add ``run`` to the subcommands."""
    run = subparsers.add_parser("run", help="run a scenario's replications and write tables, summary and plots")
    run.add_argument("scenario", help="scenario YAML file")
    add_out_options(run, "results/<scenario name>/")
    run.add_argument("--replications", "-r", type=int, help="number of replications (default: the scenario's)")
    run.add_argument("--seed", "-s", type=int, help="seed (default: the scenario's)")
    run.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter (repeatable)")
    add_workers_option(run)
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Check ``--out``, run, write the results folder in one step, print the summary."""
    from sim.experiments.replicate import run
    from sim.experiments.store import check_out, write_folder
    from sim.outputs.console import render_summary
    from sim.outputs.results import write_run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, overrides=assignments(args.set, empty_value=True))
    out = check_out(args.out or RESULTS / scenario.name, "run", overwrite=args.overwrite)  # before the run
    result = run(scenario, replications=args.replications, seed=args.seed, progress=not args.quiet,
                 workers=args.workers)
    out = write_folder(out, lambda tmp: write_run(result, tmp, plots=not args.no_plots), kind="run",
                       overwrite=args.overwrite)
    if not args.quiet:
        print(render_summary(result.summary, scenario.name))
        print(f"results in {out}/ ({result.replications} replications, seed {result.seed}, "
              f"{result.seconds:.2f} s)")
    return 0
