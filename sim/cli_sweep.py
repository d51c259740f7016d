"""Command-line front ends of sweeps and sensitivity analysis.

``python -m sim sweep``, ``python -m sim sensitivity`` and ``python -m sim gather``
are added to the main parser by :func:`add_sweep_commands`.  Handlers
return the exit status: 0 when every run succeeded, 1 when some runs failed
(they are listed, the others are written), and 2 for bad input (raised as
:class:`~sim.errors.ScenarioError` before anything runs or is written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.errors import ScenarioError

EXIT_BAD_INPUT = 2
EXIT_RUNS_FAILED = 1


def _assignments(items: list[str] | None, option: str) -> dict[str, str]:
    from sim.experiments.design import split_assignment

    return dict(split_assignment(item, option) for item in items or [])


def _add_backend_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where runs execute (default: a local process pool, one worker per core)")
    group.add_argument("--workers", "-j", type=int, help="processes of the local pool, or workers of --cluster local")
    group.add_argument("--serial", action="store_true", help="run everything in this process, one run at a time")
    group.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use a running Dask scheduler")
    group.add_argument("--cluster", choices=["local"], help="start a Dask LocalCluster")
    group.add_argument("--connect-timeout", type=float, default=5.0, metavar="SECONDS",
                       help="how long to wait for --scheduler (default 5)")


def _backend(args: argparse.Namespace, file_spec=None):
    from sim.experiments.backends import make_backend

    scheduler = args.scheduler or (file_spec.scheduler if file_spec else None)
    cluster = args.cluster or (file_spec.cluster if file_spec else None)
    workers = args.workers or (file_spec.workers if file_spec else None)
    serial = args.serial or (file_spec is not None and file_spec.backend == "serial")
    if serial and (scheduler or cluster):
        raise ScenarioError.single("--serial", "", "given with --scheduler or --cluster", "one way of running")
    return make_backend("serial" if serial else "pool", workers=workers, scheduler=scheduler, cluster=cluster,
                        timeout=args.connect_timeout)


def add_sweep_commands(subparsers) -> None:
    """Add ``sweep``, ``sensitivity`` and ``gather`` to the main parser's subcommands."""
    sweep = subparsers.add_parser(
        "sweep", help="run a parameter sweep (grid, Latin hypercube or design file), resumable",
        description="Run every (design point, replication) of a sweep; each run is written as it finishes, "
                    "and running the same command again resumes.")
    sweep.add_argument("target", metavar="SCENARIO_OR_SWEEP.yaml",
                       help="a scenario YAML (give the design with options) or a sweep YAML (has 'scenario:')")
    design = sweep.add_argument_group("design (one kind)")
    design.add_argument("--grid", action="append", metavar="PATH=V1,V2,...",
                        help="values of one parameter; every combination of all --grid options runs (repeatable)")
    design.add_argument("--lhs", action="append", metavar="PATH=LOW:HIGH",
                        help="range of one parameter for a Latin hypercube (repeatable; needs --samples)")
    design.add_argument("--samples", "-n", type=int, help="number of Latin hypercube points")
    design.add_argument("--design", type=Path, metavar="CSV", help="design file: header of dotted paths, one row per point")
    sweep.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter of the base scenario")
    sweep.add_argument("--replications", "-r", type=int, help="replications per point (default: the scenario's)")
    sweep.add_argument("--seed", "-s", type=int, help="seed (default: the scenario's); also seeds the hypercube")
    sweep.add_argument("--out", type=Path, help="sweep folder (default results/sweeps/<scenario>-<hash>/)")
    sweep.add_argument("--skip-failed", action="store_true", help="on resume, do not retry runs that failed before")
    sweep.add_argument("--no-gather", action="store_true", help="leave the parts ungathered (gather later with `gather`)")
    sweep.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_backend_options(sweep)
    sweep.set_defaults(handler=cmd_sweep, func=cmd_sweep)

    sens = subparsers.add_parser(
        "sensitivity", help="global sensitivity analysis (SALib Morris or Sobol') of a metric",
        description="Sample parameter ranges, run the model at every sample point (a resumable sweep), "
                    "and write the indices with 95%% intervals and a plot.")
    sens.add_argument("scenario", help="scenario YAML file")
    sens.add_argument("--method", choices=["morris", "sobol"], default="morris", help="default morris")
    sens.add_argument("--param", action="append", required=True, metavar="PATH=LOW:HIGH", help="a parameter range (repeatable)")
    sens.add_argument("--metric", required=True,
                      help="final-step value, mean over replications: a market column (e.g. active) or institution:ID:COLUMN")
    sens.add_argument("--samples", "-n", type=int,
                      help="Morris trajectories (default 10) or Sobol' base size, a power of 2 (default 64)")
    sens.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    sens.add_argument("--second-order", action="store_true", help="Sobol': also second-order indices")
    sens.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the intervals (default 1000)")
    sens.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter of the scenario")
    sens.add_argument("--replications", "-r", type=int, help="replications per sample point (default: the scenario's)")
    sens.add_argument("--seed", "-s", type=int, help="seed of the runs, the sample and the bootstrap (default: the scenario's)")
    sens.add_argument("--out", type=Path, help="folder (default results/sensitivity/<scenario>-<method>-<hash>/)")
    sens.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_backend_options(sens)
    sens.set_defaults(handler=cmd_sensitivity, func=cmd_sensitivity)

    gather = subparsers.add_parser("gather", help="gather a sweep folder's parts into one table per metric table")
    gather.add_argument("folder", type=Path, help="a sweep folder (has manifest.json)")
    gather.set_defaults(handler=cmd_gather, func=cmd_gather)


