"""The declared metrics a calibration target can name: one number per replication, from its tables.

Each metric reads one replication's output tables (see results/README.md)
and its scenario, and returns a float.  They measure the facts the way the
library's scenario tests measure them (``tests/scenarios``,
``tests/validation``), so a calibrated model passes those tests' measures:

- ``clicks_per_employee(institution)`` — SF3: touches through the employee
  channel over the run / the institution's ``employee_media.employees``.
- ``conversion_per_click(institution)`` — SF3: employee-channel new customers
  over employee-channel touches.
- ``annual_retention(institution)`` — SF8: one minus the per-step churn
  hazard (``churned`` over customers at the step before), to the power of
  steps per year.
- ``cards_per_user_half_year(platform)`` — SF9: credit-product activations
  through ``platform:<platform>`` (funnel) per half-year per platform user.
- ``default_ratio_inside_outside(institution)`` — SF1: default rate per
  loan-step of the lender's loans inside sanctioning communities over the
  rate outside (credit table).
- ``p2p_failure_share`` — SF13: share of P2P platforms failed at the final step.
- ``referred_value_premium`` — EF1: margin earned per acquired relationship
  by referral cohorts over that of the other acquired cohorts, minus one
  (cohorts table; not measurable on tables without it).
- ``peer_repayment_effect`` — EF2: how much less likely to repay over a loan
  term a borrower whose neighbours all default is than one with none in
  default: ``(1 - h)^L - (1 - h (1 + peer_effect))^L`` with ``h`` the run's
  per-step default hazard without contagion (market table) and ``L`` the
  first credit product's term.
- ``key:<column>`` — any column of :func:`sim.experiments.metrics.key_metrics`
  (e.g. ``key:default_rate (run)``), the reducer comparisons use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sim.errors import Problem
from sim.experiments.metrics import final_rows, key_metrics, run_rows

Tables = Mapping[str, pd.DataFrame]

#: Steps per year of each time unit.
STEPS_PER_YEAR = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}


class MetricUnavailable(ValueError):
    """The tables of a run cannot give the metric (a table or column it needs is not there)."""


def banks(scenario) -> list[str]:
    """The scenario's banks (the institutions with employees and an employee channel)."""
    return list(scenario.banks)


def platforms(scenario) -> list[str]:
    """The scenario's platforms."""
    return list(scenario.platforms)


def institutions(scenario) -> list[str]:
    """The scenario's banks and platforms: the rows of the institutions, channels and credit tables."""
    return [*scenario.banks, *scenario.platforms]


@dataclass(frozen=True)
class TargetMetric:
    """A declared metric: its function, the arguments it needs, and its unit.

    ``choices`` gives, for each argument, the names it may take in a
    scenario (``scenario -> list of str``), checked when a targets file is
    loaded (:func:`check_metric_args`).
    """

    name: str
    fn: Callable[..., float]
    args: tuple[str, ...]
    unit: str
    fact: str
    choices: Mapping[str, Callable[..., list[str]]] = field(default_factory=dict)


def _table(tables: Tables, name: str) -> pd.DataFrame:
    frame = tables.get(name)
    if frame is None:
        raise MetricUnavailable(f"the run wrote no {name} table")
    return frame


def _employee(tables: Tables, institution: str, column: str) -> float:
    ch = run_rows(_table(tables, "channels"))
    mask = (ch["institution"] == institution) & (ch["channel"] == "employee")
    return float(ch.loc[mask, column].sum())


def clicks_per_employee(tables: Tables, scenario, institution: str) -> float:
    employees = round(scenario.banks[institution].employee_media.staff_share * scenario.population.size)
    return _employee(tables, institution, "touches") / employees if employees else float("nan")


def conversion_per_click(tables: Tables, scenario, institution: str) -> float:
    touches = _employee(tables, institution, "touches")
    return _employee(tables, institution, "new_customers") / touches if touches else float("nan")


