"""Experimental designs: which parameter values a sweep runs.

A design is a list of *points*; each point maps dotted scenario paths
(``banks.citic.referral.bonus``) to values.  It can be a full factorial grid,
a Latin hypercube over ranges (McKay, Beckman & Conover 1979), rows of a CSV
file, or an explicit list.  A sweep YAML file says the same as the command
line (:func:`read_sweep_file`).

Every point is checked against the scenario schema before anything runs
(:func:`resolve_design`): an unknown path, a value of the wrong type or out of
range, and a range with ``low > high`` are reported together as one
:class:`~sim.errors.ScenarioError` naming the option or file they came from.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, ValidationError

from sim.errors import Problem, ScenarioError
from sim.inputs import read_text
from sim.scenario import Scenario, get_path, with_overrides
from sim.scenario.paths import parse_value
from sim.scenario.reading import parse_yaml_value
from sim.scenario.schema import Integer, Real

#: Entropy tag mixed with the sweep seed for the Latin hypercube, so that the
#: design's draws never coincide with a replication's stream.
LHS_STREAM_TAG = 0x4C4853  # "LHS"


@dataclass(frozen=True)
class Design:
    """The points of a sweep: one mapping of dotted path to value per point.

    Parameters
    ----------
    parameters : tuple of str
        The dotted paths varied, in column order.
    points : tuple of dict
        One ``{path: value}`` per design point; point ``d`` is ``points[d]``.
        Values are plain Python (JSON-serialisable) objects.
    kind : str
        How the design was made: ``grid``, ``lhs``, ``file``, ``points``,
        ``morris`` or ``sobol``; recorded in the manifest.
    source : str
        Where it came from (an option such as ``--grid`` or a file path), used
        in error messages.
    """

    parameters: tuple[str, ...]
    points: tuple[dict[str, Any], ...]
    kind: str = "points"
    source: str = "design"

    def __post_init__(self) -> None:
        for i, point in enumerate(self.points):
            assert tuple(point) == self.parameters, (
                f"point {i} has keys {list(point)}, expected {list(self.parameters)}"
            )

    def __len__(self) -> int:
        return len(self.points)

    def to_frame(self) -> pd.DataFrame:
        """The design as a table: a ``point`` column, then one column per parameter."""
        frame = pd.DataFrame([dict(p) for p in self.points], columns=list(self.parameters))
        frame.insert(0, "point", np.arange(len(self.points), dtype=np.int64))
        return frame

    def to_json(self) -> dict[str, Any]:
        """The design as the manifest stores it."""
        return {
            "kind": self.kind,
            "source": self.source,
            "parameters": list(self.parameters),
            "points": [dict(p) for p in self.points],
        }


# --------------------------------------------------------------------------- values and options
def _plain(value: Any) -> Any:
    """Turn numpy scalars and tuples into plain JSON-friendly Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _allowed_number(integer: bool, low: Any = None, high: Any = None, low_open: bool = False,
                    high_open: bool = False) -> str:
    """``an integer in the range [1, 100000]``, ``a finite number in the range (0, inf)``, in scikit-learn's words."""
    kind = "an integer" if integer else "a finite number"
    if low is None and high is None:
        return kind
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f"{kind} in the range {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"


def check_number(value: Any, option: str, *, low: float | None = None, high: float | None = None,
                 integer: bool = True, low_open: bool = False) -> Any:
    """Check a number given on the command line: finite, in ``[low, high]``, an integer when ``integer``.

    A bool, a non-number, a NaN or an infinity is refused too.  The error
    names ``option``, says what is allowed and what was given, e.g.
    ``--workers: must be an integer in the range [1, inf); got 0``.
    """
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer) if integer else (int, float, np.number))
    ok = ok and math.isfinite(value)
    ok = ok and (low is None or (value > low if low_open else value >= low)) and (high is None or value <= high)
    if not ok:
        allowed = _allowed_number(integer, low, high, low_open=low_open)
        raise ScenarioError.single(option, "", f"must be {allowed}; got {value!r}")
    return value


