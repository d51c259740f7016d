"""The library's robustness run: which scenarios, with what settings, and their records (``--library``).

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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def plan_jobs(directory: Path, record_dir: Path, ranges, *, only: list[str] | None = None,
              sizes: list[int] | None = None, risk_sizes: list[int] | None = None, samples: int | None = None,
              replications: int | None = None, seed: int | None = None, overwrite: bool = False) -> list[Job]:
    """Check every scenario, its design, its record and its results folder; a ScenarioError before any run.

    Parameters
    ----------
    directory : Path
        The scenario folder; its files that make claims are assessed (``only``: these file stems).
    record_dir : Path
        The record folder.
    ranges : mapping
        The uncertain ranges (:func:`sim.scenario.uncertainty.read_uncertainty`).
    sizes, risk_sizes : list of int, optional
        Population sizes of every scenario, and of the risk side's
        (default :data:`~sim.experiments.robustness_record.LIBRARY_SIZES`).
    samples, replications, seed : int, optional
        Hypercube points (default :data:`~sim.experiments.robustness_record.LIBRARY_SAMPLES`),
        and the scenario's replications and seed unless given.
    overwrite : bool
        Allow replacing a record, or a results folder, of other settings or content.

    Returns
    -------
    list of Job
        One per scenario, with what its record needs (``new``, ``same``: up to date, ``replace``).
    """
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
    for path, scenario in library_scenarios(directory, only):
        where = side(scenario)
        if where == "risk" and risk_sizes is not None:
            chosen = risk_sizes
        elif sizes is not None:
            chosen = sizes
        else:
            chosen = list(LIBRARY_SIZES[where])
        points = samples if samples is not None else LIBRARY_SAMPLES
        its_seed = scenario.seed if seed is None else seed
        its_replications = scenario.replications if replications is None else replications
        chosen, *_ = check_robustness(scenario, ranges, chosen, points, its_seed)
        identity = {"sizes": chosen, "samples": points, "replications": its_replications, "seed": its_seed,
                    **content_hashes(scenario, ranges)}
        record = record_path(record_dir, path.stem)
        action = check_record_target(record, identity, overwrite=overwrite)
        out = Path("results") / scenario.name / "robustness"
        replace = False
        summary = read_summary(out)
        if action != "same" and summary is not None:
            settings = ("sizes", "samples", "replications", "seed")
            checkable = "scenario_hash" in summary
            if not (same_assessment(summary, identity) if checkable
                    else all(summary.get(k) == identity[k] for k in settings)):
                if not overwrite:
                    raise ScenarioError.single(out, "", "holds a robustness analysis of other settings or content",
                                               "--overwrite to replace it, or delete the folder")
                replace = True
        jobs.append(Job(path.stem, path, scenario, chosen, points, identity, record, action, out, replace))
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


def record_result(job: Job, summary: dict[str, Any], record_dir: Path, directory: Path, ranges) -> Path:
    """Write the record of a finished assessment and regenerate the table from every record; return the record."""
    from sim.experiments.robustness_record import build_record, write_record
    from sim.version import __version__

    write_record(job.record, build_record(summary, version=__version__))
    write_table_of(record_dir, directory, ranges)
    return job.record


def write_table_of(record_dir: Path, directory: Path, ranges) -> Path:
    """Regenerate ``<record_dir>.md`` from every record in ``record_dir``, marking the stale ones."""
    from sim.experiments.robustness_record import read_records, table_path, write_table

    records = read_records(record_dir)
    return write_table(table_path(record_dir), records, table_status(records, directory, ranges))