def annual_retention(tables: Tables, scenario, institution: str) -> float:
    inst = _table(tables, "institutions")
    rows = inst[inst["institution"] == institution].sort_values("step")
    at_risk = rows["customers"].shift(1).iloc[1:].sum()
    if at_risk <= 0:
        return float("nan")
    hazard = rows["churned"].iloc[1:].sum() / at_risk
    return float((1.0 - hazard) ** STEPS_PER_YEAR[scenario.time.unit])


def cards_per_user_half_year(tables: Tables, scenario, platform: str) -> float:
    funnel = _table(tables, "funnel")
    credit_products = [pid for pid, p in scenario.products.items() if p.kind == "credit"]
    mask = ((funnel["stage"] == "active") & (funnel["channel"] == f"platform:{platform}")
            & funnel["product"].isin(credit_products))
    cards = float(funnel.loc[mask, "reached"].sum())
    users = scenario.platforms[platform].users * scenario.population.size
    half_years = scenario.time.steps / (STEPS_PER_YEAR[scenario.time.unit] / 2)
    return cards / half_years / users if users else float("nan")


def default_ratio_inside_outside(tables: Tables, scenario, institution: str) -> float:
    credit = _table(tables, "credit")
    mine = credit[credit["institution"] == institution].groupby("inside_community")[["defaults", "loans_at_risk"]].sum()
    if True not in mine.index or False not in mine.index:
        return float("nan")
    inside = mine.loc[True, "defaults"] / mine.loc[True, "loans_at_risk"]
    outside = mine.loc[False, "defaults"] / mine.loc[False, "loans_at_risk"]
    return float(inside / outside) if outside > 0 else float("nan")


def p2p_failure_share(tables: Tables, scenario) -> float:
    last = final_rows(_table(tables, "institutions"))
    if "type" not in last or "failed" not in last:
        raise MetricUnavailable("the institutions table has no type/failed columns")
    p2p = last[last["type"] == "p2p"]
    return float(p2p["failed"].astype(float).mean()) if len(p2p) else float("nan")


def referred_value_premium(tables: Tables, scenario) -> float:
    cohorts = tables.get("cohorts")
    if cohorts is None or not {"cohort", "channel", "acquired", "margin", "age"} <= set(cohorts.columns):
        raise MetricUnavailable("needs the cohorts table (cohort, channel, age, acquired, margin)")
    won = cohorts[cohorts["cohort"] > 0]
    keys = ["cohort", "institution", "channel", "product"]
    acquired = won[won["age"] == 0].groupby(keys)["acquired"].first()
    margin = won.groupby(keys)["margin"].sum()
    by = pd.DataFrame({"acquired": acquired, "margin": margin}).fillna(0.0)
    referred = by.xs("referral", level="channel") if "referral" in by.index.get_level_values("channel") else None
    others = by[by.index.get_level_values("channel") != "referral"]
    if referred is None or referred["acquired"].sum() <= 0 or others["acquired"].sum() <= 0:
        return float("nan")
    per_referred = referred["margin"].sum() / referred["acquired"].sum()
    per_other = others["margin"].sum() / others["acquired"].sum()
    return float(per_referred / per_other - 1.0) if per_other > 0 else float("nan")


def peer_repayment_effect(tables: Tables, scenario) -> float:
    market = _table(tables, "market").sort_values("step")
    if not {"borrowers", "new_defaults", "contagion_defaults"} <= set(market.columns):
        raise MetricUnavailable("the market table has no borrowers/new_defaults/contagion_defaults")
    at_risk = market["borrowers"].shift(1).iloc[1:].sum()
    if at_risk <= 0:
        return float("nan")
    own = (market["new_defaults"] - market["contagion_defaults"]).iloc[1:].sum()
    hazard = own / at_risk
    terms = [p.loan.term for p in scenario.products.values() if p.kind == "credit" and getattr(p, "loan", None)]
    term = terms[0] if terms else 12
    peer = scenario.credit.peer_effect
    return float((1 - hazard) ** term - max(0.0, 1 - hazard * (1 + peer)) ** term)


