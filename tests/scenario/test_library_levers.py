"""One lever per strategy: a library scenario that declares ``levers:`` changes nothing else against its parent.

Every library file that declares levers is checked (none is skipped).  A file
without ``levers:`` must be listed in :data:`TO_CONVERT`, the files still to be
converted; the list may only shrink: a file outside it without levers fails,
and so does a listed file that has since gained levers (take it off the list).
"""

from __future__ import annotations

from pathlib import Path

from sim.experiments.claims import lever_violations
from sim.scenario import load_scenario
from sim.scenario.library import LIBRARY_DIR, NOT_SCENARIOS, scenario_files
from sim.scenario.reading import read_yaml

#: Library files that do not declare ``levers:`` yet (root scenarios, which extend no other scenario, need none).
TO_CONVERT: frozenset[str] = frozenset()

FILES = scenario_files(LIBRARY_DIR)


def parent_of(path: Path) -> Path | None:
    """The scenario ``path`` extends; None for a root (extending nothing, or only the calibrated fragment)."""
    parent = read_yaml(path).get("extends")
    return path.parent / parent if parent and parent not in NOT_SCENARIOS else None


def test_scenarios_change_only_their_levers():
    """Every file with levers is checked here (a loop, not a parametrisation, so an empty set is not a skip)."""
    problems = {}
    for path in (p for p in FILES if read_yaml(p).get("levers")):
        parent = parent_of(path)
        if parent is None:
            problems[path.name] = "declares levers but extends no parent to change them against"
            continue
        violations = lever_violations(load_scenario(path), load_scenario(parent))
        if violations:
            problems[path.name] = f"changes {violations} outside its levers"
    assert not problems, problems


def test_every_derived_scenario_declares_levers_or_is_listed_to_convert():
    missing = sorted(p.stem for p in FILES
                     if parent_of(p) is not None and not read_yaml(p).get("levers") and p.stem not in TO_CONVERT)
    assert not missing, f"declare levers: in {missing} (or, while converting, list them in TO_CONVERT)"


def test_the_list_of_files_to_convert_only_shrinks():
    def converted(name: str) -> bool:
        path = LIBRARY_DIR / f"{name}.yaml"
        return not path.is_file() or bool(read_yaml(path).get("levers"))

    stale = sorted(name for name in TO_CONVERT if converted(name))
    assert not stale, f"take {stale} off TO_CONVERT: they declare levers now (or no longer exist)"
