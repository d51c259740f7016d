"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.errors import ScenarioError

#: Exit status when some runs of a sweep failed (the others are written).
EXIT_RUNS_FAILED = 1

RESULTS = Path("results")

#: Numeric options and their rules: ``dest -> (option, rule)``.  A rule is the name of a scenario field
#: whose schema constraints apply, or the keyword arguments of :func:`~sim.experiments.design.check_number`.
NUMBER_OPTIONS = {
    "replications": ("--replications", "replications"),
    "seed": ("--seed", "seed"),
    "workers": ("--workers", {"low": 1}),
    "samples": ("--samples", {"low": 1}),
    "budget": ("--budget", {"low": 1}),
    "population_size": ("--population-size", {"low": 2}),
    "levels": ("--levels", {"low": 2}),
    "resamples": ("--resamples", {"low": 1}),
    "connect_timeout": ("--connect-timeout", {"low": 0, "low_open": True, "integer": False}),
}


def check_number_options(args: argparse.Namespace) -> None:
    """Check every numeric option given, by the rules of the scenario file; a ScenarioError names the first bad one.

    ``--replications`` and ``--seed`` follow the Scenario schema's own
    constraints; counts are integers >= 1; nothing may be NaN or infinite.
    """
    from sim.experiments.design import check_number, check_scenario_number

    for dest, (option, rule) in NUMBER_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if isinstance(rule, str):
            check_scenario_number(rule, value, option)
        else:
            check_number(value, option, **rule)


def add_out_options(parser: argparse.ArgumentParser, default: str, *, resumable: bool = False) -> None:
    """Add ``--out`` and ``--overwrite``: where the results folder goes, and whether an old one may be replaced."""
    parser.add_argument("--out", type=Path, help=f"results folder (default {default}); must be new, empty, or "
                                                  "a results folder this program wrote")
    resume = " (without it, the same analysis resumes)" if resumable else ""
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace an existing results folder at --out{resume}; a folder of other files is "
                             "never replaced")


def assignments(items: list[str] | None, option: str = "--set", *, empty_value: bool = False) -> dict[str, str]:
    """The ``PATH=VALUE`` options given as ``option``, as a mapping.

    See :func:`~sim.experiments.design.split_assignment`.
    """
    from sim.experiments.design import parse_assignments

    return parse_assignments(items, option, empty_value=empty_value)


def add_workers_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers``: how many local processes a run's replications are spread over."""
    parser.add_argument("--workers", "-j", type=int, default=1, metavar="N",
                        help="run the replications on a local pool of N processes (default 1: one after another "
                             "in this process); the tables do not depend on N")


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that say where a sweep's runs execute."""
    group = parser.add_argument_group("where runs execute (default: a local process pool, one worker per core)")
    group.add_argument("--workers", "-j", type=int, help="processes of the local pool, or workers of --cluster local")
    group.add_argument("--serial", action="store_true", help="run everything in this process, one run at a time")
    group.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use a running Dask scheduler")
    group.add_argument("--cluster", choices=["local"], help="start a Dask LocalCluster")
    group.add_argument("--connect-timeout", type=float, default=5.0, metavar="SECONDS",
                       help="how long to wait for --scheduler (default 5)")


def backend(args: argparse.Namespace, file_spec=None):
    """The backend the options (and a sweep file's ``backend:`` entries) ask for."""
    from sim.experiments.backends import make_backend

    scheduler = args.scheduler or (file_spec.scheduler if file_spec else None)
    cluster = args.cluster or (file_spec.cluster if file_spec else None)
    workers = args.workers if args.workers is not None else (file_spec.workers if file_spec else None)
    serial = args.serial or (file_spec is not None and file_spec.backend == "serial")
    if serial and (scheduler or cluster):
        raise ScenarioError.single("--serial", "", "given with --scheduler or --cluster", "one way of running")
    if serial and workers is not None:   # one run at a time: a worker count would be silently ignored
        first = "--serial" if args.serial else f"{file_spec.path} backend: serial"
        second = "--workers/-j" if args.workers is not None else f"{file_spec.path} workers"
        raise ScenarioError.single(first, "", f"given with {second} (a serial run has no workers)",
                                   "one of them: --serial, or --workers N for a pool of N processes")
    return make_backend("serial" if serial else "pool", workers=workers, scheduler=scheduler, cluster=cluster,
                        timeout=args.connect_timeout)