def check_scenario_number(field: str, value: Any, option: str) -> Any:
    """Check a value for a top-level scenario field (``replications``, ``seed``) by the schema's own rules.

    The field's type and bounds are read from :class:`~sim.scenario.Scenario`,
    so an option like ``--replications`` accepts exactly what the key of the
    same name in a scenario file accepts.
    """
    info = Scenario.model_fields[field]
    integer = info.annotation is int
    try:
        TypeAdapter(Annotated[info.annotation, *info.metadata]).validate_python(value, strict=integer)
    except ValidationError:
        bounds = {attr: getattr(item, attr) for item in info.metadata for attr in ("ge", "gt", "le", "lt")
                  if getattr(item, attr, None) is not None}
        allowed = _allowed_number(integer, bounds.get("ge", bounds.get("gt")), bounds.get("le", bounds.get("lt")),
                                  low_open="gt" in bounds, high_open="lt" in bounds)
        raise ScenarioError.single(option, "", f"must be {allowed} "
                                               f"(as the scenario key '{field}'); got {value!r}") from None
    return value


def split_assignment(text: str, option: str, *, empty_value: bool = False) -> tuple[str, str]:
    """Split ``PATH=VALUE`` at the first ``=``, stripping blanks; anything else is a ScenarioError.

    The one parser of command-line assignments (``--set``, ``--grid``,
    ``--lhs``, ``--param``).  ``empty_value`` accepts ``PATH=`` (an empty
    value, read later as YAML null).
    """
    path, sep, rhs = text.partition("=")
    path = path.strip()
    if not sep or not path or not (rhs.strip() or empty_value):
        example = "e.g. banks.citic.referral.bonus=" + ("100" if option == "--set" else "0,50,100")
        raise ScenarioError.single(option, text, "is not of the form PATH=VALUE", example)
    return path, rhs.strip()


def parse_assignments(items: Iterable[str] | None, option: str = "--set", *,
                      empty_value: bool = False) -> dict[str, str]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": "1", "c": "x"}``; values are parsed later, as YAML."""
    return dict(split_assignment(item, option, empty_value=empty_value) for item in items or [])


def parse_grid_option(text: str, option: str = "--grid") -> tuple[str, list[Any]]:
    """Parse ``PATH=V1,V2,...`` into a path and its list of values.

    Values are read as a YAML flow sequence by the strict reader
    (:func:`sim.scenario.reading.parse_yaml_value`), so ``0,50,100`` gives
    integers, ``true,false`` booleans and ``[1,1,0,0],[1,0,0,0]`` lists, and
    a duplicate key or runaway nesting is refused.  The values are checked
    against the schema later, with the design (:func:`resolve_design`).
    """
    path, rhs = split_assignment(text, option)
    values = parse_yaml_value(f"[{rhs}]", source=f"{option} {path}")
    if not isinstance(values, list):
        raise ScenarioError.single(
            option, path, f"cannot read the values {rhs!r}", "comma-separated values, e.g. 0,50,100"
        )
    if not values:
        raise ScenarioError.single(option, path, "has no values", "comma-separated values, e.g. 0,50,100")
    return path, values


