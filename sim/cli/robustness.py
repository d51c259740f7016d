"""``python -m sim robustness SCENARIO.yaml``: where a scenario's claims hold (sizes x uncertain parameters).

``python -m sim robustness --library`` assesses every library scenario that
makes claims and keeps each summary in the committed record
(``docs/robustness/<name>.json`` and the table ``docs/robustness.md``, see
:mod:`sim.experiments.robustness_record`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import add_backend_options, add_out_options, assignments, backend

#: Options that only ``--library`` reads, by destination.
LIBRARY_ONLY = {"only": "--only", "risk_sizes": "--risk-sizes", "directory": "--directory", "record": "--record"}


def add_parser(subparsers) -> None:
    """Add ``robustness`` to the subcommands."""
    from sim.experiments.robustness import DEFAULT_SAMPLES, DEFAULT_SIZES
    from sim.experiments.robustness_record import LIBRARY_SAMPLES, LIBRARY_SIZES, RECORD_DIR

    adoption = " ".join(str(s) for s in LIBRARY_SIZES["adoption"])
    risk = " ".join(str(s) for s in LIBRARY_SIZES["risk"])
    rob = subparsers.add_parser(
        "robustness", help="evaluate a scenario's claims across population sizes and uncertain parameters",
        description="Judge each claim of the scenario (claims:) on paired replications at every population size "
                    "crossed with a Latin hypercube over the ranges of the uncertainty file; report the share of "
                    "the space where it holds (Wilson interval) and PRIM boxes where it fails. Resumable. "
                    "With --library, do so for every library scenario with claims and write the committed record "
                    f"({RECORD_DIR}/<name>.json and {RECORD_DIR}.md).")
    rob.add_argument("scenario", type=Path, nargs="?", help="scenario YAML file with claims: (or --library)")
    rob.add_argument("--sizes", type=int, nargs="+", metavar="N",
                     help=f"population sizes (default {' '.join(str(s) for s in DEFAULT_SIZES)}; with --library "
                          f"{adoption} on the adoption side, {risk} on the risk side)")
    rob.add_argument("--samples", "-n", type=int,
                     help=f"Latin hypercube points per size (default {DEFAULT_SAMPLES}, with --library "
                          f"{LIBRARY_SAMPLES}; 0 = the scenario's values)")
    rob.add_argument("--uncertainty", type=Path,
                     help="file of uncertain ranges (default: uncertainty.yaml beside the scenario, else "
                          "scenarios/uncertainty.yaml)")
    rob.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter of the scenario")
    rob.add_argument("--replications", "-r", type=int, help="paired replications per cell (default: the scenario's)")
    rob.add_argument("--seed", "-s", type=int, help="seed of the runs and the hypercube (default: the scenario's)")
    add_out_options(rob, "results/<scenario>/robustness/", resumable=True)
    rob.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    library = rob.add_argument_group("the library's record (--library)")
    library.add_argument("--library", action="store_true",
                         help="assess every scenario of --directory that makes claims, each into "
                              "results/<name>/robustness/ (resumable), and record the summaries in --record; "
                              "a record of the same settings and content is kept as it is")
    library.add_argument("--only", nargs="+", metavar="NAME", help="only these library scenarios (file stems)")
    library.add_argument("--risk-sizes", type=int, nargs="+", metavar="N",
                         help=f"population sizes of the risk side (scenarios whose claims are all about credit "
                              f"risk; default {risk}, or --sizes when given)")
    library.add_argument("--directory", type=Path, help="folder of scenario files (default scenarios)")
    library.add_argument("--record", type=Path,
                         help=f"record folder (default {RECORD_DIR} in the folder above --directory; the table "
                              "is written beside it as <folder>.md); --overwrite replaces a record of other "
                              "settings or content")
    add_backend_options(rob)
    rob.set_defaults(handler=handle)


def uncertainty_file(args: argparse.Namespace) -> Path:
    """The uncertainty file: ``--uncertainty``, else the one beside the scenario, else the library's."""
    from sim.scenario.uncertainty import UNCERTAINTY_FILE

    if args.uncertainty is not None:
        return args.uncertainty
    beside = Path(args.scenario).parent / UNCERTAINTY_FILE
    return beside if beside.is_file() else Path("scenarios") / UNCERTAINTY_FILE


def check_mode(args: argparse.Namespace) -> None:
    """Refuse a scenario file with ``--library``, neither, the library's options without it, and repeated sizes."""
    from sim.errors import ScenarioError

    for option, values in (("--sizes", args.sizes), ("--risk-sizes", args.risk_sizes)):
        repeated = sorted({v for v in values or () if list(values).count(v) > 1})
        if repeated:   # the same cell twice would count as two, and make the share's interval look tighter
            raise ScenarioError.single(option, "", f"repeats {', '.join(map(str, repeated))}",
                                       "each population size once")
    if args.library:
        if args.scenario is not None:
            raise ScenarioError.single("--library", "", f"given with a scenario file ({args.scenario})",
                                       "either one SCENARIO.yaml or --library (with --only NAME ... for some)")
        for option, value in (("--set", args.set), ("--out", args.out)):
            if value:
                raise ScenarioError.single(option, "", "is not used with --library (the record is of the library "
                                           "files as they are, each in results/<name>/robustness/)",
                                           "--library without it")
        return
    if args.scenario is None:
        raise ScenarioError.single("robustness", "", "no scenario file", "SCENARIO.yaml, or --library")
    for dest, option in LIBRARY_ONLY.items():
        if getattr(args, dest) is not None:
            raise ScenarioError.single(option, "", "is an option of --library", "--library, or leave it out")


