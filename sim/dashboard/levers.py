"""The levers of the dashboard: sliders and switches mapped to dotted scenario paths.

A strategy team argues about a handful of parameters: referral bonuses and
welcome packets (SF4), how the marketing budget is split between a bank's own
channels and platform ads (SF7, SF9), the platform's take rate, joining a data
alliance (``partnerships.<id>.data_sharing``, SF10), private-domain live streaming (SF6) and, when the risk side
is on, approval cut-offs, insurer coverage, "cut the direct link" (SF15) and
the size of a macro shock.  :data:`LEVERS` declares each of them once, as a
:class:`LeverSpec` with a dotted path template; :func:`levers_for` expands the
templates over a scenario's banks, platforms, partnerships or insurers and
keeps those the scenario has.  Adding a lever is one line in :data:`LEVERS`.

Starting values are read from the scenario, so an untouched dashboard is the
file.  :func:`apply_levers` turns lever values into a scenario with
:func:`sim.scenario.with_overrides`, which validates every change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sim.scenario import get_path, with_overrides
from sim.scenario.schema import Scenario

Kind = Literal["float", "int", "bool", "choice"]
#: The policies an institution may follow (``<group>.<id>.policy.kind``).
POLICY_KINDS = ("fixed", "rule", "learning")
Overrides = dict[str, Any]

#: Where a lever's ``{id}`` comes from: a block of the scenario keyed by id, or nothing.
Scope = Literal["banks", "platforms", "partnerships", "insurers", "scenario"]


@dataclass(frozen=True)
class LeverSpec:
    """One kind of lever, before it is bound to an institution or partnership.

    Parameters
    ----------
    name : str
        Short identifier, unique within a scope (``referral_bonus``).
    label : str
        What the slider says, after the institution id.
    scope : {"banks", "platforms", "partnerships", "insurers", "scenario"}
        The scenario block whose entries get one lever each; ``"scenario"``
        means a single lever for the whole scenario.
    path : str
        Dotted path template with ``{id}`` for the entry, e.g.
        ``banks.{id}.referral.bonus``.  The lever exists for an entry when
        this path can be read from the scenario (schema fields that a file
        leaves out still exist: they hold their defaults).
    kind : {"float", "int", "bool", "choice"}
        Slider, integer slider, checkbox or drop-down.
    low, high, step : float
        Slider range.  The range is widened to include the file's value.
    choices : tuple of str
        Options of a ``choice`` lever.
    start : callable, optional
        ``start(scenario, id)``: the starting value, for levers that are not
        a single path (default: the value at ``path``).
    overrides : callable, optional
        ``overrides(scenario, id, value)``: the dotted paths to set, for
        levers that are not a single path (default: ``{path: value}``).
    applies : callable, optional
        ``applies(scenario, id)``: an extra condition for the lever to exist.
    """

    name: str
    label: str
    scope: Scope
    path: str
    kind: Kind = "float"
    low: float = 0.0
    high: float = 1.0
    step: float = 0.01
    choices: tuple[str, ...] = ()
    start: Callable[[Scenario, str], Any] | None = None
    overrides: Callable[[Scenario, str, Any], Overrides] | None = None
    applies: Callable[[Scenario, str], bool] | None = None


@dataclass(frozen=True)
class Lever:
    """A lever bound to one entry of the scenario (or to the scenario itself)."""

    spec: LeverSpec
    target: str | None

    @property
    def key(self) -> str:
        """Identifier of the lever among the dashboard's parameters: ``citic:referral_bonus``."""
        return f"{self.target}:{self.spec.name}" if self.target is not None else self.spec.name

    @property
    def path(self) -> str:
        """The dotted scenario path the lever reads (and, for simple levers, sets)."""
        return self.spec.path.format(id=self.target)

    @property
    def label(self) -> str:
        return f"{self.target}: {self.spec.label}" if self.target is not None else self.spec.label

    @property
    def key_path(self) -> str:
        """The scenario key the lever sets, as ``python -m sim schema`` and docs/scenario-reference.md name it.

        A composite lever (one that sets several paths) names its block with ``*``.
        """
        if self.spec.overrides is None:
            return self.path
        return f"{self.path.rsplit('.', 2)[0]}.*" if self.spec.start is not None else self.path

    def start(self, scenario: Scenario) -> Any:
        """The lever's value in ``scenario`` (the file's value when the dashboard opens)."""
        if self.spec.start is not None:
            return self.spec.start(scenario, self.target)
        value = get_path(scenario, self.path)
        return _coerce(self.spec.kind, value)

    def overrides(self, scenario: Scenario, value: Any) -> Overrides:
        """Dotted-path overrides that set the lever to ``value`` in ``scenario``."""
        value = _coerce(self.spec.kind, value)
        if self.spec.overrides is not None:
            return self.spec.overrides(scenario, self.target, value)
        return {self.path: value}

    def is_moved(self, scenario: Scenario, value: Any) -> bool:
        """Whether ``value`` differs from the lever's value in ``scenario``."""
        return not _same(self.start(scenario), value, self.spec.kind)

    def bounds(self, scenario: Scenario) -> tuple[float, float]:
        """Slider range: the spec's, widened to include the scenario's value."""
        value = float(self.start(scenario))
        return min(self.spec.low, value), max(self.spec.high, value)

    @property
    def group(self) -> str:
        """Heading the lever is listed under: the institution, partnership or insurer, or 'market'."""
        return f"{self.target} ({_SCOPE_NAMES[self.spec.scope]})" if self.target is not None else "market-wide"

    def heading(self, scenario: Scenario) -> str:
        """The group's heading for people: the display name (``name`` in the file) with the kind and id.

        ``Joint-stock bank (bank citic)``; a partnership names its bank and platform; the
        market-wide levers are ``Market-wide``.
        """
        if self.target is None:
            return "Market-wide (regulation, macro)"
        kind = _SCOPE_NAMES[self.spec.scope]
        if self.spec.scope == "partnerships":
            partnership = scenario.partnerships[self.target]
            return f"{_display(scenario, partnership.bank)} on {_display(scenario, partnership.platform)} " \
                   f"({kind} {self.target})"
        entry = getattr(scenario, self.spec.scope)[self.target]
        name = getattr(entry, "name", None)
        return f"{name} ({kind} {self.target})" if name else f"{self.target} ({kind})"


