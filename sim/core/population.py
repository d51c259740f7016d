"""Drawing customers' attributes from a scenario's population spec."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.network.graph import SocialNetwork
from sim.scenario.schema import LIFE_STAGES, PopulationSpec


@dataclass
class Population:
    """Fixed attributes of every customer (index = network node).

    Attributes
    ----------
    life_stage : int8 array, index into ``LIFE_STAGES`` (SF17)
    city_tier : int8 array, 0..3 for tiers 1..4 (SF16)
    community : int32 array, community id from the network
    digital_affinity : float32 array in (0, 1)
    hazard : float32 array, latent per-step default hazard (credit quality)
    subprime : bool array
    """

    life_stage: np.ndarray
    city_tier: np.ndarray
    community: np.ndarray
    digital_affinity: np.ndarray
    hazard: np.ndarray
    subprime: np.ndarray

    @property
    def size(self) -> int:
        return self.life_stage.size


def draw_population(spec: PopulationSpec, network: SocialNetwork, rng: np.random.Generator) -> Population:
    """Draw attributes for every node; values given in a node file take precedence."""
    n = network.size
    stage_p = np.array([spec.life_stages.get(s, 0.0) for s in LIFE_STAGES])
    life_stage = rng.choice(len(LIFE_STAGES), size=n, p=stage_p / stage_p.sum()).astype(np.int8)
    tiers = np.asarray(spec.city_tiers)
    city_tier = rng.choice(4, size=n, p=tiers / tiers.sum()).astype(np.int8)
    given = network.node_attributes
    if given is not None and "life_stage" in given:
        known = given["life_stage"].notna().to_numpy()
        codes = given["life_stage"].map({s: i for i, s in enumerate(LIFE_STAGES)})
        life_stage[known] = codes[known].astype(np.int8)
    if given is not None and "city_tier" in given:
        known = given["city_tier"].notna().to_numpy()
        city_tier[known] = given["city_tier"][known].astype(int).to_numpy() - 1

    means = np.array([spec.digital_affinity.mean.get(s, 0.5) for s in LIFE_STAGES])[life_stage]
    kappa = spec.digital_affinity.concentration
    affinity = rng.beta(means * kappa, (1.0 - means) * kappa).astype(np.float32)
    affinity = np.clip(affinity, 1e-4, 1 - 1e-4)
    if given is not None and "digital_affinity" in given:
        known = given["digital_affinity"].notna().to_numpy()
        affinity[known] = given["digital_affinity"][known].astype(np.float32).to_numpy()

    credit = spec.credit
    subprime = rng.random(n) < credit.subprime_share
    mean_hazard = np.where(subprime, credit.subprime_hazard, credit.prime_hazard)
    sigma = credit.dispersion
    # Log-normal with the given mean: exp(N(log m - s^2/2, s^2)).
    hazard = mean_hazard * np.exp(rng.normal(-0.5 * sigma**2, sigma, size=n))
    hazard = np.clip(hazard, 0.0, 1.0).astype(np.float32)

    return Population(life_stage, city_tier, network.community.copy(), affinity, hazard, subprime)
