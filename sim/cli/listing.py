"""``python -m sim list``: the scenario library with one-line descriptions and robustness shares.

The robustness column reads ``results/<file stem>/robustness/summary.json``,
the default output of ``python -m sim robustness`` (the share of the space
where all the scenario's claims hold, with its Wilson 95% interval); a
scenario without one says "not assessed", one without claims "no claims".
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Add ``list`` to the subcommands."""
    listing = subparsers.add_parser("list", help="list the scenario library with one-line descriptions")
    listing.add_argument("--directory", default="scenarios", help="folder of scenario files")
    listing.add_argument("--results", default="results",
                         help="results folder holding <scenario>/robustness/summary.json (default results)")
    listing.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Print one line per scenario file: name and description."""
    from sim.errors import ScenarioError
    from sim.scenario.library import list_scenarios

    directory = Path(args.directory)
    if not directory.is_dir():
        raise ScenarioError.single("--directory", str(directory), "does not exist" if not directory.exists()
                                   else "is not a folder", "a folder of scenario .yaml files")
    rows = list_scenarios(directory)
    if not rows:
        raise ScenarioError.single("--directory", str(directory), "holds no scenario files (*.yaml)",
                                   "a folder of scenario .yaml files")
    width = max((len(name) for name, _ in rows), default=4)
    shares = {name: robustness_text(directory / f"{name}.yaml", Path(args.results) / name / "robustness")
              for name, _ in rows}
    share_width = max(len(text) for text in shares.values())
    for name, description in rows:
        print(f"{name:<{width}}  {shares[name]:<{share_width}}  {description}")
    print("\nRobustness: share of the space (sizes x uncertain parameters) where all the scenario's claims hold, "
          "from python -m sim robustness.")
    print("The SF and EF ids the scenarios cite are explained, with their sources, in docs/sources.md.")
    return 0


def robustness_text(path: Path, folder: Path) -> str:
    """``robust 62% [31-86%]`` (``fragile`` under half) from a stored summary, else why there is none."""
    from sim.errors import ScenarioError
    from sim.experiments.robustness import FRAGILE_SHARE, read_summary
    from sim.scenario import load_scenario

    summary = read_summary(folder)
    if summary is None or summary.get("source") not in (None, path.name):
        try:
            if not load_scenario(path).claims:
                return "no claims"
        except ScenarioError:
            return "invalid"
        return "not assessed"
    every = summary["all_claims"]
    word = "fragile" if every["share"] < FRAGILE_SHARE else "holds"
    return f"{word} {every['share']:.0%} [{every['low']:.0%}-{every['high']:.0%}]"
