"""Checks that cross blocks of a scenario: ids that must exist, names that must not clash."""

from __future__ import annotations

from typing import Any

from sim.errors import Problem
from sim.scenario.schema import Scenario

#: Top-level blocks an event cannot set: they shape the run before its first step.  (A product's
#: parameters can change, ``products.<id>.need`` and the like; the set of products and their kinds cannot.)
FIXED_DURING_RUN = ("population", "network", "time", "seed", "replications", "name", "extends", "events", "game")
FIXED_ALLOWED = "institution, partnership, funnel, choice and product parameters (not a product's kind)"


def check_references(scenario: Scenario) -> list[Problem]:
    """Return every reference in ``scenario`` that points at nothing, or clashes."""
    problems: list[Problem] = []
    products = set(scenario.products)
    banks, platforms = set(scenario.banks), set(scenario.platforms)
    for clash in sorted(banks & platforms):
        problems.append(
            Problem(f"platforms.{clash}", f"id '{clash}' is also a bank id", "ids unique across banks and platforms")
        )
    if not banks and not platforms:
        problems.append(Problem("banks", "the scenario defines no institution", "at least one bank or platform"))
    for group, members in (("banks", scenario.banks), ("platforms", scenario.platforms)):
        for iid, spec in members.items():
            for product in spec.offers:
                if product not in products:
                    problems.append(
                        Problem(
                            f"{group}.{iid}.offers.{product}",
                            f"unknown product '{product}'",
                            ", ".join(sorted(products)),
                        )
                    )
    problems += _check_employee_media(scenario)
    problems += _check_marketing_splits(scenario)
    problems += _check_follower_communities(scenario)
    problems += _check_partnerships(scenario)
    problems += _check_events(scenario)
    problems += _check_risk(scenario)
    problems += _check_event_conflicts(scenario)
    return problems


def _check_employee_media(scenario: Scenario) -> list[Problem]:
    """Employee programmes that promote a product their bank does not offer, or audiences beyond the population."""
    problems: list[Problem] = []
    for iid, bank in scenario.banks.items():
        media = bank.employee_media
        if media.staff_share and media.product is not None and media.product not in bank.offers:
            problems.append(
                Problem(
                    f"banks.{iid}.employee_media.product",
                    f"'{media.product}' is not offered by {iid}",
                    ", ".join(sorted(bank.offers)) or "(no offers)",
                )
            )
        if media.audience >= scenario.population.size:
            problems.append(
                Problem(
                    f"banks.{iid}.employee_media.audience",
                    f"{media.audience} followers per employee exceed the population",
                    f"at most {scenario.population.size - 1}",
                )
            )
    return problems


def _check_marketing_splits(scenario: Scenario) -> list[Problem]:
    """Budget splits naming a channel the institution does not have."""
    problems: list[Problem] = []
    for group, members in (("banks", scenario.banks), ("platforms", scenario.platforms)):
        for iid, spec in members.items():
            allowed = ["own_app", "live_stream"]
            if group == "banks":
                allowed = ["branch", *allowed, *(pid for pid, p in scenario.partnerships.items() if p.bank == iid)]
            for channel in spec.marketing.split:
                if channel not in allowed:
                    problems.append(Problem(f"{group}.{iid}.marketing.split.{channel}",
                                            f"'{channel}' is not a paid channel of {iid}", ", ".join(allowed)))
    return problems


def _check_partnerships(scenario: Scenario) -> list[Problem]:
    """Partnerships naming an unknown bank or platform, or repeating a pair."""
    problems: list[Problem] = []
    banks, platforms = set(scenario.banks), set(scenario.platforms)
    seen_pairs: dict[tuple[str, str], str] = {}
    for pid, partnership in scenario.partnerships.items():
        if partnership.bank not in banks:
            problems.append(
                Problem(
                    f"partnerships.{pid}.bank",
                    f"unknown bank '{partnership.bank}'",
                    ", ".join(sorted(banks)) or "(no banks)",
                )
            )
        if partnership.platform not in platforms:
            problems.append(
                Problem(
                    f"partnerships.{pid}.platform",
                    f"unknown platform '{partnership.platform}'",
                    ", ".join(sorted(platforms)) or "(no platforms)",
                )
            )
        pair = (partnership.bank, partnership.platform)
        if pair in seen_pairs:
            problems.append(
                Problem(
                    f"partnerships.{pid}",
                    f"duplicates partnership '{seen_pairs[pair]}'",
                    "one partnership per bank and platform",
                )
            )
        seen_pairs[pair] = pid
    return problems


