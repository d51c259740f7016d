"""The library's uncertain shared parameters: ``scenarios/uncertainty.yaml``.

Each entry gives a dotted path of the scenario schema, the plausible range
``[low, high]`` of its value, and where the range comes from (a source, or
``assumption``)::

    ranges:
      choice.trust: {low: 1.0, high: 3.0, source: assumption}
      credit.peer_effect: {low: 0.0, high: 3.0, source: EF2, calibrate: true}

The file is checked when read: the path must exist in the schema, ``low <
high``, and both ends must be values the schema accepts for that key (its own
field constraints, e.g. a probability in [0, 1]).  Any problem is one
:class:`~sim.errors.ScenarioError` naming the file and the key path.
``python -m sim robustness`` draws a Latin hypercube over these ranges;
``python -m sim calibrate`` fits the entries marked ``calibrate: true`` (the
ranges are its uniform priors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import TypeAdapter, ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.reading import read_yaml
from sim.scenario.schema import Scenario
from sim.scenario.tree import block, is_model, walk

#: The library's file of uncertain ranges, relative to the scenario folder.
UNCERTAINTY_FILE = "uncertainty.yaml"

ENTRY_KEYS = ("low", "high", "source")
OPTIONAL_KEYS = ("calibrate",)


@dataclass(frozen=True)
class UncertainRange:
    """A shared parameter's plausible range, its source, and whether ``sim calibrate`` fits it."""

    path: str
    low: float
    high: float
    source: str
    calibrate: bool = False
    calibrate: bool = False


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def field_type(parts: list[str]):
    """The full type of the schema field at a path, with its constraints (``Annotated[...]``), or None."""
    if len(parts) == 1:
        model = Scenario
    else:
        parent = walk(Scenario, {}, parts[:-1], strict=False)
        if isinstance(parent, Problem):
            return None
        model = block(parent.annotation, None)
    if not is_model(model) or parts[-1] not in model.model_fields:
        return None
    info = model.model_fields[parts[-1]]
    return Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation


def check_entry(path: str, entry) -> list[Problem]:
    """Problems with one ``path: {low, high, source}`` entry (key paths start with ``ranges.<path>``)."""
    where = f"ranges.{path}"
    if not isinstance(entry, dict):
        return [Problem(where, f"got {entry!r}", "a mapping with low, high and source")]
    problems = [Problem(f"{where}.{key}", f"unknown key '{key}'", ", ".join(ENTRY_KEYS + OPTIONAL_KEYS))
                for key in entry if key not in ENTRY_KEYS + OPTIONAL_KEYS]
    problems += [Problem(f"{where}.{key}", "is required", None) for key in ENTRY_KEYS if key not in entry]
    if problems:
        return problems
    if not isinstance(entry.get("calibrate", False), bool):
        problems.append(Problem(f"{where}.calibrate", f"got {entry['calibrate']!r}", "true or false"))
    if not isinstance(entry["source"], str) or not entry["source"].strip():
        problems.append(Problem(f"{where}.source", f"got {entry['source']!r}",
                                "the range's source (e.g. SF4, a paper) or 'assumption'"))
    low, high = entry["low"], entry["high"]
    for key, value in (("low", low), ("high", high)):
        if not _number(value):
            problems.append(Problem(f"{where}.{key}", f"got {value!r}", "a finite number"))
    if problems:
        return problems
    if not low < high:
        problems.append(Problem(where, f"low {low:g} >= high {high:g}", "low < high"))
    parts = path.split(".")
    place = walk(Scenario, {}, parts, strict=False) if all(parts) else Problem(path, "is not a dotted path")
    if isinstance(place, Problem):
        problems.append(Problem(where, f"'{path}' is not a scenario parameter: {place.path}: {place.message}",
                                place.allowed))
        return problems
    adapter = TypeAdapter(field_type(parts) or place.annotation)
    for key, value in (("low", low), ("high", high)):
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"]
            problems.append(Problem(f"{where}.{key}", f"{value!r} is outside what {path} accepts: {message}", None))
    return problems


def read_uncertainty(path: str | Path) -> dict[str, UncertainRange]:
    """Read and check an uncertainty file; raise one ScenarioError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError.single(path, "", "not found", "a YAML file of ranges (scenarios/uncertainty.yaml)")
    data = read_yaml(path)
    unknown = [str(k) for k in data if k != "ranges"]
    ranges = data.get("ranges")
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        where, message = ", ".join(unknown), f"unknown key{plural}: the file has one key, 'ranges'"
    elif ranges is None:
        where, message = "ranges", "is required" if "ranges" not in data else "is empty (null)"
    elif not isinstance(ranges, dict):
        where, message = "ranges", f"is a {type(ranges).__name__}, not a mapping of dotted paths to ranges"
    elif not ranges:
        where, message = "ranges", "is empty: it lists no parameter"
    else:
        where = message = None
    if message is not None:
        raise ScenarioError.single(path, where, message, "ranges: {dotted.path: {low, high, source}, ...}")
    problems = []
    for key, entry in data["ranges"].items():
        problems += check_entry(str(key), entry)
    if problems:
        raise ScenarioError(path, problems)
    return {str(k): UncertainRange(str(k), float(e["low"]), float(e["high"]), e["source"].strip(),
                                   bool(e.get("calibrate", False)))
            for k, e in data["ranges"].items()}


__all__ = ["UNCERTAINTY_FILE", "UncertainRange", "check_entry", "read_uncertainty"]