def parse_range(path: str, low: Any, high: Any, option: str, strict: bool = False) -> tuple[float, float]:
    """Check one ``[low, high]`` range: both numbers, ``low <= high`` (``<`` when ``strict``)."""
    bounds = []
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, str):
            value = parse_value(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ScenarioError.single(
                option, path, f"{name} bound {value!r} is not a finite number", "LOW:HIGH with numbers"
            )
        bounds.append(float(value))
    low_f, high_f = bounds
    if low_f > high_f or (strict and low_f == high_f):
        relation = "<" if strict else "<="
        raise ScenarioError.single(
            option,
            path,
            f"low {low_f:g} > high {high_f:g}" if low_f > high_f else f"low equals high ({low_f:g})",
            f"LOW {relation} HIGH",
        )
    return low_f, high_f


def parse_range_option(text: str, option: str = "--lhs", strict: bool = False) -> tuple[str, tuple[float, float]]:
    """Parse ``PATH=LOW:HIGH`` into a path and a checked ``(low, high)``."""
    path, rhs = split_assignment(text, option)
    parts = rhs.split(":")
    if len(parts) != 2:
        raise ScenarioError.single(
            option, path, f"range {rhs!r} is not LOW:HIGH", "e.g. banks.citic.referral.rate=0.01:0.1"
        )
    return path, parse_range(path, parts[0].strip(), parts[1].strip(), option, strict=strict)


# --------------------------------------------------------------------------- builders
def grid_design(axes: Mapping[str, Sequence[Any]], source: str = "--grid") -> Design:
    """A full factorial design: every combination of the values of every axis.

    The last axis varies fastest, as in :func:`itertools.product`.
    """
    if not axes:
        raise ScenarioError.single(source, "", "no parameters to vary", "at least one PATH=V1,V2,...")
    for path, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ScenarioError.single(source, path, f"values {values!r} are not a non-empty list", "a list of values")
    paths = tuple(axes)
    points = tuple(dict(zip(paths, _plain(list(combo)), strict=True)) for combo in itertools.product(*axes.values()))
    return Design(paths, points, kind="grid", source=source)


def integer_paths(scenario: Scenario, paths: Sequence[str], source: str) -> set[str]:
    """Those of ``paths`` whose current value is an integer; a bool or text value is an error.

    Used by designs that draw real numbers (Latin hypercube, Morris, Sobol) so
    that integer parameters get integer values.  Paths that do not exist are
    left for :func:`resolve_design` to report.
    """
    integers, problems = set(), []
    for path in paths:
        try:
            current = get_path(scenario, path)
        except (AttributeError, KeyError, IndexError, ValueError, TypeError):
            continue
        if isinstance(current, bool) or not isinstance(current, (int, float, type(None))):
            problems.append(
                Problem(
                    path,
                    f"is a {type(current).__name__} ({current!r}), not a number, so it has no range",
                    "a numeric parameter; other values can only be listed one by one (python -m sim sweep --grid)",
                )
            )
        elif isinstance(current, int):
            integers.add(path)
    if problems:
        raise ScenarioError(source, problems)
    return integers


def points_from_matrix(matrix: np.ndarray, paths: Sequence[str], integers: set[str]) -> list[dict[str, Any]]:
    """Turn rows of a sample matrix (one column per path) into design points, rounding integer paths."""
    points = []
    for row in matrix:
        point = {}
        for value, path in zip(row, paths, strict=True):
            point[path] = int(round(float(value))) if path in integers else float(value)
        points.append(point)
    return points


def lhs_design(
    ranges: Mapping[str, tuple[float, float]],
    samples: int,
    seed: int,
    scenario: Scenario | None = None,
    source: str = "--lhs",
) -> Design:
    """A Latin hypercube of ``samples`` points over ``ranges`` (McKay et al. 1979).

    Parameters
    ----------
    ranges : mapping of path to (low, high)
        Bounds of each parameter; checked here.
    samples : int
        Number of design points.
    seed : int
        Seeds scipy's :class:`~scipy.stats.qmc.LatinHypercube` through
        ``SeedSequence([seed, LHS_STREAM_TAG])``, a stream distinct from the
        replications'.  The same seed gives the same design.
    scenario : Scenario, optional
        When given, parameters whose value is an integer are rounded.
    source : str
        Named in error messages.
    """
    if not ranges:
        raise ScenarioError.single(source, "", "no parameters to vary", "at least one PATH=LOW:HIGH")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ScenarioError.single(source, "--samples", f"got {samples!r}", "an integer >= 1")
    checked = {path: parse_range(path, lo, hi, source) for path, (lo, hi) in ranges.items()}
    integers = integer_paths(scenario, list(checked), source) if scenario is not None else set()
    from scipy.stats import qmc  # imported here: scipy.stats is slow to import and workers never need it

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), LHS_STREAM_TAG]))
    unit = qmc.LatinHypercube(d=len(checked), rng=rng).random(int(samples))
    lows = np.array([lo for lo, _ in checked.values()])
    highs = np.array([hi for _, hi in checked.values()])
    scaled = qmc.scale(unit, lows, highs) if np.all(highs > lows) else lows + unit * (highs - lows)
    points = points_from_matrix(scaled, list(checked), integers)
    return Design(tuple(checked), tuple(points), kind="lhs", source=source)


