"""Calibration targets and priors: ``scenarios/targets.yaml`` and ``scenarios/uncertainty.yaml``.

A targets file says which facts the model must reproduce together and which
shared parameters may move to do so::

    parameters:                       # what is fitted, and the prior range of each
      uncertainty: uncertainty.yaml   # optional: ranges and sources of the uncertain shared parameters
      calibrate: [credit.peer_effect] # fit these from that file (calibrate: true there does the same)
      priors:                         # ranges given here (override the file's)
        funnel.interest: {low: 0.3, high: 0.7, source: "assumption: ..."}
    replications: 4                   # per scenario and parameter set (default 4)
    seed: 20241                       # seeds the runs and the sampler
    targets:
      - id: sf3_clicks_per_employee
        source: SF3                   # an id of docs/sources.md
        scenario: employee_self_media.yaml   # relative to this file
        metric: clicks_per_employee   # one of sim.experiments.target_metrics.METRICS
        args: {institution: citic}
        value: 84.3
        uncertainty: {sd: 8.4, basis: assumption, note: "±10% band of the scenario test"}
        horizon: 4                    # optional: time.steps of the run
        set: {population.size: 3000}  # optional: overrides of this target's run
        held_out: false               # true: not fitted, predicted (pattern-oriented validation)

Loading checks everything before a run: the schema (strict, every error names
the file and the key path), that each source id has an entry in
``docs/sources.md`` (found beside the targets file's folder), that each
scenario file exists and loads with the target's overrides and the
parameters, that each metric is declared and gets the arguments it needs,
that priors have ``low < high``, and that at least one target is fitted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.errors import Problem, ScenarioError
from sim.scenario.sources import find_sources, sorted_ids, source_ids
from sim.scenario.uncertainty import read_uncertainty

#: Ids of facts: stylized facts of the source articles, and external facts.
SOURCE_ID = re.compile(r"^(?:SF|EF)\d+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class Uncertainty(_Strict):
    """How far from the target value the model may be: one standard deviation."""

    sd: float = Field(..., gt=0, allow_inf_nan=False, description="Standard deviation of the target value (> 0).")
    basis: Literal["source", "assumption"] = Field(
        ..., description="Whether the sd comes from the source (a reported error) or is a stated assumption.")
    note: str = Field("", description="How the sd was chosen.")


class TargetSpec(_Strict):
    """One fact the model is held against."""

    id: str = Field(..., pattern=r"^[a-z0-9_]+$", description="Short unique name (lower case, digits, _).")
    source: str = Field(..., description="Id of the fact in docs/sources.md (SF… or EF…).")
    scenario: str = Field(..., description="Library scenario file the fact is measured in (relative to this file).")
    metric: str = Field(..., description="A declared target metric (see docs/calibration.md).")
    args: dict[str, str] = Field(default_factory=dict, description="Arguments of the metric (institution, ...).")
    value: float = Field(..., allow_inf_nan=False, description="The target value, in the metric's unit.")
    uncertainty: Uncertainty
    horizon: int | None = Field(None, ge=1, description="time.steps of the run; null = the scenario's.")
    set: dict[str, Any] = Field(default_factory=dict, description="Overrides of this target's run (dotted paths).")
    held_out: bool = Field(False, description="Not fitted: the calibrated model's prediction is reported.")

    @field_validator("source")
    @classmethod
    def _source_id(cls, value: str) -> str:
        if not SOURCE_ID.match(value):
            raise ValueError(f"{value!r} is not an SF or EF id")
        return value


class PriorSpec(_Strict):
    """The prior range of one fitted parameter (uniform on [low, high])."""

    low: float = Field(..., allow_inf_nan=False, description="Lower end of the prior range.")
    high: float = Field(..., allow_inf_nan=False, description="Upper end (> low).")
    source: str = Field("assumption", description="Where the range comes from (an SF/EF id or 'assumption: ...').")


class ParametersSpec(_Strict):
    """Which shared parameters are fitted, with their prior ranges."""

    uncertainty: str | None = Field(None, description="uncertainty.yaml with ranges (relative to this file).")
    calibrate: list[str] = Field(default_factory=list, description="Paths of that file to fit.")
    priors: dict[str, PriorSpec] = Field(default_factory=dict, description="Ranges given here, by dotted path.")


class TargetsFile(_Strict):
    """A targets file (``scenarios/targets.yaml``)."""

    parameters: ParametersSpec
    replications: int = Field(4, ge=1, le=1000, description="Replications per scenario and parameter set.")
    seed: int = Field(20241, ge=0, description="Seeds the runs (common random numbers) and the sampler.")
    targets: list[TargetSpec] = Field(..., min_length=1)


@dataclass(frozen=True)
class Prior:
    """A fitted parameter: dotted path and uniform prior range."""

    path: str
    low: float
    high: float
    source: str = "assumption"


@dataclass
class Targets:
    """A checked targets file: the targets, the fitted parameters' priors, and where it came from."""

    path: Path
    targets: list[TargetSpec]
    priors: list[Prior]
    replications: int
    seed: int
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def fitted(self) -> list[TargetSpec]:
        return [t for t in self.targets if not t.held_out]

    @property
    def held_out(self) -> list[TargetSpec]:
        return [t for t in self.targets if t.held_out]

    def scenario_path(self, target: TargetSpec) -> Path:
        return (self.path.parent / target.scenario).resolve()

    def digest(self) -> str:
        """SHA-256 of the checked content: equal iff targets, priors and settings are equal."""
        text = json.dumps({"targets": [t.model_dump(mode="json") for t in self.targets],
                           "priors": [p.__dict__ for p in self.priors],
                           "replications": self.replications, "seed": self.seed}, sort_keys=True, default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- targets.yaml
def _loc_to_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _schema_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            problems.append(Problem(_loc_to_path(loc), f"unknown key '{loc[-1]}'"))
            continue
        if kind in ("model_type", "model_attributes_type"):   # pydantic names the class: say what the file holds
            message = "should be a mapping of keys to values"
        else:
            message = "is required" if kind == "missing" else err["msg"][0].lower() + err["msg"][1:]
        if kind != "missing" and "input" in err and not isinstance(err["input"], (dict, list)):
            message += f", got {err['input']!r}"
        problems.append(Problem(_loc_to_path(loc), message))
    return problems


def _priors(spec: ParametersSpec, base: Path, source: Path) -> tuple[list[Prior], list[Problem]]:
    problems: list[Problem] = []
    priors: dict[str, Prior] = {}
    if spec.uncertainty is not None:
        file = base / spec.uncertainty
        if not file.is_file():
            problems.append(Problem("parameters.uncertainty", f"file {spec.uncertainty} not found",
                                    "a path relative to the targets file"))
        else:
            listed = read_uncertainty(file)
            wanted = list(spec.calibrate) + [p for p, entry in listed.items() if entry.calibrate]
            for i, p in enumerate(spec.calibrate):
                if p not in listed:
                    problems.append(Problem(f"parameters.calibrate[{i}]", f"{p!r} is not in {spec.uncertainty}",
                                            ", ".join(listed) or "none listed"))
            for p in wanted:
                if p in listed:
                    priors[p] = Prior(p, listed[p].low, listed[p].high, listed[p].source)
    elif spec.calibrate:
        problems.append(Problem("parameters.calibrate", "needs parameters.uncertainty (the file with the ranges)"))
    for p, prior in spec.priors.items():
        if not prior.low < prior.high:
            problems.append(Problem(f"parameters.priors.{p}.low", f"low {prior.low} is not below high {prior.high}",
                                    "low < high"))
            continue
        priors[p] = Prior(p, prior.low, prior.high, prior.source)
    if not priors and not problems:
        problems.append(Problem("parameters", "no parameter to fit", "parameters.priors or parameters.calibrate"))
    return list(priors.values()), problems


def load_targets(path: str | Path, sources: str | Path | None = None, *, check_scenarios: bool = True,
                 metrics: Sequence[str] | None = None) -> Targets:
    """Read and check a targets file; a ScenarioError names the file and key path of every problem.

    Parameters
    ----------
    path : path
        The targets YAML.
    sources : path, optional
        The sources file whose ids are allowed; default ``docs/sources.md``
        found from the targets file's folder upwards.  Without one, ids are
        checked for their form only.
    check_scenarios : bool
        Load each target's scenario with its overrides and every prior's
        bounds (so that a bad path or value fails before any run), and check
        that the metric's arguments (an institution, a platform) name one of
        the scenario's.
    metrics : sequence of str, optional
        Metric names allowed; default the declared target metrics.
    """
    from sim.experiments.target_metrics import check_metric, check_metric_args
    from sim.scenario.reading import read_yaml

    path = Path(path)
    data = read_yaml(path)
    try:
        spec = TargetsFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(path, _schema_problems(exc)) from None
    base = path.resolve().parent
    priors, problems = _priors(spec.parameters, base, path)
    sources = Path(sources) if sources is not None else find_sources(base)
    known = source_ids(sources) if sources is not None and Path(sources).is_file() else None
    seen: set[str] = set()
    for i, target in enumerate(spec.targets):
        where = f"targets[{i}]"
        if target.id in seen:
            problems.append(Problem(f"{where}.id", f"{target.id!r} is used twice", "unique ids"))
        seen.add(target.id)
        if known is not None and target.source not in known:
            problems.append(Problem(f"{where}.source", f"{target.source!r} has no entry in {sources.name}",
                                    ", ".join(sorted_ids(known))))
        problem = check_metric(target.metric, target.args, allowed=metrics)
        if problem is not None:
            problems.append(Problem(f"{where}.{problem.path}", problem.message, problem.allowed))
        scenario_file = base / target.scenario
        if not scenario_file.is_file():
            problems.append(Problem(f"{where}.scenario", f"file {target.scenario} not found",
                                    "a scenario file relative to the targets file"))
        elif check_scenarios and not problems:
            for bound in ("low", "high"):
                overrides = {**target_overrides(target), **{p.path: getattr(p, bound) for p in priors}}
                try:
                    from sim.scenario import load_scenario

                    scenario = load_scenario(scenario_file, overrides)
                except ScenarioError as exc:
                    problems += [Problem(f"{where} ({target.scenario} with the priors' {bound} ends)",
                                         p.render()) for p in exc.problems]
                    break
                problem = check_metric_args(target.metric, target.args, scenario) if metrics is None else None
                if problem is not None:   # an institution or platform the scenario does not have
                    problems.append(Problem(f"{where}.{problem.path}", f"{problem.message} (in {target.scenario})",
                                            problem.allowed))
                    break
    if not any(not t.held_out for t in spec.targets):
        problems.append(Problem("targets", "every target is held out", "at least one with held_out: false"))
    if problems:
        raise ScenarioError(path, problems)
    return Targets(path.resolve(), list(spec.targets), priors, spec.replications, spec.seed, raw=data)


def target_overrides(target: TargetSpec) -> dict[str, Any]:
    """The overrides of a target's run: its ``set`` and its horizon."""
    overrides = dict(target.set)
    if target.horizon is not None:
        overrides["time.steps"] = target.horizon
    return overrides


__all__ = ["Prior", "Targets", "TargetSpec", "find_sources", "load_targets", "source_ids",
           "target_overrides"]
