"""``python -m sim sensitivity``: global sensitivity analysis (SALib Morris or Sobol') of a metric."""

from __future__ import annotations

import argparse

from sim.cli.common import add_backend_options, add_out_options, assignments, backend
from sim.errors import ScenarioError


def add_parser(subparsers) -> None:
    """Add ``sensitivity`` to the subcommands."""
    sens = subparsers.add_parser(
        "sensitivity", help="global sensitivity analysis (SALib Morris or Sobol') of a metric",
        description="Sample parameter ranges, run the model at every sample point (a resumable sweep), "
                    "and write the indices with 95%% intervals and a plot.")
    sens.add_argument("scenario", help="scenario YAML file")
    sens.add_argument("--method", choices=["morris", "sobol"], default="morris", help="default morris")
    sens.add_argument(
        "--param", action="append", required=True, metavar="PATH=LOW:HIGH", help="a parameter range (repeatable)"
    )
    sens.add_argument(
        "--metric",
        required=True,
        help="final-step value, mean over replications: a market column (e.g. active) or institution:ID:COLUMN",
    )
    sens.add_argument("--samples", "-n", type=int,
                      help="Morris trajectories (default 10) or Sobol' base size, a power of 2 (default 64)")
    sens.add_argument("--levels", type=int, help="Morris grid levels (default 4)")
    sens.add_argument("--second-order", action="store_true", help="Sobol': also second-order indices")
    sens.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples for the intervals (default 1000)"
    )
    sens.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter of the scenario")
    sens.add_argument("--replications", "-r", type=int, help="replications per sample point (default: the scenario's)")
    sens.add_argument(
        "--seed", "-s", type=int, help="seed of the runs, the sample and the bootstrap (default: the scenario's)"
    )
    add_out_options(sens, "results/sensitivity/<scenario>-<method>-<hash>/", resumable=True)
    sens.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_backend_options(sens)
    sens.set_defaults(handler=handle)


def check_method_options(args: argparse.Namespace) -> None:
    """Refuse an option of the other method, which would be silently ignored.

    ``--levels`` is Morris' and ``--second-order`` Sobol's.
    """
    if args.method != "morris" and args.levels is not None:
        raise ScenarioError.single("--levels", "", f"is an option of --method morris, given with --method "
                                   f"{args.method}", "--method morris --levels N, or no --levels")
    if args.method != "sobol" and args.second_order:
        raise ScenarioError.single("--second-order", "", f"is an option of --method sobol, given with --method "
                                   f"{args.method}", "--method sobol --second-order, or no --second-order")


def handle(args: argparse.Namespace) -> int:
    """Sample, sweep, analyse, write indices and plot; print the indices."""
    from sim.experiments.design import parse_range_option
    from sim.experiments.sensitivity import run_sensitivity
    from sim.outputs.sensitivity_plots import write_sensitivity_plots
    from sim.scenario import load_scenario

    check_method_options(args)
    scenario = load_scenario(args.scenario, assignments(args.set))
    bounds: dict[str, tuple[float, float]] = {}
    for item in args.param:
        path, bound = parse_range_option(item, option="--param", strict=True)
        if path in bounds:
            raise ScenarioError.single("--param", path, "is given twice (the last would silently replace the first)",
                                       "each parameter once: --param PATH=LOW:HIGH")
        bounds[path] = bound
    result = run_sensitivity(scenario, bounds, args.metric, args.method, samples=args.samples, out=args.out,
                             replications=args.replications, seed=args.seed,
                             levels=args.levels if args.levels is not None else 4,
                             second_order=args.second_order, resamples=args.resamples, backend=backend(args),
                             progress=not args.quiet, overwrite=args.overwrite)
    write_sensitivity_plots(result)  # indices.png, samples.png
    columns = ["parameter", "rank", *(["mu_star", "mu_star_conf", "sigma"] if args.method == "morris"
                                      else ["S1", "S1_conf", "ST", "ST_conf"])]
    print(result.indices.sort_values("rank")[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"indices, plot and sample in {result.out}/ ({len(result.Y)} points x "
        f"{result.sweep.runs // max(len(result.Y), 1)} replications)"
    )
    return 0
