"""Who and what a scenario defines, in index order: institutions, products, offers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Layout:
    """Who and what a scenario defines, in index order: fixed for a run (levers never add or remove any)."""

    ids: list[str]
    kinds: list[str]                     # "bank" or "platform" per institution
    specs: list                          # the institutions' specs, banks first
    products: list[str]
    platform_ids: list[str]
    offer_of: np.ndarray                 # (I, K) offer index or -1
    offer_rows: list[tuple]              # (institution, product, OfferSpec) per offer


def layout(scenario: Scenario) -> Layout:
    """Index the scenario's institutions, products and offers."""
    specs = [*scenario.banks.values(), *scenario.platforms.values()]
    ids = scenario.institution_ids
    kinds = ["bank"] * len(scenario.banks) + ["platform"] * len(scenario.platforms)
    products = list(scenario.products)
    offer_of = np.full((len(ids), len(products)), -1, dtype=np.int32)
    offer_rows = []
    for i, spec in enumerate(specs):
        for product, offer in spec.offers.items():
            k = products.index(product)
            offer_of[i, k] = len(offer_rows)
            offer_rows.append((i, k, offer))
    return Layout(ids, kinds, specs, products, list(scenario.platforms), offer_of, offer_rows)


def as_array(values, dtype=np.float64) -> np.ndarray:
    """An array from any iterable of values."""
    return np.asarray(list(values), dtype=dtype)