def points_design(points: Sequence[Mapping[str, Any]], source: str = "points", kind: str = "points") -> Design:
    """A design from explicit points, all with the same paths."""
    if not points:
        raise ScenarioError.single(source, "", "has no design points", "at least one row of values")
    paths = tuple(points[0])
    problems = []
    for i, point in enumerate(points):
        if tuple(point) != paths:
            problems.append(
                Problem(f"point {i}", f"sets {sorted(point)}", f"the same paths as point 0: {sorted(paths)}")
            )
    if problems:
        raise ScenarioError(source, problems)
    return Design(paths, tuple(_plain(dict(p)) for p in points), kind=kind, source=source)


def csv_design(path: str | Path) -> Design:
    """A design from a CSV file: a header of dotted paths, one row per point.

    Cells are read as YAML scalars (``0.3``, ``true``, ``[1, 1, 0, 0]``), as on
    the command line.  The file is read with :func:`sim.inputs.read_text`
    (a regular UTF-8 file; a byte-order mark is dropped); blank lines are
    skipped, and a bad row is reported at its line in the file.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    Design
        One point per row, of kind ``"file"``.

    Raises
    ------
    ScenarioError
        Naming the file (and the line), if it is missing, a folder, not a
        regular file, not UTF-8 text, not CSV, or has no rows or rows of the
        wrong length.
    """
    path = Path(path)
    allowed = "a CSV file with a header of dotted paths"
    if not path.exists():
        raise ScenarioError.single(path, "", "design file not found", allowed)
    text = read_text(path, allowed)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []   # (line in the file where the row starts, cells)
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ScenarioError.single(path, f"line {reader.line_num}", f"cannot be read as CSV: {exc}", allowed) from None
    if len(rows) < 2:
        raise ScenarioError.single(path, "", "has no design rows", "a header of dotted paths and at least one row")
    header = [h.strip() for h in rows[0][1]]
    problems = []
    if len(set(header)) != len(header) or any(not h for h in header):
        problems.append(Problem("header", f"columns {header} are empty or repeated", "distinct dotted paths"))
    points = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            problems.append(Problem(f"line {line}", f"has {len(row)} cells", f"{len(header)}, one per header column"))
            continue
        points.append({h: parse_value(cell.strip()) for h, cell in zip(header, row, strict=True)})
    if problems:
        raise ScenarioError(path, problems)
    return points_design(points, source=str(path), kind="file")


# --------------------------------------------------------------------------- checking
def resolve_design(scenario: Scenario, design: Design) -> list[Scenario]:
    """The validated scenario of every design point, or one error listing every problem.

    Problems that recur across points (a misspelt path fails every point) are
    reported once, with the points they affect.
    """
    if len(design) == 0:
        raise ScenarioError.single(design.source, "", "has no design points", "at least one point")
    scenarios: list[Scenario] = []
    found: dict[str, list[int]] = {}
    for d, point in enumerate(design.points):
        try:
            scenarios.append(with_overrides(scenario, point, source=design.source))
        except ScenarioError as exc:
            for problem in exc.problems:
                found.setdefault(problem.render(), []).append(d)
    if found:
        problems = []
        for text, points in found.items():
            which = ", ".join(str(p) for p in points[:5]) + (", ..." if len(points) > 5 else "")
            label = "every point" if len(points) == len(design) else f"point{'s' if len(points) > 1 else ''} {which}"
            problems.append(Problem("", f"{text} [at {label}]"))
        raise ScenarioError(design.source, problems)
    return scenarios


