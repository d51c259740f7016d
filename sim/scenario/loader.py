"""Loading scenario files: YAML, ``extends``, overrides, and clear errors.

:func:`load_scenario` is the one way in.  It reads the YAML (strictly, see
:mod:`sim.scenario.reading`), merges the chain of ``extends:`` files (child
keys override parent keys; mappings merge, lists and values replace, and so
does a mapping of another ``kind``), applies dotted-path overrides,
validates against :class:`~sim.scenario.schema.Scenario`, checks cross
references, the timeline and the network (its data files are read here, see
:mod:`sim.scenario.network_check`), and raises
:class:`~sim.errors.ScenarioError` naming the file that holds the bad value
(the parent, for an inherited one; see :mod:`sim.scenario.origins`), the key
path and what is allowed if anything is wrong.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.claims import check_claims, check_levers
from sim.scenario.game_check import check_game
from sim.scenario.network_check import check_network
from sim.scenario.origins import Origins, merges
from sim.scenario.paths import STRUCTURAL, parse_value, set_path
from sim.scenario.reading import read_yaml
from sim.scenario.references import check_references, product_kind_change
from sim.scenario.schema import Scenario
from sim.scenario.sources import check_sources
from sim.scenario.tree import allowed_keys

__all__ = ["read_yaml", "deep_merge", "resolve_extends", "validate_data", "validation_problems",
           "apply_overrides", "load_scenario", "with_overrides", "dump_resolved"]


def deep_merge(base: dict, override: Mapping) -> dict:
    """Merge ``override`` into a copy of ``base``: mappings merge, everything else replaces.

    A mapping whose ``kind`` differs from the one it overrides (another network
    generator, say) replaces it whole: the keys of the old kind mean nothing
    to the new one (see :func:`~sim.scenario.origins.merges`).
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if merges(merged.get(key), value):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_extends(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read ``path`` and merge it over the files it extends, recursively."""
    return _resolve(Path(path), _chain)[0]


def _resolve(path: Path, chain: tuple[Path, ...]) -> tuple[dict, Origins]:
    """The merged mapping of ``path`` and its ``extends`` chain, and which file each value comes from."""
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ScenarioError.single(path, "extends", f"extends itself through {cycle}", "a chain without cycles")
    data = read_yaml(path)
    parent = data.get("extends")
    _default_comparisons(data)
    if parent is None:
        return data, Origins.of(data, str(path))
    if not isinstance(parent, str):
        raise ScenarioError.single(path, "extends", f"got {parent!r}", "the path of another scenario file")
    parent_path = path.parent / parent
    if not parent.strip():
        raise ScenarioError.single(path, "extends", "is empty",
                                   "the path of another scenario file, relative to this file")
    if parent_path.is_dir():
        raise ScenarioError.single(path, "extends", f"'{parent}' is a folder, not a scenario file",
                                   "the path of another scenario file, relative to this file")
    if not parent_path.exists():
        raise ScenarioError.single(
            path, "extends", f"'{parent}' not found next to this file", "a path relative to this file"
        )
    if not parent_path.is_file():   # a device such as /dev/zero, a FIFO: refused before reading
        raise ScenarioError.single(path, "extends", f"'{parent}' is not a regular file (a device, FIFO or socket)",
                                   "the path of another scenario file")
    base, base_origins = _resolve(parent_path, (*chain, resolved))
    merged = deep_merge(base, data)
    origins = base_origins.merged(base, data, str(path))
    merged["extends"] = None
    for key, empty in (("description", ""), ("levers", []), ("claims", [])):   # said of this file, not inherited
        merged[key] = copy.deepcopy(data.get(key, empty))
        origins.children[key] = Origins(str(path))
    return merged, origins


def _default_comparisons(data: dict) -> None:
    """Give each claim without ``compare_to`` the file's ``extends`` parent (relative to the same folder)."""
    claims, parent = data.get("claims"), data.get("extends")
    if not isinstance(claims, list) or not isinstance(parent, str):
        return
    for claim in claims:
        if isinstance(claim, dict) and claim.get("compare_to") is None:
            claim["compare_to"] = parent


def _loc_to_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def validation_problems(exc: ValidationError, data: dict, prefix: str = "", separator: str = ".") -> list[Problem]:
    """Turn pydantic's errors into Problems with dotted paths and allowed values.

    Each path is put under ``prefix`` (joined by ``separator``): a block's
    key path, or a label such as ``events[0] (at step 3)`` with ``": "``.
    """
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # Discriminated unions add the tag as a location part; drop it.
        if len(loc) >= 2 and loc[0] == "network" and isinstance(loc[1], str) and loc[1] in (
            "erdos_renyi", "watts_strogatz", "barabasi_albert", "stochastic_block", "complete", "edge_list"):
            loc = loc[:1] + loc[2:]
        block = _loc_to_path(loc)
        path = block
        if prefix:
            path = f"{prefix}{separator}{path}" if path else prefix
        kind = err["type"]
        allowed = None
        if kind == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
            allowed = allowed_keys(Scenario, data, loc[:-1])
        elif kind == "missing":
            message = "is required"
        elif kind in ("model_type", "model_attributes_type"):   # pydantic names the class: say what the file holds
            message = f"should be a mapping (block '{block}')"
            if "input" in err and not isinstance(err["input"], (dict, list)):
                message += f", got {err['input']!r}"
            elif isinstance(err.get("input"), list):
                message += ", got a list"
            keys = allowed_keys(Scenario, {}, loc)
            allowed = f"a mapping with the keys {keys}" if keys else "a mapping of keys to values"
        else:
            message = err["msg"].removeprefix("Value error, ")   # a validator's own words, without pydantic's tag
            message = message[0].lower() + message[1:]
            if "input" in err and not isinstance(err["input"], (dict, list)):
                message += f", got {err['input']!r}"
            ctx = err.get("ctx") or {}
            if "expected" in ctx:
                allowed = str(ctx["expected"])
        problems.append(Problem(path, message, allowed))
    return problems


def validate_data(data: dict, source: str | Path | None, origins: Origins | None = None,
                  base_dir: Path | None = None) -> Scenario:
    """Validate a merged scenario mapping; raise ScenarioError listing every problem.

    Parameters
    ----------
    data : dict
        The merged raw mapping.
    source : str or Path or None
        The file (or option) the scenario comes from, named in errors.
    origins : Origins, optional
        Which file each value comes from (``extends`` parents, ``--set``); an
        error then names the file that holds the bad value.
    base_dir : Path, optional
        The folder data file paths (``network.path``) are relative to; the
        current directory if not given, as for a scenario with no file.
        Data files are read and checked here, so that a run or a sweep with
        a bad edge list fails before it starts.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _error(source, validation_problems(exc, data), origins) from None
    problems = check_references(scenario)
    problems += check_levers(scenario)
    problems += check_claims(scenario, base_dir)
    problems += check_sources(scenario.sources, base_dir)
    problems += _check_events(scenario, data)
    problems += check_game(scenario, data, validation_problems)
    if not problems:
        problems = check_network(scenario, base_dir)
    if problems:
        raise _error(source, problems, origins)
    return scenario


def _error(source: str | Path | None, problems: list[Problem], origins: Origins | None) -> ScenarioError:
    """A ScenarioError naming, for each problem, the file that holds the value at its key path."""
    if origins is None:
        return ScenarioError(source, problems)
    root = origins.source

    def label(file: str) -> str:
        if file == root or file.startswith(f"{root} ("):
            return file
        return f"{file} (extended by {Path(root).name})"

    files = [label(origins.find(p.path)) for p in problems]
    if len(set(files)) == 1:
        return ScenarioError(files[0], problems)
    for problem, file in zip(problems, files, strict=True):
        if file != root:
            problem.source = file
    return ScenarioError(root, problems)


def _blame_overrides(error: ScenarioError, raw: dict, origins: Origins, path: Path) -> ScenarioError:
    """``error``, with the ``--set`` assignments named on each problem they brought about inside a file's block.

    A block's own check (shares summing to 1) is reported at the block, which
    the file holds, though an override changed a value inside it: such a
    problem, absent when the file is validated without the overrides, says
    ``(after --set PATH=VALUE, ...)``.
    """
    if not origins.overrides:
        return error
    try:
        validate_data(raw, path, base_dir=path.resolve().parent)
        before: set[tuple[str, str]] = set()
    except ScenarioError as plain:
        before = {(p.path, p.message) for p in plain.problems}
    changed = False
    for problem in error.problems:
        file = origins.find(problem.path)
        written = [(where, value) for where, value, by in origins.overrides_within(problem.path) if by != file]
        if len(written) > 1:   # keep those without which the problem goes away
            written = [(where, value) for where, value in written
                       if not _schema_problem(apply_overrides(raw, {w: v for w, v in written if w != where}),
                                              problem)] or written
        if written and (problem.path, problem.message) not in before:
            problem.message += f" (after {', '.join(f'--set {p}={_as_text(v)}' for p, v in written)})"
            changed = True
    return ScenarioError(error.source, error.problems) if changed else error


def _schema_problem(data: dict, problem: Problem) -> bool:
    """Whether validating ``data`` against the schema reports ``problem`` (same key path and message)."""
    try:
        Scenario.model_validate(data)
    except ValidationError as exc:
        return any((p.path, p.message) == (problem.path, problem.message) for p in validation_problems(exc, data))
    return False


def _as_text(value: Any) -> str:
    """A value as it would be written after ``--set PATH=`` (``0.5``, ``true``, ``[1, 2]``, ``text``)."""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).removesuffix("\n...\n").strip()


def _check_events(scenario: Scenario, data: dict) -> list[Problem]:
    """Apply each event to a copy of the scenario so bad paths and values fail at load."""
    problems: list[Problem] = []
    state = copy.deepcopy(data)
    state["events"] = []
    for i, event in sorted(enumerate(scenario.events), key=lambda pair: pair[1].at):
        for path, value in event.set.items():
            if path.split(".")[0] in STRUCTURAL or product_kind_change(scenario, "", path, value):
                continue   # check_references reports it: it cannot change during a run
            problem = set_path(state, path, value, Scenario)
            if problem is not None:
                problem.path = f"events[{i}].set.{problem.path}"
                problems.append(problem)
        try:
            Scenario.model_validate(state)
        except ValidationError as exc:
            problems += validation_problems(exc, state, prefix=f"events[{i}] (at step {event.at})",
                                            separator=": ")
    return problems


def apply_overrides(data: dict, overrides: Mapping[str, Any] | None, source: str = "--set",
                    origins: Origins | None = None) -> dict:
    """Return a copy of ``data`` with dotted-path overrides applied; strings are parsed as YAML.

    With ``origins``, each value set is recorded as coming from ``source``.
    """
    data = copy.deepcopy(data)
    problems = []
    for path, value in (overrides or {}).items():
        if isinstance(value, str):
            try:
                value = parse_value(value, source)
            except ScenarioError as exc:
                problems += [Problem(path, p.message, p.allowed) for p in exc.problems]
                continue
        problem = set_path(data, path, value, Scenario)
        if problem is not None:
            problems.append(problem)
        elif origins is not None:
            origins.set(path.split("."), value, source)
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
        Naming the file, the key path and what is allowed; also when a
        claim's ``compare_to`` file does not load (named
        ``claims[i].compare_to``, with that file's own problems).
    """
    path = Path(path)
    visited = _VISITED.get()
    token = _VISITED.set({}) if visited is None else None
    try:
        visited = _VISITED.get()
        visited.setdefault(path.resolve(), None)   # a comparison that leads back here is this very load
        raw, origins = _resolve(path, ())
        data = apply_overrides(raw, overrides, source=f"{path} (--set)", origins=origins)
        try:
            scenario = validate_data(data, path, origins, base_dir=path.resolve().parent)
        except ScenarioError as exc:
            raise _blame_overrides(exc, raw, origins, path) from None
        problems = _check_comparisons(scenario, path, visited)
    finally:
        if token is not None:
            _VISITED.reset(token)
    if problems:
        raise ScenarioError(path, problems)
    scenario._source = path.resolve()
    return scenario


#: The files loaded by the outermost :func:`load_scenario` call running, and the error of each (None: it loads,
#: or is being loaded), so that claims' comparison files are loaded once each, cycles included.
_VISITED: ContextVar[dict[Path, ScenarioError | None] | None] = ContextVar("sim_scenario_visited", default=None)


def _check_comparisons(scenario: Scenario, path: Path, visited: dict[Path, ScenarioError | None]) -> list[Problem]:
    """The problems of each claim's ``compare_to`` file that does not load, named ``claims[i].compare_to``.

    Each comparison file is loaded (with its own ``extends`` chain and its
    own claims' comparisons) once per outermost load; a file already being
    loaded further up (a cycle of comparisons) is not loaded again.
    Missing files are reported by :func:`~sim.scenario.claims.check_claims`.
    """
    problems: list[Problem] = []
    for i, claim in enumerate(scenario.claims):
        target = path.parent / claim.compare_to if claim.compare_to is not None else None
        if target is None or not target.is_file():
            continue
        key = target.resolve()
        if key not in visited:
            visited[key] = None
            try:
                load_scenario(target)
            except ScenarioError as exc:
                visited[key] = exc
        error = visited[key]
        if error is not None:
            problems += [Problem(f"claims[{i}].compare_to", f"'{claim.compare_to}' is not a valid scenario: "
                                 f"{error.source}: {problem.render()}") for problem in error.problems]
    return problems


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any], source: str = "--set") -> Scenario:
    """A validated copy of ``scenario`` with dotted-path overrides applied."""
    data = apply_overrides(scenario.model_dump(mode="python"), overrides, source=source)
    origin = getattr(scenario, "_source", None)
    result = validate_data(data, source, base_dir=Path(origin).parent if origin else None)
    result._source = origin
    return result


def dump_resolved(scenario: Scenario) -> str:
    """The scenario with every default filled in, as YAML.

    The result is self-contained: its ``extends`` is null, since every value
    of the chain is already merged in (a path kept there would be relative
    to a folder the resolved file is not in).
    """
    data = scenario.model_dump(mode="json")
    data["extends"] = None
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