def handle(args: argparse.Namespace) -> int:
    """Check everything, sweep, judge the claims, write table, summary, plots and report; print the shares."""
    from sim.experiments.robustness import DEFAULT_SAMPLES, DEFAULT_SIZES, run_robustness
    from sim.outputs.robustness_report import write_robustness_report
    from sim.scenario import load_scenario
    from sim.scenario.uncertainty import read_uncertainty

    check_mode(args)
    if args.library:
        return handle_library(args)
    scenario = load_scenario(args.scenario, assignments(args.set))
    source = uncertainty_file(args)
    ranges = read_uncertainty(source)
    sizes = args.sizes if args.sizes is not None else list(DEFAULT_SIZES)
    samples = args.samples if args.samples is not None else DEFAULT_SAMPLES
    result = run_robustness(scenario, ranges, uncertainty_file=str(source), sizes=sizes, samples=samples,
                            replications=args.replications, seed=args.seed, out=args.out, backend=backend(args),
                            progress=not args.quiet, overwrite=args.overwrite)
    write_robustness_report(result)
    print_shares(result.summary)
    print(f"table, summary, plots and report in {result.out}/")
    return 0


def print_shares(summary) -> None:
    """One line per claim (share, interval, verdict), and the boxes where it fails."""
    for entry in summary["claims"]:
        verdict = "fragile" if entry["fragile"] else "holds in most of the space"
        print(f"{entry['metric']} {entry['direction']} than {entry['compare_to']}: holds in {entry['holds']} of "
              f"{entry['cells']} cells ({entry['share']:.0%}, 95% [{entry['low']:.0%}, {entry['high']:.0%}]), "
              f"{verdict}")
        for box in entry["failure_boxes"]:
            print(f"  fails where {box['text']}")


def handle_library(args: argparse.Namespace) -> int:
    """Assess the library's scenarios with claims, write each record and the table; print one line each."""
    import time

    from sim.errors import ScenarioError
    from sim.experiments.robustness import run_robustness
    from sim.experiments.robustness_library import plan_jobs, record_result, write_table_of
    from sim.experiments.robustness_record import default_record_dir, table_path
    from sim.outputs.robustness_report import write_robustness_report
    from sim.scenario.uncertainty import UNCERTAINTY_FILE, read_uncertainty

    directory = args.directory if args.directory is not None else Path("scenarios")
    record_dir = args.record if args.record is not None else default_record_dir(directory)
    if record_dir.exists() and not record_dir.is_dir():
        raise ScenarioError.single("--record", str(record_dir), "exists and is not a folder", "a folder")
    if not directory.is_dir():
        raise ScenarioError.single("--directory", str(directory), "does not exist" if not directory.exists()
                                   else "is not a folder", "a folder of scenario .yaml files")
    source = args.uncertainty if args.uncertainty is not None else directory / UNCERTAINTY_FILE
    ranges = read_uncertainty(source)
    jobs = plan_jobs(directory, record_dir, ranges, only=args.only, sizes=args.sizes, risk_sizes=args.risk_sizes,
                     samples=args.samples, replications=args.replications, seed=args.seed,
                     overwrite=args.overwrite)
    run_on = backend(args)
    started = time.monotonic()
    for job in jobs:
        if job.action == "same":
            print(f"{job.name}: record up to date ({job.record}), not run")
            continue
        t0 = time.monotonic()
        result = run_robustness(job.scenario, ranges, uncertainty_file=str(source), sizes=job.sizes,
                                samples=job.samples, replications=job.identity["replications"],
                                seed=job.identity["seed"], out=job.out, backend=run_on, progress=not args.quiet,
                                overwrite=job.replace_results)
        write_robustness_report(result)
        record_result(job, result.summary, record_dir, directory, ranges)
        every = result.summary["all_claims"]
        print(f"{job.name}: all claims hold in {every['holds']} of {every['cells']} cells ({every['share']:.0%}, "
              f"95% [{every['low']:.0%}, {every['high']:.0%}]), {time.monotonic() - t0:.0f} s; "
              f"record {job.record}")
    if all(job.action == "same" for job in jobs) and not table_path(record_dir).exists():
        write_table_of(record_dir, directory, ranges)
    print(f"{len(jobs)} scenarios, {time.monotonic() - started:.0f} s; table {table_path(record_dir)}")
    return 0