# --------------------------------------------------------------------------- sweep files
class SweepFile(BaseModel):
    """A sweep YAML: the same choices as the ``sweep`` command line.

    ``scenario`` and ``design`` paths are relative to the sweep file; ``out``
    is relative to the working directory, as on the command line.  Exactly
    one of ``grid``, ``lhs``, ``design`` and ``points`` is given.
    """

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(description="The scenario YAML, relative to this file.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Overrides applied to the scenario before the design."
    )
    grid: dict[str, list[Any]] | None = Field(None, description="Path -> list of values; every combination is run.")
    # Numbers as in the scenario schema: a yes/no value is refused, not read as 1 or 0.
    lhs: dict[str, tuple[Real, Real]] | None = Field(None, description="Path -> [low, high] for a Latin hypercube.")
    samples: Integer | None = Field(None, ge=1, description="Number of Latin hypercube points.")
    design: str | None = Field(None, description="A CSV design file, relative to this file.")
    points: list[dict[str, Any]] | None = Field(None, description="Explicit design points.")
    replications: Integer | None = Field(None, ge=1)
    seed: Integer | None = Field(None, ge=0)
    out: str | None = None
    workers: Integer | None = Field(None, ge=1)
    backend: Literal["pool", "serial"] | None = None
    scheduler: str | None = Field(None, description="tcp://HOST:PORT of a running Dask scheduler.")
    cluster: Literal["local"] | None = None

    # The file this was read from (resolved), for relative paths.
    _path: Path | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        """The sweep file this was read from, if any."""
        return self._path


def read_sweep_file(path: str | Path) -> SweepFile:
    """Read and check a sweep YAML; errors name the file and key."""
    from sim.scenario.loader import read_yaml, validation_problems

    path = Path(path)
    data = read_yaml(path)
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, data)
        for problem in problems:  # validation_problems knows the scenario schema, not this one
            if problem.message.startswith("unknown key"):
                problem.allowed = ", ".join(SweepFile.model_fields)
        raise ScenarioError(path, problems) from None
    given = [k for k in ("grid", "lhs", "design", "points") if getattr(spec, k) is not None]
    if len(given) > 1:
        raise ScenarioError.single(
            path, "", f"gives more than one design ({', '.join(given)})", "one of grid, lhs, design, points"
        )
    if spec.lhs is not None and spec.samples is None:
        raise ScenarioError.single(path, "samples", "is required with lhs", "an integer >= 1")
    if spec.lhs is None and spec.samples is not None:
        raise ScenarioError.single(path, "samples", "is for lhs only; with another design it would be ignored",
                                   "samples with lhs, or no samples")
    spec._path = path.resolve()
    return spec


def is_sweep_file(path: str | Path) -> bool:
    """Whether a YAML file is a sweep file (has ``scenario:``) rather than a scenario (has ``name:``)."""
    from sim.scenario.loader import read_yaml

    data = read_yaml(Path(path))
    return "scenario" in data and "name" not in data


def design_from_sweep_file(spec: SweepFile, scenario: Scenario, seed: int) -> Design | None:
    """The design a sweep file describes, or None when it gives none."""
    base = spec.path.parent if spec.path else Path.cwd()
    source = str(spec.path) if spec.path else "sweep file"
    if spec.grid is not None:
        return grid_design(spec.grid, source=f"{source} (grid)")
    if spec.lhs is not None:
        return lhs_design(spec.lhs, spec.samples, seed, scenario=scenario, source=f"{source} (lhs)")
    if spec.design is not None:
        return csv_design(base / spec.design)
    if spec.points is not None:
        return points_design(spec.points, source=f"{source} (points)")
    return None


__all__ = [
    "Design",
    "SweepFile",
    "check_number",
    "check_scenario_number",
    "csv_design",
    "design_from_sweep_file",
    "grid_design",
    "integer_paths",
    "is_sweep_file",
    "lhs_design",
    "parse_grid_option",
    "parse_range",
    "parse_range_option",
    "points_design",
    "points_from_matrix",
    "read_sweep_file",
    "resolve_design",
]
