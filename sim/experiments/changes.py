"""What turns one scenario into another: the dotted-path overrides between two resolved scenarios.

:func:`~sim.experiments.compare.parameter_differences` lists every leaf that
differs.  A leaf that exists in one scenario only (a partnership one of them
adds) cannot be set on its own, so :func:`change_units` widens it to the
mapping that holds the added or removed entry (``partnerships``), set whole.
Applying every unit's value from ``B`` to ``A`` gives ``B``'s parameters
(:func:`overrides_towards`); applying some of them gives the one-at-a-time
scenarios of an attribution, and applying a scenario's levers from its parent
gives its ablation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sim.errors import Problem, ScenarioError
from sim.scenario import Scenario, with_overrides

_MISSING = object()


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path of a dumped scenario (dicts and lists), or a private marker when absent."""
    node = data
    for key in path.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _MISSING
    return node


def dumped(scenario: Scenario) -> dict:
    """The scenario's resolved parameters as plain JSON-friendly values."""
    return scenario.model_dump(mode="json")


def change_units(a: Scenario, b: Scenario) -> list[str]:
    """The dotted paths that can be set one at a time to turn ``a``'s parameters into ``b``'s.

    Every differing leaf (:func:`~sim.experiments.compare.parameter_differences`)
    is a unit, except one that exists in one scenario only: it is widened to
    the mapping holding the added or removed entry.
    """
    from sim.experiments.compare import parameter_differences

    differences = parameter_differences([a, b])
    data_a, data_b = dumped(a), dumped(b)
    units: list[str] = []
    for path in differences["parameter"]:
        if value_at(data_a, path) is _MISSING or value_at(data_b, path) is _MISSING:
            parts = path.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if value_at(data_a, prefix) is _MISSING or value_at(data_b, prefix) is _MISSING:
                    path = ".".join(parts[: i - 1]) or parts[0]
                    break
        if path not in units and not any(path.startswith(u + ".") for u in units):
            units = [u for u in units if not u.startswith(path + ".")] + [path]
    return units


def settable_paths(target: Scenario, paths: Iterable[str]) -> list[str]:
    """Each path, or, where ``target`` lacks it, the nearest mapping above it that ``target`` has.

    A lever that adds an entry (``partnerships.new_link``) cannot be set back to
    a value the target does not have; the target's mapping that would hold it
    (``partnerships``) is set whole instead, which removes the entry.  Paths
    below one already listed are dropped.
    """
    data = dumped(target)
    out: list[str] = []
    for path in paths:
        parts = path.split(".")
        while len(parts) > 1 and value_at(data, ".".join(parts)) is _MISSING:
            parts = parts[:-1]
        unit = ".".join(parts)
        if unit in out or any(unit.startswith(u + ".") for u in out):
            continue
        out = [u for u in out if not u.startswith(unit + ".")] + [unit]
    return out


def overrides_towards(target: Scenario, paths: Iterable[str]) -> dict[str, Any]:
    """``{path: target's value}`` for each path (a value that ``with_overrides`` accepts)."""
    data = dumped(target)
    out = {}
    for path in paths:
        value = value_at(data, path)
        if value is _MISSING:
            raise ScenarioError.single(target.name, path, "does not exist in this scenario",
                                       "a path both scenarios define")
        out[path] = value
    return out


def group_by_levers(units: Sequence[str], levers: Sequence[str]) -> dict[str, list[str]]:
    """Units grouped under the lever that covers them (the lever itself or a path below it); others alone.

    Keys are lever paths (in declared order) then uncovered units, each its own group.
    """
    groups: dict[str, list[str]] = {}
    for unit in units:
        owner = next((lever for lever in levers if unit == lever or unit.startswith(lever + ".")
                      or lever.startswith(unit + ".")), unit)
        groups.setdefault(owner, []).append(unit)
    order = [lever for lever in levers if lever in groups] + [g for g in groups if g not in levers]
    return {g: groups[g] for g in order}


def apply_changes(base: Scenario, target: Scenario, paths: Iterable[str], name: str | None = None,
                  levers: Sequence[str] | None = None) -> Scenario:
    """``base`` with ``paths`` set to ``target``'s values (renamed ``name``, and its ``levers:`` replaced, if given)."""
    overrides = overrides_towards(target, paths)
    if name is not None:
        overrides["name"] = name
    if levers is not None:
        overrides["levers"] = list(levers)
    try:
        return with_overrides(base, overrides, source=f"{base.name} -> {target.name}")
    except ScenarioError as exc:
        raise ScenarioError(exc.source, [*exc.problems, Problem(
            "", "these changes cannot be applied one at a time", "changes that are valid on their own")]) from None


__all__ = ["apply_changes", "change_units", "dumped", "group_by_levers", "overrides_towards", "settable_paths",
           "value_at"]
