"""``python -m sim sweep``: a parameter sweep (grid, Latin hypercube or design file), resumable.

Exit status: 0 when every run succeeded, 1 when some runs failed (they are
listed, the others are written), and 2 for bad input (raised as
:class:`~sim.errors.ScenarioError` before anything runs or is written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.common import EXIT_RUNS_FAILED, add_backend_options, assignments, backend
from sim.errors import ScenarioError


def add_parser(subparsers) -> None:
    """Add ``sweep`` to the subcommands."""
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
    design.add_argument(
        "--design", type=Path, metavar="CSV", help="design file: header of dotted paths, one row per point"
    )
    sweep.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter of the base scenario")
    sweep.add_argument("--replications", "-r", type=int, help="replications per point (default: the scenario's)")
    sweep.add_argument("--seed", "-s", type=int, help="seed (default: the scenario's); also seeds the hypercube")
    sweep.add_argument(
        "--out",
        type=Path,
        help="sweep folder (default results/sweeps/<scenario>-<hash>/); must be new, "
        "empty, or a sweep folder of the same sweep, which is resumed",
    )
    sweep.add_argument("--skip-failed", action="store_true", help="on resume, do not retry runs that failed before")
    sweep.add_argument(
        "--no-gather", action="store_true", help="leave the parts ungathered (gather later with `gather`)"
    )
    sweep.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_backend_options(sweep)
    sweep.set_defaults(handler=handle)


def _design(args: argparse.Namespace, spec, scenario, seed: int):
    """The design the options (or the sweep file) give; a ScenarioError for none or more than one."""
    from sim.experiments.design import (
        csv_design,
        design_from_sweep_file,
        grid_design,
        lhs_design,
        parse_grid_option,
        parse_range_option,
    )

    given = [name for name, value in (("--grid", args.grid), ("--lhs", args.lhs), ("--design", args.design)) if value]
    if len(given) > 1:
        raise ScenarioError.single(
            " ".join(given), "", "more than one kind of design", "one of --grid, --lhs, --design"
        )
    if args.samples is not None and not args.lhs:
        other = given[0] if given else args.target
        raise ScenarioError.single("--samples", "", f"is for --lhs only; given with {other} it would be ignored",
                                   "--samples with --lhs, or no --samples")
    if args.grid:
        design = grid_design(_once("--grid", [parse_grid_option(item) for item in args.grid]))
    elif args.lhs:
        if args.samples is None:
            raise ScenarioError.single("--lhs", "--samples", "is required with --lhs", "an integer >= 1")
        ranges = _once("--lhs", [parse_range_option(item) for item in args.lhs])
        design = lhs_design(ranges, args.samples, seed, scenario=scenario)
    elif args.design:
        design = csv_design(args.design)
    else:
        design = design_from_sweep_file(spec, scenario, seed) if spec else None
    if design is None:
        raise ScenarioError.single(
            args.target, "", "no design given", "--grid, --lhs with --samples, --design, or a sweep YAML"
        )
    return design


def _once(option: str, pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``pairs`` as a dict; a ScenarioError naming ``option`` and the path if a path comes twice."""
    seen: dict[str, object] = {}
    for path, value in pairs:
        if path in seen:
            raise ScenarioError.single(option, path, "is given twice (the last would silently replace the first)",
                                       f"each parameter once, with all its values: {option} {path}=...")
        seen[path] = value
    return seen


def handle(args: argparse.Namespace) -> int:
    """Build the design, run or resume it, report."""
    from sim.experiments.design import is_sweep_file, read_sweep_file
    from sim.experiments.sweep import run_sweep
    from sim.outputs.sweep_summary import write_sweep_summary
    from sim.scenario import load_scenario

    spec = read_sweep_file(args.target) if is_sweep_file(args.target) else None
    if spec is not None:
        overrides = {**spec.set, **assignments(args.set)}
        scenario = load_scenario(spec.path.parent / spec.scenario, overrides)
    else:
        scenario = load_scenario(args.target, assignments(args.set))
    replications = next(v for v in (args.replications, spec.replications if spec else None, scenario.replications)
                        if v is not None)
    seed = args.seed if args.seed is not None else (spec.seed if spec and spec.seed is not None else scenario.seed)
    design = _design(args, spec, scenario, seed)

    out = args.out or (Path(spec.out) if spec and spec.out else None)
    result = run_sweep(scenario, design, out=out, replications=replications, seed=seed, backend=backend(args, spec),
                       retry_failed=not args.skip_failed, progress=not args.quiet, gather_results=not args.no_gather)
    if not args.no_gather:
        write_sweep_summary(result.out, result.tables, scenario=scenario)  # summary.csv, plots/<parameter>.png
    print(f"{result.runs} runs ({len(design)} points x {replications} replications): {result.completed} run now, "
          f"{result.skipped} already done, {len(result.failed)} failed; {result.seconds:.1f} s")
    print(f"results in {result.out}/" + ("" if args.no_gather else " (gathered tables: <table>.parquet)"))
    return report_failures(result)


def report_failures(result) -> int:
    """List up to five failed runs on stderr; the exit status (0, or 1 when some failed)."""
    if not result.failed:
        return 0
    table = result.failures()
    print(f"{len(table)} failed run(s), listed in {result.out}/failures.csv; running the command again retries them:",
          file=sys.stderr)
    for _, row in table.head(5).iterrows():
        print(f"  {row['run_id']}: {row['error']}", file=sys.stderr)
    return EXIT_RUNS_FAILED
