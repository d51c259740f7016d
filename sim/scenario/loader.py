"""Loading scenario files: YAML, ``extends``, overrides, and clear errors.

:func:`load_scenario` is the one way in.  It reads the YAML, merges the chain
of ``extends:`` files (child keys override parent keys; mappings merge,
lists and values replace, and so does a mapping of another ``kind``),
applies dotted-path overrides, validates against
:class:`~sim.scenario.schema.Scenario`, checks cross references and the
timeline, and raises :class:`~sim.errors.ScenarioError` naming the file, the
key path and what is allowed if anything is wrong.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.paths import _strip, parse_value, set_path
from sim.scenario.references import check_references
from sim.scenario.schema import Scenario


def read_yaml(path: Path) -> dict:
    """Read one YAML mapping, turning I/O and syntax errors into ScenarioError."""
    if not path.exists():
        raise ScenarioError.single(path, "", "file not found", "a path to an existing .yaml file")
    if path.is_dir():
        raise ScenarioError.single(path, "", "is a directory", "a path to a .yaml file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError.single(path, where, f"malformed YAML: {problem}", "valid YAML") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError.single(path, "", f"the top level is a {type(data).__name__}", "a mapping of keys to values")
    return data


def deep_merge(base: dict, override: Mapping) -> dict:
    """Merge ``override`` into a copy of ``base``: mappings merge, everything else replaces.

    A mapping whose ``kind`` differs from the one it overrides (another network
    generator, say) replaces it whole: the keys of the old kind mean nothing
    to the new one.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(value, Mapping) and isinstance(old, dict) and value.get("kind", old.get("kind")) == old.get("kind"):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_extends(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read ``path`` and merge it over the files it extends, recursively."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, path))
        raise ScenarioError.single(path, "extends", f"extends itself through {cycle}", "a chain without cycles")
    data = read_yaml(path)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError.single(path, "extends", f"got {parent!r}", "the path of another scenario file")
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        raise ScenarioError.single(path, "extends", f"'{parent}' not found next to this file", "a path relative to this file")
    merged = deep_merge(resolve_extends(parent_path, (*_chain, path)), data)
    merged["extends"] = None
    merged["description"] = data.get("description", "")
    return merged


def _loc_to_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _allowed_keys(loc: tuple, data: Any) -> str | None:
    """The field names of the block that an unknown key at ``loc`` sits in."""
    annotation: Any = Scenario
    node = data
    for part in loc[:-1]:
        annotation = _strip(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        else:
            args = getattr(annotation, "__args__", ())
            if getattr(annotation, "__origin__", None) is dict:
                annotation = args[1]
            elif getattr(annotation, "__origin__", None) is list:
                annotation = args[0]
            else:
                from sim.scenario.paths import _model_for_union

                annotation = _model_for_union(annotation, node)
                if annotation is None:
                    return None
                field = annotation.model_fields.get(part)
                if field is None:
                    return None
                annotation = field.annotation
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    annotation = _strip(annotation)
    if getattr(annotation, "__origin__", None) is not None and not isinstance(annotation, type):
        from sim.scenario.paths import _model_for_union

        annotation = _model_for_union(annotation, node) or annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ", ".join(sorted(annotation.model_fields))
    return None


def validation_problems(exc: ValidationError, data: dict, prefix: str = "") -> list[Problem]:
    """Turn pydantic's errors into Problems with dotted paths and allowed values."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # Discriminated unions add the tag as a location part; drop it.
        if len(loc) >= 2 and loc[0] == "network" and isinstance(loc[1], str) and loc[1] in (
            "erdos_renyi", "watts_strogatz", "barabasi_albert", "stochastic_block", "complete", "edge_list"):
            loc = loc[:1] + loc[2:]
        path = _loc_to_path(loc)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        kind = err["type"]
        allowed = None
        if kind == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
            allowed = _allowed_keys(loc, data)
        elif kind == "missing":
            message = "is required"
        else:
            message = err["msg"][0].lower() + err["msg"][1:]
            if "input" in err and not isinstance(err["input"], (dict, list)):
                message += f", got {err['input']!r}"
            ctx = err.get("ctx") or {}
            if "expected" in ctx:
                allowed = str(ctx["expected"])
        problems.append(Problem(path, message, allowed))
    return problems


def validate_data(data: dict, source: str | Path | None) -> Scenario:
    """Validate a merged scenario mapping; raise ScenarioError listing every problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, validation_problems(exc, data)) from None
    problems = check_references(scenario)
    problems += _check_events(scenario, data)
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _check_events(scenario: Scenario, data: dict) -> list[Problem]:
    """Apply each event to a copy of the scenario so bad paths and values fail at load."""
    problems: list[Problem] = []
    state = copy.deepcopy(data)
    state["events"] = []
    for i, event in sorted(enumerate(scenario.events), key=lambda pair: pair[1].at):
        for path, value in event.set.items():
            problem = set_path(state, path, value, Scenario)
            if problem is not None:
                problem.path = f"events[{i}].set.{problem.path}"
                problems.append(problem)
        try:
            Scenario.model_validate(state)
        except ValidationError as exc:
            problems += validation_problems(exc, state, prefix=f"events[{i}] (at step {event.at}) ->")
    return problems


def apply_overrides(data: dict, overrides: Mapping[str, Any] | None, source: str = "--set") -> dict:
    """Return a copy of ``data`` with dotted-path overrides applied; strings are parsed as YAML."""
    data = copy.deepcopy(data)
    problems = []
    for path, value in (overrides or {}).items():
        if isinstance(value, str):
            value = parse_value(value)
        problem = set_path(data, path, value, Scenario)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise ScenarioError(source, problems)
    return data


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, merge, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The scenario YAML.  ``extends:`` paths are relative to it.
    overrides : mapping of dotted path to value, optional
        Applied after ``extends`` and before validation, e.g.
        ``{"banks.citic.referral.bonus": 100}``.  String values are parsed
        as YAML scalars, as on the command line.

    Returns
    -------
    Scenario
        The validated scenario, with ``source`` set to the file it came from.

    Raises
    ------
    ScenarioError
        Naming the file, the key path and what is allowed.
    """
    path = Path(path)
    data = resolve_extends(path)
    data = apply_overrides(data, overrides, source=f"{path} (--set)")
    scenario = validate_data(data, path)
    scenario._source = path.resolve()
    return scenario


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str = "--set") -> Scenario:
    """A validated copy of ``scenario`` with dotted-path overrides applied."""
    data = apply_overrides(scenario.model_dump(mode="python"), overrides, source=source)
    result = validate_data(data, source)
    result._source = getattr(scenario, "_source", None)
    return result


def dump_resolved(scenario: Scenario) -> str:
    """The scenario with every default filled in, as YAML."""
    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