def _display(scenario: Scenario, institution: str) -> str:
    """An institution's display name (its ``name`` in the file), or its id."""
    spec = {**scenario.banks, **scenario.platforms}.get(institution)
    return (spec.name if spec is not None and spec.name else None) or institution


_SCOPE_NAMES = {"banks": "bank", "platforms": "platform", "partnerships": "partnership", "insurers": "insurer"}


def _coerce(kind: Kind, value: Any) -> Any:
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    return value


def has_path(scenario: Scenario, path: str) -> bool:
    """Whether ``path`` names a parameter of ``scenario`` (a field the schema has)."""
    try:
        get_path(scenario, path)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- composite levers
def _partnerships_of(scenario: Scenario, bank: str) -> list[str]:
    return [pid for pid, p in scenario.partnerships.items() if p.bank == bank]


def _channel_budgets(scenario: Scenario, bank: str) -> tuple[dict[str, float], dict[str, float]]:
    """Yuan per step per 1,000 population each paid channel of the bank spends: own channels, partnerships.

    From the bank's ``marketing.budget`` and ``split`` when it sets one;
    otherwise estimated from each channel's spend per 1,000 reachable times
    the share of the population it reaches as the file sets it (branches:
    the covered share of the city tiers; the app and a live stream: its
    followers plus its initial customers, at most everyone; a partnership:
    the platform's users).
    """
    spec = scenario.banks[bank]
    partners = _partnerships_of(scenario, bank)
    own_names = ["branch", "own_app", *(["live_stream"] if spec.live_stream.enabled else [])]
    if spec.marketing.budget is not None:
        budget, split = spec.marketing.budget, spec.marketing.split
        return ({c: budget * split.get(c, 0.0) for c in own_names},
                {p: budget * split.get(p, 0.0) for p in partners})
    tiers = scenario.population.city_tiers
    covered = sum(t * c for t, c in zip(tiers, spec.branch.coverage, strict=True))
    domain = min(1.0, spec.own_app.followers + sum(o.initial_share for o in spec.offers.values()))
    own = {"branch": spec.branch.spend * covered, "own_app": spec.own_app.spend * domain}
    if spec.live_stream.enabled:
        own["live_stream"] = spec.live_stream.spend * domain
    platform = {p: scenario.partnerships[p].spend * scenario.platforms[scenario.partnerships[p].platform].users
                for p in partners}
    return own, platform


