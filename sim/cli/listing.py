"""``python -m sim list``: the scenario library with one-line descriptions and robustness shares.

The robustness column is the share of the space where all the scenario's
claims hold, with its Wilson 95% interval, from
``results/<file stem>/robustness/summary.json`` (the default output of
``python -m sim robustness``, marked "local") when it matches the scenario and
uncertainty file as they are, else from the committed record
``docs/robustness/<file stem>.json`` (``python -m sim robustness --library``,
marked "recorded"); one that no longer matches is marked "stale".  A scenario
with neither says "not assessed", one without claims "no claims".
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Add ``list`` to the subcommands."""
    from sim.experiments.robustness_record import RECORD_DIR

    listing = subparsers.add_parser("list", help="list the scenario library with one-line descriptions")
    listing.add_argument("--directory", default="scenarios", help="folder of scenario files")
    listing.add_argument("--results", type=Path,
                         help="results folder holding <scenario>/robustness/summary.json (default results)")
    listing.add_argument("--record", type=Path,
                         help=f"the committed robustness record, <scenario>.json (default {RECORD_DIR} in the "
                              "folder above --directory)")
    listing.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print one line per scenario file: name and description."""
    from sim.errors import ScenarioError
    from sim.experiments.robustness_record import default_record_dir, record_path
    from sim.scenario.library import list_scenarios

    directory = Path(args.directory)
    check_folder("--directory", directory, "a folder of scenario .yaml files")
    if args.results is not None:
        check_folder("--results", args.results, "a results folder holding <scenario>/robustness/summary.json")
    if args.record is not None:
        check_folder("--record", args.record, "a folder of robustness records, <scenario>.json")
    rows = list_scenarios(directory)
    if not rows:
        raise ScenarioError.single("--directory", str(directory), "holds no scenario files (*.yaml)",
                                   "a folder of scenario .yaml files")
    width = max((len(name) for name, _ in rows), default=4)
    record = args.record if args.record is not None else default_record_dir(directory)
    results = args.results if args.results is not None else Path("results")
    shares = {name: robustness_text(directory / f"{name}.yaml", results / name / "robustness",
                                    record_path(record, name)) for name, _ in rows}
    share_width = max(len(text) for text in shares.values())
    for name, description in rows:
        print(f"{name:<{width}}  {shares[name]:<{share_width}}  {description}")
    print("\nRobustness: share of the space (sizes x uncertain parameters) where all the scenario's claims hold, "
          "with its 95% interval: (local) from python -m sim robustness in results/, (recorded) from the record "
          f"in {record}/ (python -m sim robustness --library); stale = the scenario, a file it extends or "
          "compares to, or the uncertainty ranges changed since.")
    print("The SF and EF ids the scenarios cite are explained, with their sources, in docs/sources.md.")
    return 0


def check_folder(option: str, folder: Path, allowed: str) -> None:
    """Refuse a folder option naming nothing or a file: a ScenarioError naming the option (exit 2).

    Parameters
    ----------
    option : str
        The option, e.g. ``--results``.
    folder : Path
        Its value.
    allowed : str
        What the option wants, for the message.
    """
    from sim.errors import ScenarioError

    if not folder.is_dir():
        raise ScenarioError.single(option, str(folder), "does not exist" if not folder.exists()
                                   else "is not a folder", allowed)


def robustness_text(path: Path, folder: Path, record: Path | None = None) -> str:
    """``holds 62% [31-86%] (local)``, ``fragile ...`` under half, from a summary or a record; else why there is none.

    ``folder`` is ``results/<file stem>/robustness``; ``results/<scenario
    name>/robustness`` (the robustness command's default) is tried after it.
    The local summary (``summary.json``) is shown when its content
    hashes match the scenario and uncertainty file as they are now, else the
    record (``record``) when it matches; otherwise whichever exists, marked
    ``stale`` (``unchecked`` for a local summary written without hashes).
    """
    from sim.errors import ScenarioError
    from sim.experiments.robustness import FRAGILE_SHARE, read_summary
    from sim.experiments.robustness_record import read_record
    from sim.scenario import load_scenario

    try:
        scenario = load_scenario(path)
    except ScenarioError:
        return "invalid"
    if not scenario.claims:
        return "no claims"
    local = None
    for place in dict.fromkeys([folder, folder.parent.parent / scenario.name / folder.name]):   # stem, then name
        local = read_summary(place)
        if local is not None and local.get("source") in (None, path.name):
            break
        local = None
    recorded = read_record(record) if record is not None else None
    found = [(where, summary) for where, summary in (("local", local), ("recorded", recorded)) if summary is not None]
    if not found:
        return "not assessed"
    current = _current_hashes(scenario, path)
    states = [(where, summary, _state(summary, current)) for where, summary in found]
    where, summary, state = next((s for s in states if s[2] == "current"), states[0])
    every = summary["all_claims"]
    word = "fragile" if every["share"] < FRAGILE_SHARE else "holds"
    note = where if state == "current" else f"{where}, {state}"
    return f"{word} {every['share']:.0%} [{every['low']:.0%}-{every['high']:.0%}] ({note})"


def _current_hashes(scenario, path: Path) -> dict[str, str] | None:
    """The content hashes of the scenario and of the uncertainty file the robustness command would use."""
    from sim.errors import ScenarioError
    from sim.experiments.robustness_record import content_hashes
    from sim.scenario.uncertainty import UNCERTAINTY_FILE, read_uncertainty

    beside = path.parent / UNCERTAINTY_FILE
    try:
        return content_hashes(scenario, read_uncertainty(beside if beside.is_file() else Path("scenarios") /
                                                         UNCERTAINTY_FILE))
    except ScenarioError:
        return None


def _state(summary: dict, current: dict[str, str] | None) -> str:
    """``current`` when the summary's hashes are today's, ``unchecked`` when it has none, else ``stale``."""
    if "scenario_hash" not in summary:
        return "unchecked"
    if current is None or any(summary.get(key) != value for key, value in current.items()):
        return "stale"
    return "current"