def _guard(handler):
    """Print a ScenarioError in a line or two and return 2, also when called without sim.cli.main."""
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ScenarioError as exc:
            print(f"error: {exc.render()}", file=sys.stderr)
            return EXIT_BAD_INPUT
    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


@_guard
def cmd_sweep(args: argparse.Namespace) -> int:
    """Handle ``sweep``: build the design, run or resume it, report."""
    from sim.experiments.design import (csv_design, design_from_sweep_file, grid_design, is_sweep_file, lhs_design,
                                        parse_grid_option, parse_range_option, read_sweep_file)
    from sim.experiments.sweep import run_sweep
    from sim.scenario import load_scenario

    spec = read_sweep_file(args.target) if is_sweep_file(args.target) else None
    if spec is not None:
        overrides = {**spec.set, **_assignments(args.set, "--set")}
        scenario = load_scenario(spec.path.parent / spec.scenario, overrides)
    else:
        scenario = load_scenario(args.target, _assignments(args.set, "--set"))
    replications = args.replications or (spec.replications if spec else None) or scenario.replications
    seed = args.seed if args.seed is not None else (spec.seed if spec and spec.seed is not None else scenario.seed)

    given = [name for name, value in (("--grid", args.grid), ("--lhs", args.lhs), ("--design", args.design)) if value]
    if len(given) > 1:
        raise ScenarioError.single(" ".join(given), "", "more than one kind of design", "one of --grid, --lhs, --design")
    if args.grid:
        design = grid_design(dict(parse_grid_option(item) for item in args.grid))
    elif args.lhs:
        if args.samples is None:
            raise ScenarioError.single("--lhs", "--samples", "is required with --lhs", "an integer >= 1")
        ranges = dict(parse_range_option(item) for item in args.lhs)
        design = lhs_design(ranges, args.samples, seed, scenario=scenario)
    elif args.design:
        design = csv_design(args.design)
    else:
        design = design_from_sweep_file(spec, scenario, seed) if spec else None
    if design is None:
        raise ScenarioError.single(args.target, "", "no design given", "--grid, --lhs with --samples, --design, or a sweep YAML")

    out = args.out or (Path(spec.out) if spec and spec.out else None)
    backend = _backend(args, spec)
    result = run_sweep(scenario, design, out=out, replications=replications, seed=seed, backend=backend,
                       retry_failed=not args.skip_failed, progress=not args.quiet, gather_results=not args.no_gather)
    print(f"{result.runs} runs ({len(design)} points x {replications} replications): {result.completed} run now, "
          f"{result.skipped} already done, {len(result.failed)} failed; {result.seconds:.1f} s")
    print(f"results in {result.out}/" + ("" if args.no_gather else " (gathered tables: <table>.parquet)"))
    return _report_failures(result)


def _report_failures(result) -> int:
    if not result.failed:
        return 0
    table = result.failures()
    print(f"{len(table)} failed run(s), listed in {result.out}/failures.csv; running the command again retries them:",
          file=sys.stderr)
    for _, row in table.head(5).iterrows():
        print(f"  {row['run_id']}: {row['error']}", file=sys.stderr)
    return EXIT_RUNS_FAILED


@_guard
def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Handle ``sensitivity``: sample, sweep, analyse, write indices and plot."""
    from sim.experiments.design import parse_range_option
    from sim.experiments.sensitivity import run_sensitivity
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, _assignments(args.set, "--set"))
    bounds = dict(parse_range_option(item, option="--param", strict=True) for item in args.param)
    backend = _backend(args)
    result = run_sensitivity(scenario, bounds, args.metric, args.method, samples=args.samples, out=args.out,
                             replications=args.replications, seed=args.seed, levels=args.levels,
                             second_order=args.second_order, resamples=args.resamples, backend=backend,
                             progress=not args.quiet)
    columns = ["parameter", "rank", *(["mu_star", "mu_star_conf", "sigma"] if args.method == "morris"
                                      else ["S1", "S1_conf", "ST", "ST_conf"])]
    print(result.indices.sort_values("rank")[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"indices, plot and sample in {result.out}/ ({len(result.Y)} points x {result.sweep.runs // max(len(result.Y), 1)} "
          f"replications)")
    return 0


@_guard
def cmd_gather(args: argparse.Namespace) -> int:
    """Handle ``gather``: write one table per metric table into the sweep folder."""
    from sim.experiments.sweep import failures, gather, read_manifest

    manifest = read_manifest(args.folder)
    tables = gather(args.folder, write=True)
    rows = {name: len(frame) for name, frame in tables.items()}
    runs = tables[next(iter(tables))][["point", "replication"]].drop_duplicates().shape[0] if tables else 0
    print(f"{runs} of {manifest['runs']} runs gathered into {args.folder}/: "
          + ", ".join(f"{name}.parquet ({n} rows)" for name, n in rows.items()))
    failed = failures(args.folder)
    if len(failed):
        print(f"{len(failed)} failed run(s) in {args.folder}/failures.csv", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run these commands on their own: ``python -m sim.cli_sweep sweep ...``."""
    parser = argparse.ArgumentParser(prog="python -m sim.cli_sweep")
    add_sweep_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
