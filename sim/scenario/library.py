"""The scenario library: the strategy files in ``scenarios/``.

:data:`LIBRARY_DIR` is found from the package's own location (the repository
root is the folder above ``sim/``), so notebooks and scripts load the library
whatever their working directory.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario.loader import load_scenario
from sim.scenario.uncertainty import UNCERTAINTY_FILE

#: The repository's ``scenarios/`` folder, located from this file rather than the working directory.
LIBRARY_DIR = Path(__file__).resolve().parents[2] / "scenarios"

#: Files of the library folder that are not scenarios: calibration targets, the uncertain shared parameters
#: and the calibrated fragment the root scenarios extend.
NOT_SCENARIOS = ("targets.yaml", UNCERTAINTY_FILE, "calibrated.yaml")


def scenario_files(directory: Path = LIBRARY_DIR) -> list[Path]:
    """The scenario files of a folder (``*.yaml`` except :data:`NOT_SCENARIOS`), in name order."""
    return sorted(p for p in Path(directory).glob("*.yaml") if p.name not in NOT_SCENARIOS)


def library_path(name: str) -> Path:
    """The file of the library scenario ``name`` (a file stem such as ``"baseline"``).

    Raises
    ------
    ScenarioError
        When the library has no such scenario; the message lists the ones it has.

    Examples
    --------
    >>> library_path("baseline").name
    'baseline.yaml'
    """
    path = LIBRARY_DIR / f"{name.removesuffix('.yaml')}.yaml"
    if not path.is_file() or path.name in NOT_SCENARIOS:
        names = ", ".join(p.stem for p in scenario_files()) or "(none)"
        raise ScenarioError.single(LIBRARY_DIR, name, "no such scenario in the library", names)
    return path


def list_scenarios(directory: Path) -> list[tuple[str, str]]:
    """(file stem, one-line description) for each scenario file, in name order.

    A file that does not validate is listed with its error, so a broken
    library is visible rather than silently shortened.
    """
    rows = []
    for path in scenario_files(directory):
        try:
            scenario = load_scenario(path)
            description = scenario.description.strip().splitlines()[0] if scenario.description.strip() else ""
        except ScenarioError as exc:
            description = f"INVALID: {exc.problems[0].render()}"
        rows.append((path.stem, description))
    return rows
