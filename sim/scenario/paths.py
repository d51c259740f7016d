"""Dotted parameter paths: ``banks.citic.referral.bonus``.

Every scenario parameter is reachable by a dotted path so that ``--set``,
timeline events and sweeps can change it.  Paths are checked against the
schema, not just against what a file happens to spell out, so a parameter
left at its default can still be set, while a misspelt key or an institution
id that nobody defines is an error that lists what is allowed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.errors import Problem
from sim.scenario.schema import Scenario
from sim.scenario.tree import walk

#: Keys of a scenario that are read as the file loads, before any dotted path applies: why each cannot be set.
STRUCTURAL = {
    "extends": "cannot be set by a dotted path (--set, an event, a sweep): the extends chain is merged when the "
               "file is read, before any override applies",
}


def parse_value(text: str, source: str = "--set") -> Any:
    """Read a command-line value the way YAML would (``0.3``, ``true``, ``[1, 2]``, ``null``).

    Text that is not YAML stays a string (and the schema then says what the
    key wanted).  Duplicate keys and too deep nesting are refused with a
    :class:`~sim.errors.ScenarioError`.
    """
    from sim.scenario.reading import parse_yaml_value

    return parse_yaml_value(text, source)


def check_dotted(path: str) -> Problem | None:
    """A :class:`~sim.errors.Problem` if ``path`` is not keys joined by ``.`` (empty, or an empty key), else None.

    The one test of a dotted path's form, shared by ``--set``, events,
    ``levers:`` and ``python -m sim schema PATH``.
    """
    if not path or any(part == "" for part in path.split(".")):
        return Problem(path, "is not a dotted path", "keys joined by '.', e.g. banks.citic.referral.bonus")
    return None


def set_path(data: dict, path: str, value: Any, schema: type[BaseModel]) -> Problem | None:
    """Set ``path`` to ``value`` inside the raw scenario mapping ``data``.

    Intermediate mappings left at their defaults are created.  Returns a
    :class:`~sim.errors.Problem` instead of raising, so that callers can
    collect every bad path before reporting.
    """
    problem = check_dotted(path)
    if problem is not None:
        return problem
    parts = path.split(".")
    if parts[0] in STRUCTURAL and schema is Scenario:
        return Problem(path, STRUCTURAL[parts[0]], f"write {parts[0]}: in the scenario file itself")
    place = walk(schema, data, parts, create=True)
    if isinstance(place, Problem):
        return place
    place.parent[place.key] = value
    return None


def get_path(obj: Any, path: str) -> Any:
    """Read a dotted path from a validated scenario (models, dicts and lists)."""
    node = obj
    for key in path.split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, key)
        elif isinstance(node, dict):
            node = node[key]
        else:
            node = node[int(key)]
    return node