def _check_events(scenario: Scenario) -> list[Problem]:
    """Events after the horizon, or setting what cannot change during a run."""
    problems: list[Problem] = []
    for i, event in enumerate(scenario.events):
        if event.at > scenario.time.steps:
            problems.append(
                Problem(f"events[{i}].at", f"step {event.at} is after the horizon", f"1..{scenario.time.steps}")
            )
        for path, value in event.set.items():
            if path.split(".")[0] in FIXED_DURING_RUN or path == "products":
                problems.append(Problem(f"events[{i}].set.{path}", "cannot change during a run", FIXED_ALLOWED))
            elif path.rpartition(".")[2] in SET_UP_FIELDS:
                problems.append(Problem(f"events[{i}].set.{path}", SET_UP_MESSAGE, SET_UP_ALLOWED))
            else:
                problems += product_kind_change(scenario, f"events[{i}].set", path, value)
    return problems


def product_kind_change(scenario: Scenario, where: str, path: str, value: Any) -> list[Problem]:
    """The problem of a change that would give a product another kind during a run (none for any other change).

    Parameters
    ----------
    scenario : Scenario
        The scenario as loaded (its products' kinds).
    where : str
        Prefix of the problem's key path, e.g. ``events[0].set``.
    path, value : str, Any
        The dotted path and the value set: ``products.<id>.kind``, or a
        whole ``products.<id>`` record whose ``kind`` differs.
    """
    parts = path.split(".")
    product = scenario.products.get(parts[1]) if len(parts) > 1 and parts[0] == "products" else None
    if product is None:
        return []           # an unknown product: the loader names it with the ids there are
    if len(parts) == 2 and isinstance(value, dict):
        kind, path = value.get("kind", product.kind), f"{path}.kind"
    elif len(parts) == 3 and parts[2] == "kind":
        kind = value
    else:
        return []
    if kind == product.kind:
        return []
    return [kind_problem(f"{where}.{path}", product.kind)]


def kind_problem(key: str, kind: str) -> Problem:
    """The problem of giving a product of ``kind`` another kind during a run, at key path ``key``."""
    return Problem(key, f"cannot change during a run (it is {kind})", KIND_ALLOWED)


#: Offer fields read only when the run is set up: a change during a run would be ignored.
SET_UP_FIELDS = ("initial_share", "initial_awareness")
SET_UP_MESSAGE = "is a set-up value and cannot change during a run"
SET_UP_ALLOWED = "prices, channels, incentives and the other institution parameters"
KIND_ALLOWED = "its need, funnel and loan terms"
CREDIT_SWITCH_MESSAGE = "switching credit on or off cannot happen during a run"
CREDIT_SWITCH_ALLOWED = "credit parameters such as credit.peer_effect, or macro, regulation, insurers"


def fixed_changes(key: str, before: Any, after: Any) -> list[Problem]:
    """What a change of the lever record ``key`` (``banks.citic``, ``credit``, ``products.loan``) may not change.

    Compares the record ``before`` and ``after`` the change: switching credit
    on or off, a product's kind, and an offer's set-up values are fixed for
    the whole run (a timeline event is refused them the same way, when the
    scenario is loaded).
    """
    head = key.partition(".")[0]
    problems: list[Problem] = []
    if head == "credit" and before.enabled != after.enabled:
        problems.append(Problem("credit.enabled", CREDIT_SWITCH_MESSAGE, CREDIT_SWITCH_ALLOWED))
    elif head == "products" and before.kind != after.kind:
        problems.append(kind_problem(f"{key}.kind", before.kind))
    elif head in ("banks", "platforms"):
        for product, offer in after.offers.items():
            for field in SET_UP_FIELDS:
                if getattr(offer, field) != getattr(before.offers[product], field):
                    problems.append(Problem(f"{key}.offers.{product}.{field}", SET_UP_MESSAGE, SET_UP_ALLOWED))
    return problems


