"""``python -m sim robustness --library``: assess every library scenario with claims and record the summaries.

Everything is checked before anything runs: each scenario loads and makes
claims, its design is valid, its record may be written (a record of other
settings or content needs ``--overwrite``; a file there that is not a record
is never replaced), and its results folder holds the same analysis or none.
Then each scenario runs into ``results/<name>/robustness/`` (resumable, like
the single-scenario command), its record is written, and the table is
regenerated from every record of the folder, so an interrupted library run
keeps what it finished.  A record whose settings and content hashes match is
up to date and is not run again.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.cli.common import backend
from sim.errors import ScenarioError


@dataclass
class Job:
    """One library scenario to assess: where from, with what, and what its record and results folder hold."""

    name: str
    path: Path
    scenario: Any
    sizes: list[int]
    samples: int
    identity: dict[str, Any]
    record: Path
    action: str                     # new, same (up to date) or replace
    out: Path
    replace_results: bool


def library_scenarios(directory: Path, only: list[str] | None) -> list[tuple[Path, Any]]:
    """The scenario files of ``directory`` that make claims (``only``: these file stems), loaded."""
    from sim.scenario import load_scenario
    from sim.scenario.library import scenario_files

    if not directory.is_dir():
        raise ScenarioError.single("--directory", str(directory), "does not exist" if not directory.exists()
                                   else "is not a folder", "a folder of scenario .yaml files")
    loaded = [(path, load_scenario(path)) for path in scenario_files(directory)]
    claiming = [(path, s) for path, s in loaded if s.claims]
    if only is not None:
        names = {path.stem: (path, s) for path, s in claiming}
        unknown = [n for n in only if n.removesuffix(".yaml") not in names]
        if unknown:
            raise ScenarioError.single("--only", " ".join(unknown), "no library scenario with claims of that name",
                                       ", ".join(names) or "(none)")
        claiming = [names[n.removesuffix(".yaml")] for n in dict.fromkeys(only)]
    if not claiming:
        raise ScenarioError.single("--directory", str(directory), "holds no scenario that makes claims",
                                   "a folder of scenario files, some with claims:")
    return claiming


def plan_jobs(args: argparse.Namespace, directory: Path, record_dir: Path, ranges, source: Path) -> list[Job]:
    """Check every scenario, its design, its record and its results folder; a ScenarioError before any run."""
    from sim.experiments.robustness import check_robustness, read_summary
    from sim.experiments.robustness_record import (
        LIBRARY_SAMPLES,
        LIBRARY_SIZES,
        check_record_target,
        content_hashes,
        record_path,
        same_assessment,
        side,
    )

    jobs = []
    for path, scenario in library_scenarios(directory, args.only):
        where = side(scenario)
        if where == "risk" and args.risk_sizes is not None:
            sizes = args.risk_sizes
        elif args.sizes is not None:
            sizes = args.sizes
        else:
            sizes = list(LIBRARY_SIZES[where])
        samples = args.samples if args.samples is not None else LIBRARY_SAMPLES
        seed = scenario.seed if args.seed is None else args.seed
        replications = scenario.replications if args.replications is None else args.replications
        sizes, *_ = check_robustness(scenario, ranges, sizes, samples, seed)
        identity = {"sizes": sizes, "samples": samples, "replications": replications, "seed": seed,
                    **content_hashes(scenario, ranges)}
        record = record_path(record_dir, path.stem)
        action = check_record_target(record, identity, overwrite=args.overwrite)
        out = Path("results") / scenario.name / "robustness"
        replace = False
        summary = read_summary(out)
        if action != "same" and summary is not None:
            settings = ("sizes", "samples", "replications", "seed")
            checkable = "scenario_hash" in summary
            if not (same_assessment(summary, identity) if checkable
                    else all(summary.get(k) == identity[k] for k in settings)):
                if not args.overwrite:
                    raise ScenarioError.single(out, "", "holds a robustness analysis of other settings or content",
                                               "--overwrite to replace it, or delete the folder")
                replace = True
        jobs.append(Job(path.stem, path, scenario, sizes, samples, identity, record, action, out, replace))
    return jobs


def table_status(records, directory: Path, ranges) -> dict[str, str]:
    """A note per record whose scenario is gone or whose content no longer matches (``stale``)."""
    from sim.experiments.robustness_record import content_hashes
    from sim.scenario import load_scenario

    status = {}
    for record in records:
        path = directory / (record.get("source") or f"{record['scenario']}.yaml")
        try:
            current = content_hashes(load_scenario(path), ranges)
        except ScenarioError:
            status[record["scenario"]] = "scenario missing or invalid"
            continue
        if any(record.get(k) != v for k, v in current.items()):
            status[record["scenario"]] = "stale"
    return status


def handle_library(args: argparse.Namespace) -> int:
    """Assess the library's scenarios with claims, write each record and the table; print one line each."""
    from sim.experiments.robustness import run_robustness
    from sim.experiments.robustness_record import (
        RECORD_DIR,
        build_record,
        read_records,
        write_record,
        write_table,
    )
    from sim.outputs.robustness_report import write_robustness_report
    from sim.scenario.uncertainty import UNCERTAINTY_FILE, read_uncertainty
    from sim.version import __version__

    directory = args.directory if args.directory is not None else Path("scenarios")
    record_dir = args.record if args.record is not None else RECORD_DIR
    table = record_dir.with_suffix(".md")
    if record_dir.exists() and not record_dir.is_dir():
        raise ScenarioError.single("--record", str(record_dir), "exists and is not a folder", "a folder")
    if not directory.is_dir():
        raise ScenarioError.single("--directory", str(directory), "does not exist" if not directory.exists()
                                   else "is not a folder", "a folder of scenario .yaml files")
    source = args.uncertainty if args.uncertainty is not None else directory / UNCERTAINTY_FILE
    ranges = read_uncertainty(source)
    jobs = plan_jobs(args, directory, record_dir, ranges, source)
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
        write_record(job.record, build_record(result.summary, version=__version__))
        records = read_records(record_dir)
        write_table(table, records, table_status(records, directory, ranges))
        every = result.summary["all_claims"]
        print(f"{job.name}: all claims hold in {every['holds']} of {every['cells']} cells ({every['share']:.0%}, "
              f"95% [{every['low']:.0%}, {every['high']:.0%}]), {time.monotonic() - t0:.0f} s; "
              f"record {job.record}")
    if all(job.action == "same" for job in jobs) and not table.exists():
        records = read_records(record_dir)
        write_table(table, records, table_status(records, directory, ranges))
    print(f"{len(jobs)} scenarios, {time.monotonic() - started:.0f} s; table {table}")
    return 0
