"""Checks that cross blocks of a scenario: ids that must exist, names that must not clash."""

from __future__ import annotations

from sim.errors import Problem
from sim.scenario.schema import Scenario


def check_references(scenario: Scenario) -> list[Problem]:
    """Return every reference in ``scenario`` that points at nothing, or clashes."""
    problems: list[Problem] = []
    products = set(scenario.products)
    banks, platforms = set(scenario.banks), set(scenario.platforms)
    for clash in sorted(banks & platforms):
        problems.append(Problem(f"platforms.{clash}", f"id '{clash}' is also a bank id", "ids unique across banks and platforms"))
    if not banks and not platforms:
        problems.append(Problem("banks", "the scenario defines no institution", "at least one bank or platform"))
    for group, members in (("banks", scenario.banks), ("platforms", scenario.platforms)):
        for iid, spec in members.items():
            for product in spec.offers:
                if product not in products:
                    problems.append(Problem(f"{group}.{iid}.offers.{product}", f"unknown product '{product}'", ", ".join(sorted(products))))
    for iid, bank in scenario.banks.items():
        media = bank.employee_media
        if media.employees and media.product is not None and media.product not in bank.offers:
            problems.append(Problem(f"banks.{iid}.employee_media.product", f"'{media.product}' is not offered by {iid}", ", ".join(sorted(bank.offers)) or "(no offers)"))
        if media.employees > scenario.population.size:
            problems.append(Problem(f"banks.{iid}.employee_media.employees", f"{media.employees} employees exceed the population", f"at most {scenario.population.size}"))
    seen_pairs: dict[tuple[str, str], str] = {}
    for pid, partnership in scenario.partnerships.items():
        if partnership.bank not in banks:
            problems.append(Problem(f"partnerships.{pid}.bank", f"unknown bank '{partnership.bank}'", ", ".join(sorted(banks)) or "(no banks)"))
        if partnership.platform not in platforms:
            problems.append(Problem(f"partnerships.{pid}.platform", f"unknown platform '{partnership.platform}'", ", ".join(sorted(platforms)) or "(no platforms)"))
        pair = (partnership.bank, partnership.platform)
        if pair in seen_pairs:
            problems.append(Problem(f"partnerships.{pid}", f"duplicates partnership '{seen_pairs[pair]}'", "one partnership per bank and platform"))
        seen_pairs[pair] = pid
    for i, event in enumerate(scenario.events):
        if event.at > scenario.time.steps:
            problems.append(Problem(f"events[{i}].at", f"step {event.at} is after the horizon", f"1..{scenario.time.steps}"))
        for path in event.set:
            if path.split(".")[0] in ("population", "network", "time", "seed", "replications", "products", "name", "extends", "events"):
                problems.append(Problem(f"events[{i}].set.{path}", "cannot change during a run", "institution, partnership, funnel and choice parameters"))
    return problems