def _check_follower_communities(scenario: Scenario) -> list[Problem]:
    """``own_app.follower_communities`` must name blocks of the network (edge-list communities are checked at build)."""
    problems: list[Problem] = []
    network = scenario.network
    if network.kind == "edge_list":
        return problems
    blocks = list(network.blocks) if network.kind == "stochastic_block" else []
    for group, members in (("banks", scenario.banks), ("platforms", scenario.platforms)):
        for iid, spec in members.items():
            for name in spec.own_app.follower_communities:
                if name not in blocks:
                    allowed = (", ".join(blocks) if blocks else
                               "none: only stochastic_block and edge_list networks have named communities")
                    problems.append(Problem(f"{group}.{iid}.own_app.follower_communities.{name}",
                                            f"unknown community '{name}'", allowed))
    return problems


def _names(ids) -> str:
    return ", ".join(sorted(ids)) or "(none)"


def _check_risk(scenario: Scenario) -> list[Problem]:
    """Credit, insurers, alliances, macro path and seeded defaults (mechanisms 4, 5 and 8)."""
    problems: list[Problem] = []
    insurers = set(scenario.insurers)
    institutions = set(scenario.institution_ids)
    for clash in sorted(insurers & institutions):
        problems.append(
            Problem(
                f"insurers.{clash}",
                f"id '{clash}' is also a bank or platform id",
                "ids unique across banks, platforms and insurers",
            )
        )
    alliances: dict[str, list[str]] = {}
    for group, members in (("banks", scenario.banks), ("platforms", scenario.platforms)):
        for iid, spec in members.items():
            insurer = spec.credit.insurer
            if insurer is not None and insurer not in insurers:
                problems.append(
                    Problem(f"{group}.{iid}.credit.insurer", f"unknown insurer '{insurer}'", _names(insurers))
                )
            if spec.data_alliance is not None:
                alliances.setdefault(spec.data_alliance, []).append(f"{group}.{iid}")
    for name, members in alliances.items():
        if len(members) == 1:
            others = sorted(a for a in alliances if a != name)
            problems.append(
                Problem(
                    f"{members[0]}.data_alliance",
                    f"alliance '{name}' has no other member",
                    f"a name shared by at least two institutions{': ' + ', '.join(others) if others else ''}",
                )
            )
    credit_products = [k for k, p in scenario.products.items() if p.kind == "credit"]
    if scenario.credit.enabled and not credit_products:
        problems.append(
            Problem("credit.enabled", "is true but no product has kind credit", "a product of kind credit, or false")
        )
    steps = scenario.time.steps
    path = scenario.macro.path
    if path is not None and len(path) < steps:
        problems.append(Problem("macro.path", f"has {len(path)} values, shorter than the horizon of {steps} steps",
                                f"at least {steps} non-negative multipliers, one per step"))
    for i, seed in enumerate(scenario.credit.seed_defaults):
        if seed.at > steps:
            problems.append(
                Problem(f"credit.seed_defaults[{i}].at", f"step {seed.at} is after the horizon", f"1..{steps}")
            )
    for i, event in enumerate(scenario.events):
        for key in event.set:
            if key == "credit.enabled" or key == "credit" or key.startswith("credit.enabled."):
                problems.append(Problem(f"events[{i}].set.{key}", CREDIT_SWITCH_MESSAGE, CREDIT_SWITCH_ALLOWED))
    return problems


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _check_event_conflicts(scenario: Scenario) -> list[Problem]:
    """Events at one step must not set the same parameter (or a block and a key inside it) differently."""
    problems: list[Problem] = []
    by_step: dict[int, list[tuple[int, str, object]]] = {}
    for i, event in enumerate(scenario.events):
        for key, value in event.set.items():
            by_step.setdefault(event.at, []).append((i, key, value))
    for at, entries in sorted(by_step.items()):
        for a in range(len(entries)):
            for b in range(a + 1, len(entries)):
                (i, key_i, value_i), (j, key_j, value_j) = entries[a], entries[b]
                if not _overlap(key_i, key_j) or (key_i == key_j and value_i == value_j):
                    continue
                what = (f"sets '{key_j}' to {value_j!r} while events[{i}] sets it to {value_i!r}" if key_i == key_j
                        else f"sets '{key_j}' while events[{i}] sets '{key_i}'")
                problems.append(Problem(f"events[{j}].set.{key_j}", f"contradicts events[{i}] at step {at}: {what}",
                                        "one value per parameter per step"))
    return problems
