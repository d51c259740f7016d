"""Set-up of a run's market: who each channel can reach, who holds what at step 0, who works where.

:class:`MarketSetUp` is the part of :class:`~sim.model.model.ChannelModel`
that draws the static reach (branch coverage, app followers, platform users),
places the initial holdings and staffs the banks' employee programmes; events
that change coverage or programmes call it again.  It only reads and writes
the model's arrays; every draw comes from the model's generator.
"""

from __future__ import annotations

import numpy as np

from sim.core.adoption.audience import media_audience
from sim.core.codes import NO_CHANNEL, Channel, Stage
from sim.core.risk.underwriting import screen
from sim.errors import ScenarioError


class MarketSetUp:
    """Reach, initial holdings and staff of a :class:`~sim.model.model.ChannelModel` (a mixin)."""

    def _draw_static_reach(self) -> None:
        """Per-customer draws that decide reach, kept so events can change coverage consistently."""
        n, cat = self.network.size, self.catalog
        self._branch_draw = self.rng.random((n, cat.n_institutions))
        self._follower_draw = self.rng.random((n, cat.n_institutions))
        # Weighted random keys (Efraimidis & Spirakis): the top share by key is a
        # sample weighted by digital affinity, nested as the share grows.
        weights = self.population.digital_affinity.astype(float)
        self._user_key = self.rng.random((n, len(cat.platform_ids))) ** (1.0 / weights[:, None])
        trust = cat.trust[None, :] + self.scenario.population.trust_spread * self.rng.standard_normal(
            (n, cat.n_institutions)
        )
        self.state.trust[:] = np.clip(trust, 0.0, 1.0)
        self._apply_reach()

    def _apply_reach(self) -> None:
        cat, state = self.catalog, self.state
        tiers = self.population.city_tier
        state.branch_reach[:] = self._branch_draw < cat.branch_coverage[:, tiers].T
        state.follower[:] = self._follower_draw < self._follower_shares()
        n = self.network.size
        for p in range(len(cat.platform_ids)):
            count = int(round(cat.platform_users[p] * n))
            users = np.zeros(n, dtype=bool)
            if count:
                users[np.argpartition(-self._user_key[:, p], count - 1)[:count]] = True
            state.platform_user[:, p] = users
            state.follower[:, cat.platform_institution[p]] |= users
        self._branch_audience = [np.flatnonzero(state.branch_reach[:, i]) for i in range(cat.n_institutions)]
        self._platform_audience = [np.flatnonzero(state.platform_user[:, p]) for p in range(len(cat.platform_ids))]

    def _follower_shares(self) -> np.ndarray:
        """Share following each institution's app, per customer: ``followers``, or its community's share.

        Returns an (n, I) array, or a (1, I) row when no institution names
        communities (``own_app.follower_communities``, SF18).
        """
        cat = self.catalog
        shares = cat.app_followers[None, :]
        if not any(cat.app_follower_communities):
            return shares
        names = self.network.community_names
        shares = np.repeat(shares, self.network.size, axis=0)
        for i, by_name in enumerate(cat.app_follower_communities):
            if not by_name:
                continue
            unknown = sorted(set(by_name) - set(names))
            if unknown:
                group = "banks" if cat.institution_kind[i] == "bank" else "platforms"
                raise ScenarioError.single(self.scenario._source,
                                           f"{group}.{cat.institution_ids[i]}.own_app.follower_communities",
                                           f"unknown community '{unknown[0]}'", ", ".join(names))
            per_community = np.full(len(names), cat.app_followers[i])
            for name, share in by_name.items():
                per_community[names.index(name)] = share
            shares[:, i] = per_community[self.population.community]
        return shares

    def _place_initial_customers(self) -> None:
        """Initial market shares and employees; these are not promoters."""
        cat, state, rng = self.catalog, self.state, self.rng
        n = self.network.size
        for o in range(cat.n_offers):
            share = cat.initial_share[o]
            if share <= 0:
                continue
            k = cat.offer_product[o]
            free = np.flatnonzero(state.provider[:, k] < 0)
            if self.credit is not None and cat.risk.is_credit[k]:
                # The book held before the run was underwritten by the same credit model.
                free = screen(self.credit, cat, self.population, free, o)
            chosen = rng.choice(free, size=min(free.size, int(round(share * n))), replace=False)
            self._hold(chosen, o)
        for o in np.flatnonzero(cat.initial_awareness > 0):
            known = np.flatnonzero(rng.random(n) < cat.initial_awareness[o])
            fresh = known[~state.aware[known, o]]
            state.aware[fresh, o] = True
            state.aware_channel[fresh, o] = Channel.OWN_APP
        self._staff(at_start=True)

    def _staff(self, at_start: bool) -> None:
        """Match each bank's employees to ``employee_media.employees`` (at set-up and after events).

        New employees are drawn at random among customers who work for nobody;
        at set-up they hold the product their bank promotes.  A programme
        launched or grown by an event adds employees who keep their current
        holdings; one cut back lets a random part of its employees go.
        """
        cat, state, rng = self.catalog, self.state, self.rng
        for i in range(cat.n_institutions):
            current = np.flatnonzero(state.employer == i)
            wanted = int(cat.employees[i])
            if wanted > current.size:
                free = np.flatnonzero(state.employer < 0)
                hired = rng.choice(free, size=min(free.size, wanted - current.size), replace=False)
                state.employer[hired] = i
                if at_start and cat.employee_offer[i] >= 0:
                    self._hold(hired, cat.employee_offer[i])
            elif wanted < current.size:
                state.employer[rng.choice(current, size=current.size - wanted, replace=False)] = -1
        self._employees = {i: np.flatnonzero(state.employer == i) for i in range(cat.n_institutions)}
        self._draw_media_audience()

    def _draw_media_audience(self) -> None:
        """Employees' self-media followers beyond their network neighbours (``employee_media.audience``, SF3).

        ``self._media_network[i]`` is the network adjacency plus bank i's
        employee → follower edges, the audience the share kernel reaches
        (see :func:`sim.core.adoption.audience.media_audience`).
        """
        cat, rng, n = self.catalog, self.rng, self.network.size
        for i in range(cat.n_institutions):
            size, employees = int(cat.employee_audience[i]), self._employees[i]
            if size == 0 or employees.size == 0 or n < 2:
                self._audience.pop(i, None)
                self._media_network.pop(i, None)
                continue
            known = self._audience.get(i, (np.zeros(0, np.int64), np.zeros((0, 0), np.int64)))
            if np.array_equal(known[0], employees) and known[1].shape[1] == size:
                continue
            self._audience[i], self._media_network[i] = media_audience(self.network.adjacency, employees, size,
                                                                       known, rng)

    def _hold(self, customers: np.ndarray, offer: int) -> None:
        cat, state = self.catalog, self.state
        k = cat.offer_product[offer]
        state.aware[customers, offer] = True
        # A relationship held before the run puts the customer in the private domain.
        state.aware_channel[customers, offer] = Channel.OWN_APP
        state.stage[customers, k] = Stage.ACTIVE
        state.begin(customers, k, cat.offer_institution[offer], NO_CHANNEL, self.start_step)
