"""The scenario library: the strategy files in ``scenarios/``."""

from __future__ import annotations

from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario.loader import load_scenario


def list_scenarios(directory: Path) -> list[tuple[str, str]]:
    """(file stem, one-line description) for each scenario file, in name order.

    A file that does not validate is listed with its error, so a broken
    library is visible rather than silently shortened.
    """
    rows = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            scenario = load_scenario(path)
            description = scenario.description.strip().splitlines()[0] if scenario.description.strip() else ""
        except ScenarioError as exc:
            description = f"INVALID: {exc.problems[0].render()}"
        rows.append((path.stem, description))
    return rows