#: Step of the budget-split slider; the file's share is shown rounded to it.
BUDGET_SPLIT_STEP = 0.05


def budget_split_start(scenario: Scenario, bank: str) -> float:
    """The platform share of the bank's marketing budget as the file sets it (see :func:`_channel_budgets`).

    Rounded to the slider's step, so that a slider left alone is not read
    as moved (a share between two steps would snap to one of them).
    """
    own, platform = _channel_budgets(scenario, bank)
    total = sum(own.values()) + sum(platform.values())
    share = sum(platform.values()) / total if total > 0 else 0.0
    return round(round(share / BUDGET_SPLIT_STEP) * BUDGET_SPLIT_STEP, 10)


def budget_split_overrides(scenario: Scenario, bank: str, share: float) -> Overrides:
    """Set the bank's ``marketing.budget`` and ``split`` so that platforms get ``share`` of the same total.

    The total is the file's (see :func:`_channel_budgets`); the own
    channels share ``1 - share`` and the partnerships ``share``, each side in
    the file's proportions (equal parts where the file spends nothing on
    that side).
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"the budget split of '{bank}' must be a share in [0, 1]; got {share!r} instead")
    own, platform = _channel_budgets(scenario, bank)
    total = sum(own.values()) + sum(platform.values())

    def spread(parts: dict[str, float], amount: float) -> dict[str, float]:
        weight = sum(parts.values())
        return {k: amount * (v / weight if weight > 0 else 1.0 / len(parts)) for k, v in parts.items()}

    split = {**spread(own, 1.0 - share), **spread(platform, share)}
    return {f"banks.{bank}.marketing.budget": total, f"banks.{bank}.marketing.split": split}


def budget_split_applies(scenario: Scenario, bank: str) -> bool:
    """A bank with own-channel spend and at least one partnership to move it to."""
    own, _ = _channel_budgets(scenario, bank)
    return sum(own.values()) > 0 and bool(_partnerships_of(scenario, bank))


def live_stream_overrides(scenario: Scenario, bank: str, enabled: bool) -> Overrides:
    """Switch live streaming; a stream the file leaves unpriced borrows the app's spend.

    Live streaming reaches the same private-domain audience as the bank's
    app (mechanism 1, docs/ODD.md, "Exposure"), so when the file gives it no spend,
    switching it on uses the app's spend per 1,000 reachable.
    """
    spec = scenario.banks[bank]
    result: Overrides = {f"banks.{bank}.live_stream.enabled": enabled}
    if enabled and spec.live_stream.spend == 0:
        result[f"banks.{bank}.live_stream.spend"] = spec.own_app.spend
    return result


# --------------------------------------------------------------------------- the lever list
def credit_on(scenario: Scenario, target: str | None = None) -> bool:
    """The risk side is switched on (``credit.enabled``), so credit levers act."""
    return bool(getattr(getattr(scenario, "credit", None), "enabled", False))


def lends(scenario: Scenario, institution: str) -> bool:
    """Credit is on and the institution offers a credit product."""
    spec = {**scenario.banks, **scenario.platforms}[institution]
    return credit_on(scenario) and any(scenario.products[p].kind == "credit" for p in spec.offers)


#: Every lever the dashboard knows, in display order.  Levers whose path the
#: scenario does not have, or whose ``applies`` says they would do nothing
#: (credit levers while credit is off), are left out.
LEVERS: tuple[LeverSpec, ...] = (
    LeverSpec("referral_bonus", "referral bonus (yuan)", "banks", "banks.{id}.referral.bonus", high=300, step=5),
    LeverSpec("referral_welcome", "welcome packet (yuan)", "banks", "banks.{id}.referral.welcome", high=300, step=5),
    LeverSpec("live_stream", "live streaming", "banks", "banks.{id}.live_stream.enabled", kind="bool",
              overrides=live_stream_overrides),
    # The budget split sets several paths (budget_split_overrides); its path only says the bank has a branch block.
    LeverSpec("budget_split", "platform share of marketing budget", "banks", "banks.{id}.branch.spend",
              step=BUDGET_SPLIT_STEP, start=budget_split_start, overrides=budget_split_overrides,
              applies=budget_split_applies),
    LeverSpec("approval_cutoff", "approval cut-off (default prob.)", "banks", "banks.{id}.credit.cutoff",
              high=0.05, step=0.001, applies=lends),
    LeverSpec("approval_cutoff", "approval cut-off (default prob.)", "platforms", "platforms.{id}.credit.cutoff",
              high=0.05, step=0.001, applies=lends),
    LeverSpec("coverage", "insurer coverage", "insurers", "insurers.{id}.coverage", step=0.05, applies=credit_on),
    # Each institution's policy (docs/ODD.md, Decisions): shown, and switchable, per bank, platform and insurer.
    LeverSpec("policy", "policy (fixed, rule or learning)", "banks", "banks.{id}.policy.kind", kind="choice",
              choices=POLICY_KINDS),
    LeverSpec("policy", "policy (fixed, rule or learning)", "platforms", "platforms.{id}.policy.kind",
              kind="choice", choices=POLICY_KINDS),
    LeverSpec("policy", "policy (fixed, rule or learning)", "insurers", "insurers.{id}.policy.kind",
              kind="choice", choices=POLICY_KINDS, applies=credit_on),
    LeverSpec("take_rate", "platform take rate", "partnerships", "partnerships.{id}.take_rate", high=0.5),
    LeverSpec("data_sharing", "data sharing (platform data in the bank's credit model)", "partnerships",
              "partnerships.{id}.data_sharing", kind="bool"),
    LeverSpec("data_link", "data link (direct; cut: bureau or direct_jump)", "scenario", "regulation.data_link",
              kind="choice", choices=("direct", "bureau", "direct_jump"), applies=credit_on),
    LeverSpec("macro_shock", "macro level (hazard multiplier, a shock > 1)", "scenario", "macro.level", high=5.0,
              step=0.1, applies=credit_on),
)


def _targets(scenario: Scenario, scope: Scope) -> list[str | None]:
    if scope == "scenario":
        return [None]
    block = getattr(scenario, scope, None)
    return list(block) if isinstance(block, Mapping) else []


def levers_for(scenario: Scenario, specs: tuple[LeverSpec, ...] = LEVERS) -> list[Lever]:
    """The levers ``scenario`` has: the market-wide ones, then by institution, insurer and partnership."""
    found = []
    for spec in specs:
        for target in _targets(scenario, spec.scope):
            lever = Lever(spec, target)
            if has_path(scenario, lever.path) and (spec.applies is None or spec.applies(scenario, target)):
                found.append(lever)
    # Market-wide levers first: they act on everyone and are the first a meeting reaches for.
    scopes = ("scenario", "banks", "platforms", "insurers", "partnerships")
    targets = {scope: _targets(scenario, scope) for scope in scopes}
    # A stable sort keeps the order of LEVERS within each entry.
    def place(lever: Lever) -> tuple[int, int]:
        return scopes.index(lever.spec.scope), targets[lever.spec.scope].index(lever.target)

    return sorted(found, key=place)


def lever_overrides(scenario: Scenario, values: Mapping[str, Any]) -> Overrides:
    """Overrides for the levers whose value differs from the scenario's.

    Levers are applied in the order of :func:`levers_for`, each to the
    scenario as changed by the ones before (live streaming before the budget
    split, so a stream switched on takes its share of the budget).

    Raises
    ------
    KeyError
        If a key is not one of the scenario's levers.
    """
    return _apply(scenario, values)[1]


def apply_levers(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """``scenario`` with the lever values set (levers left at the file's value change nothing)."""
    return _apply(scenario, values)[0]


def _apply(scenario: Scenario, values: Mapping[str, Any]) -> tuple[Scenario, Overrides]:
    levers = {lever.key: lever for lever in levers_for(scenario)}
    unknown = sorted(set(values) - set(levers))
    if unknown:
        raise KeyError(f"unknown lever(s) {', '.join(unknown)}; the scenario's levers are: {', '.join(levers)}")
    # Compare with the file's values: a lever the user left alone changes nothing,
    # even if an earlier lever moved what its starting value is computed from.
    changed = [lever for key, lever in levers.items() if key in values and lever.is_moved(scenario, values[key])]
    merged: Overrides = {}
    for lever in changed:
        changes = lever.overrides(scenario, values[lever.key])
        scenario = with_overrides(scenario, changes, source=f"dashboard lever '{lever.label}'")
        merged.update(changes)
    return scenario, merged


def _same(start: Any, value: Any, kind: Kind) -> bool:
    if kind in ("float", "int"):
        return abs(float(start) - float(value)) <= 1e-9 * max(1.0, abs(float(start)))
    return _coerce(kind, value) == start
