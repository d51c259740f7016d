"""``python -m sim calibrate``: fit shared parameters to the stylized facts jointly (ABC-SMC), resumable."""

from __future__ import annotations

import argparse

from sim.cli.common import add_backend_options, add_out_options, assignments, backend


def add_parser(subparsers) -> None:
    """Add ``calibrate`` to the subcommands."""
    cal = subparsers.add_parser(
        "calibrate", help="fit shared parameters to the targets file's facts jointly (ABC-SMC), resumable",
        description="Fit the parameters declared in a targets file to all its non-held-out targets at once by "
                    "ABC-SMC (pyabc); write the posterior, the fit table, the calibrated scenario fragment, "
                    "plots and a report. Running the same command again resumes.")
    cal.add_argument("targets", metavar="TARGETS.yaml", help="targets file (e.g. scenarios/targets.yaml)")
    cal.add_argument("--budget", type=int, help="ABC-SMC generations in all (default 5)")
    cal.add_argument("--population-size", type=int, help="accepted particles per generation (default 24)")
    cal.add_argument("--replications", "-r", type=int, help="replications per scenario and particle "
                                                            "(default: the targets file's)")
    cal.add_argument("--seed", "-s", type=int, help="seed of the runs and the sampler (default: the targets file's)")
    cal.add_argument("--set", action="append", metavar="PATH=VALUE",
                     help="override a parameter of every target's scenario (e.g. population.size=3000)")
    add_out_options(cal, "results/calibration/<targets>-<hash>/", resumable=True)
    cal.add_argument("--quiet", "-q", action="store_true", help="no progress log")
    add_backend_options(cal)
    cal.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Load and check the targets, calibrate, write the report; print the parameters and the fit."""
    from sim.experiments.calibration import DEFAULT_POPULATION_SIZE, DEFAULT_POPULATIONS, run_calibration
    from sim.experiments.targets import load_targets
    from sim.outputs.calibration_report import write_calibration_report

    overrides = assignments(args.set)
    targets = load_targets(args.targets)
    runner = backend(args)
    try:
        result = run_calibration(
            targets, out=args.out, populations=args.budget or DEFAULT_POPULATIONS,
            population_size=args.population_size or DEFAULT_POPULATION_SIZE, replications=args.replications,
            seed=args.seed, backend=runner, overrides=overrides, overwrite=args.overwrite, progress=not args.quiet)
    finally:
        runner.close()
    write_calibration_report(result)
    print(result.parameters[["parameter", "mean", "q025", "q975"]].to_string(index=False,
                                                                          float_format=lambda v: f"{v:.4g}"))
    print(result.fit[["target", "value", "simulated", "low", "high", "within", "held_out"]].to_string(
        index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{len(result.generations)} generations, {result.evaluations} parameter sets evaluated now "
          f"({result.seconds_per_evaluation:.2f} s each), {result.seconds:.1f} s; results in {result.out}/")
    return 0