#: The declared target metrics, by name.
METRICS: dict[str, TargetMetric] = {m.name: m for m in (
    TargetMetric("clicks_per_employee", clicks_per_employee, ("institution",), "clicks per employee", "SF3",
                 {"institution": banks}),
    TargetMetric("conversion_per_click", conversion_per_click, ("institution",), "share", "SF3",
                 {"institution": banks}),
    TargetMetric("annual_retention", annual_retention, ("institution",), "share per year", "SF8",
                 {"institution": institutions}),
    TargetMetric("cards_per_user_half_year", cards_per_user_half_year, ("platform",), "cards per user", "SF9",
                 {"platform": platforms}),
    TargetMetric("default_ratio_inside_outside", default_ratio_inside_outside, ("institution",), "ratio", "SF1",
                 {"institution": institutions}),
    TargetMetric("p2p_failure_share", p2p_failure_share, (), "share", "SF13"),
    TargetMetric("referred_value_premium", referred_value_premium, (), "relative", "EF1"),
    TargetMetric("peer_repayment_effect", peer_repayment_effect, (), "probability", "EF2"),
)}

KEY_PREFIX = "key:"


def check_metric(name: str, args: Mapping[str, str], allowed: Sequence[str] | None = None) -> Problem | None:
    """None if ``name`` with ``args`` is a metric a target may name, else the Problem (path relative to the target)."""
    names = list(allowed) if allowed is not None else list(METRICS)
    if allowed is None and name.startswith(KEY_PREFIX) and len(name) > len(KEY_PREFIX):
        return None if not args else Problem("args", "key: metrics take no arguments")
    if name not in names:
        return Problem("metric", f"unknown metric {name!r}",
                       ", ".join(names) + (", key:<key metric column>" if allowed is None else ""))
    if allowed is not None:
        return None
    wanted = set(METRICS[name].args)
    if set(args) != wanted:
        return Problem("args", f"{name} takes {sorted(wanted) or 'no arguments'}, got {sorted(args)}",
                       ", ".join(sorted(wanted)) or "{}")
    return None


def check_metric_args(name: str, args: Mapping[str, str], scenario) -> Problem | None:
    """None if each argument of metric ``name`` names something in ``scenario``, else the Problem.

    Parameters
    ----------
    name : str
        A metric that :func:`check_metric` accepted.
    args : mapping of str to str
        Its arguments (an institution, a platform).
    scenario : Scenario
        The target's scenario, validated.

    Returns
    -------
    Problem or None
        With the path ``args.<argument>`` (relative to the target) and the
        names allowed.
    """
    metric = METRICS.get(name)
    if metric is None:
        return None
    for arg, choices in metric.choices.items():
        allowed = choices(scenario)
        if arg in args and args[arg] not in allowed:
            what = {banks: "bank", platforms: "platform", institutions: "bank or platform"}.get(choices, arg)
            return Problem(f"args.{arg}", f"{name} needs a {what} of the scenario, got {args[arg]!r}",
                           ", ".join(allowed) or f"none: the scenario has no {what}")
    return None


def measure(name: str, args: Mapping[str, str], tables: Tables, scenario) -> float:
    """One replication's value of a metric (its tables only); MetricUnavailable when it cannot be had."""
    if name.startswith(KEY_PREFIX):
        column = name[len(KEY_PREFIX):]
        frame = key_metrics(tables)
        if column not in frame.columns:
            raise MetricUnavailable(f"no key metric {column!r} (there are: {', '.join(frame.columns)})")
        return float(frame[column].iloc[0])
    try:
        return float(METRICS[name].fn(tables, scenario, **args))
    except KeyError as exc:
        raise MetricUnavailable(f"{name}: no {exc} in the run") from None


__all__ = ["METRICS", "MetricUnavailable", "TargetMetric", "check_metric", "check_metric_args", "measure"]
