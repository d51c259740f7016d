"""Who wins when everyone can choose: a scenario's ``game:`` evaluated on common random numbers.

The scenario's ``game:`` block (:class:`~sim.scenario.schema.GameSpec`) names
the players (institution ids), each player's menu of strategies (dotted-path
overrides) and the payoff (a column of the player's rows, reduced to one
number per run: discounted or plain total over the run, or the final value).
A *profile* picks one strategy per player; its scenario is the base scenario
with every chosen strategy's overrides applied.

Every profile is a design point of a sweep (:func:`~sim.experiments.sweep.run_sweep`),
so replication ``k`` of every profile draws from the same random stream
(common random numbers), the runs are resumable and give the same results on
any backend.  Per (profile, player) the payoff's mean and 95% Student t
interval; per profile and unilateral deviation the paired gain with its
interval; from the means, best responses, pure Nash equilibria and ε
(:mod:`sim.experiments.game_theory`).  ε's interval is the paired interval
of the gain of the best deviation, cut at zero.

When the game has more profiles than ``game.max_profiles``, it is searched by
iterated best response from the scenario's own profile (each player's
strategy named ``current``, else its first), one player's deviations per
sweep; only profiles whose every unilateral deviation was evaluated get an ε.

Layout of a game folder::

    OUT/
      .bpsim-results.json    the marker (kind "game")
      runs/all/              the sweep of every profile (full enumeration), or
      runs/ibr-<hash>/ ...   one sweep per step of iterated best response (named by its profiles)
      payoffs.parquet        one row per (profile, player)
      deviations.parquet     one row per (profile, player, alternative strategy)
      equilibria.json        equilibria, ε per profile, best responses, the search
      report.md, report.html (written by sim.outputs.game_report)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.experiments import store
from sim.experiments.backends import Backend, make_backend
from sim.experiments.design import check_scenario_number, points_design
from sim.experiments.game_theory import (
    IteratedBestResponse,
    Profile,
    all_profiles,
    epsilon,
    is_best_response,
    iterated_best_response,
)
from sim.experiments.gather import gather
from sim.experiments.metrics import MetricSpec, metric_values
from sim.experiments.stats import mean_ci
from sim.experiments.sweep import RunFunction, run_sweep, scenario_hash
from sim.scenario import Scenario, load_scenario, with_overrides
from sim.scenario.schema import YEARS_PER_STEP, GameSpec, PlayerSpec, StrategySpec

#: Name of the strategy that is the scenario's own choice (where iterated best response starts).
CURRENT = "current"


# --------------------------------------------------------------------------- the game's parts
def game_of(scenario: Scenario) -> GameSpec:
    """The scenario's game; a ScenarioError when it has none."""
    if scenario.game is None:
        source = getattr(scenario, "_source", None) or scenario.name
        raise ScenarioError.single(source, "game", "is missing: the scenario defines no game",
                                   "a game: block with players, their strategies and the payoff")
    return scenario.game


def menus(game: GameSpec) -> dict[str, list[str]]:
    """Each player's strategy names, in file order."""
    return {player: list(spec.strategies) for player, spec in game.players.items()}


def start_profile(game: GameSpec) -> Profile:
    """The scenario's own profile: each player's strategy named ``current``, else its first."""
    return tuple(names.index(CURRENT) if CURRENT in names else 0 for names in menus(game).values())


def profile_names(game: GameSpec, profile: Sequence[int]) -> dict[str, str]:
    """``{player: strategy name}`` of a profile of indices."""
    return {player: names[s] for (player, names), s in zip(menus(game).items(), profile, strict=True)}


def profile_overrides(game: GameSpec, profile: Sequence[int]) -> dict[str, Any]:
    """The overrides a profile applies: the union of its strategies' ``set`` (they never conflict)."""
    overrides: dict[str, Any] = {}
    for (player, name) in profile_names(game, profile).items():
        overrides.update(game.players[player].strategies[name].set)
    return overrides


def profile_label(game: GameSpec, profile: Sequence[int]) -> str:
    """``citic=direct, icbc=platform_a``."""
    return ", ".join(f"{p}={s}" for p, s in profile_names(game, profile).items())


def payoff_metric(scenario: Scenario, player: str) -> MetricSpec:
    """The payoff of ``player`` as a metric of a run's tables."""
    payoff = game_of(scenario).payoff
    insurer = player in scenario.insurers
    per_step = (1.0 + payoff.discount_rate) ** YEARS_PER_STEP[scenario.time.unit] - 1.0
    return MetricSpec(f"{player}:{payoff.metric}", "insurers" if insurer else "institutions", payoff.metric,
                      player, payoff.reduce, per_step if payoff.reduce == "discounted" else 0.0,
                      "insurer" if insurer else "institution")


def without_game(scenario: Scenario) -> Scenario:
    """The scenario with its game block removed: the base every profile's overrides apply to."""
    base = scenario.model_copy(update={"game": None})
    base._source = getattr(scenario, "_source", None)
    return base


def runs_identity(scenario: Scenario) -> Scenario:
    """What a game's runs depend on: the scenario and the players' menus, not the payoff or the search settings.

    The sweeps of a game are identified by this scenario (its hash is in each
    sweep's manifest), so a game resumed with another payoff metric, discount
    rate, ``max_profiles``, ``max_rounds`` or strategy labels reuses every
    finished run, while a strategy that sets something else is a different game.
    """
    players = {player: PlayerSpec(strategies={name: StrategySpec(set=strategy.set)
                                              for name, strategy in spec.strategies.items()})
               for player, spec in game_of(scenario).players.items()}
    identity = scenario.model_copy(update={"game": GameSpec(players=players)})
    identity._source = getattr(scenario, "_source", None)
    return identity


def profile_scenarios(scenario: Scenario, profiles: Sequence[Profile]) -> list[Scenario]:
    """The validated scenario of each profile, or one error naming every profile that is not a valid scenario."""
    game, base = game_of(scenario), without_game(scenario)
    scenarios, found = [], {}
    for profile in profiles:
        try:
            scenarios.append(with_overrides(base, profile_overrides(game, profile), source="game"))
        except ScenarioError as exc:
            for problem in exc.problems:
                found.setdefault(problem.render(), []).append(profile_label(game, profile))
    if found:
        problems = [Problem("game", f"{text} [in profile{'s' if len(labels) > 1 else ''} "
                                    f"{'; '.join(labels[:3])}{'; ...' if len(labels) > 3 else ''}]",
                            "strategies whose every combination is a valid scenario")
                    for text, labels in found.items()]
        raise ScenarioError(getattr(scenario, "_source", None) or "game", problems)
    return scenarios


# --------------------------------------------------------------------------- evaluation by sweeps
@dataclass
class Evaluator:
    """Runs batches of profiles as sweeps in ``out/runs/<batch>/`` and keeps each run's payoffs."""

    scenario: Scenario
    out: Path
    replications: int
    seed: int
    backend: Backend
    progress: bool = True
    run_function: RunFunction | None = None
    values: dict[Profile, np.ndarray] = field(default_factory=dict)   # profile -> (R, n) payoffs
    runs: int = 0
    completed: int = 0
    skipped: int = 0
    batches: int = 0

    def evaluate(self, profiles: Sequence[Profile], batch: str) -> dict[Profile, np.ndarray]:
        """Run (or resume) the profiles not yet known; return every profile's ``(R, n)`` payoffs."""
        todo = [p for p in dict.fromkeys(tuple(p) for p in profiles) if p not in self.values]
        if todo:
            self._sweep(todo, batch)
        return {p: self.values[p] for p in profiles}

    def _sweep(self, profiles: list[Profile], batch: str) -> None:
        game = game_of(self.scenario)
        players = list(game.players)
        scenarios = profile_scenarios(self.scenario, profiles)
        design = points_design([{f"strategy.{p}": s for p, s in profile_names(game, profile).items()}
                                for profile in profiles], source="game", kind="game")
        folder = self.out / "runs" / batch
        swept = run_sweep(runs_identity(self.scenario), design, out=folder, replications=self.replications,
                          seed=self.seed, backend=self.backend, progress=self.progress, gather_results=False,
                          run_function=self.run_function, scenarios=scenarios,
                          manifest_extra={"game": {"batch": batch, "players": players}})
        self.runs += swept.runs
        self.completed += swept.completed
        self.skipped += swept.skipped
        self.batches += 1
        specs = [payoff_metric(self.scenario, p) for p in players]
        tables = gather(folder, tables=sorted({s.table for s in specs}), write=False)
        values = np.full((len(profiles), self.replications, len(players)), np.nan)
        for i, spec in enumerate(specs):
            frame = metric_values(tables, spec)
            values[frame["point"].to_numpy(), frame["replication"].to_numpy(), i] = frame["value"].to_numpy()
        missing = np.argwhere(np.isnan(values).any(axis=2))
        if len(missing):
            shown = "; ".join(f"{profile_label(game, profiles[d])} (replication {k})" for d, k in missing[:3])
            raise ScenarioError(folder, [Problem("", f"{len(missing)} runs have no payoff (failed runs or missing "
                                                     f"rows): {shown}",
                                                 "fix the failures listed in failures/ and run again to resume")])
        for d, profile in enumerate(profiles):
            self.values[profile] = values[d]


# --------------------------------------------------------------------------- results
@dataclass
class GameResult:
    """A game's payoffs, equilibria and where they were written.

    ``values`` has shape ``(R, m_1, ..., m_n, n)``: player ``i``'s payoff in
    replication ``k`` of profile ``s`` is ``values[k][s][i]``, NaN for a
    profile that was not evaluated.
    """

    scenario: Scenario
    out: Path
    players: list[str]
    strategies: dict[str, list[str]]
    values: np.ndarray
    mode: str
    replications: int
    seed: int
    ibr: IteratedBestResponse | None = None
    runs: int = 0
    completed: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def game(self) -> GameSpec:
        return game_of(self.scenario)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(names) for names in self.strategies.values())

    @property
    def means(self) -> np.ndarray:
        """Mean payoffs over replications, shape ``(m_1, ..., m_n, n)``."""
        with np.errstate(invalid="ignore"):
            return self.values.mean(axis=0)

    def evaluated(self) -> list[Profile]:
        """The profiles with payoffs, in enumeration order."""
        return [p for p in all_profiles(self.sizes) if not np.isnan(self.means[p]).any()]

    def equilibria(self) -> list[Profile]:
        """Pure Nash equilibria (by the mean payoffs) among profiles whose every deviation was evaluated."""
        eps = epsilon(self.means)
        return [p for p in all_profiles(self.sizes) if eps[p] <= 0.0]

    def payoffs(self) -> pd.DataFrame:
        """One row per (evaluated profile, player): strategy names, mean, 95% interval, n, best response."""
        best = is_best_response(self.means)
        rows, known = [], set(self.evaluated())
        for index, profile in enumerate(all_profiles(self.sizes)):
            if profile not in known:
                continue
            names = profile_names(self.game, profile)
            for i, player in enumerate(self.players):
                mean, low, high = mean_ci(self.values[(slice(None), *profile, i)])
                rows.append({"profile": index, **{f"strategy.{p}": s for p, s in names.items()},
                             "player": player, "strategy": names[player], "mean": mean, "ci_low": low,
                             "ci_high": high, "n": self.replications,
                             "best_response": bool(best[(*profile, i)])})
        return pd.DataFrame(rows)

    def deviations(self) -> pd.DataFrame:
        """One row per (profile, player, other strategy) both evaluated: the paired gain of switching."""
        rows = []
        known = set(self.evaluated())
        for index, profile in enumerate(all_profiles(self.sizes)):
            if profile not in known:
                continue
            names = profile_names(self.game, profile)
            for i, player in enumerate(self.players):
                for t, alternative in enumerate(self.strategies[player]):
                    other = (*profile[:i], t, *profile[i + 1:])
                    if t == profile[i] or other not in known:
                        continue
                    diff = self.values[(slice(None), *other, i)] - self.values[(slice(None), *profile, i)]
                    gain, low, high = mean_ci(diff)
                    rows.append({"profile": index, **{f"strategy.{p}": s for p, s in names.items()},
                                 "player": player, "strategy": names[player], "deviation": alternative,
                                 "gain": gain, "ci_low": low, "ci_high": high, "n": self.replications})
        columns = ["profile", *(f"strategy.{p}" for p in self.players), "player", "strategy", "deviation", "gain",
                   "ci_low", "ci_high", "n"]
        return pd.DataFrame(rows, columns=columns)

    def epsilons(self) -> pd.DataFrame:
        """Per profile whose every unilateral deviation was evaluated: ε, its interval and the best deviation.

        ``best_gain`` is the largest mean gain of an actual switch (negative
        when every switch loses); ``epsilon = max(0, best_gain)``, and its
        interval is that switch's paired interval cut at zero.  ``clear``:
        every switch loses, the best one's interval lying below zero.
        """
        deviations = self.deviations()
        known = set(self.evaluated())
        rows = []
        for index, profile in enumerate(all_profiles(self.sizes)):
            neighbours = [(*profile[:i], t, *profile[i + 1:]) for i, m in enumerate(self.sizes) for t in range(m)]
            if profile not in known or not all(p in known for p in neighbours):
                continue
            mine = deviations[deviations["profile"] == index]
            names = profile_names(self.game, profile)
            row = {"profile": index, **{f"strategy.{p}": s for p, s in names.items()}}
            if mine.empty:        # every menu has one strategy: nothing to deviate to
                rows.append({**row, "epsilon": 0.0, "epsilon_low": 0.0, "epsilon_high": 0.0, "best_gain": math.nan,
                             "gain_low": math.nan, "gain_high": math.nan, "player": None, "deviation": None,
                             "nash": True, "clear": True})
                continue
            top = mine.loc[mine["gain"].idxmax()]
            rows.append({**row, "epsilon": max(0.0, top["gain"]), "epsilon_low": max(0.0, top["ci_low"]),
                         "epsilon_high": max(0.0, top["ci_high"]), "best_gain": top["gain"],
                         "gain_low": top["ci_low"], "gain_high": top["ci_high"], "player": top["player"],
                         "deviation": top["deviation"], "nash": bool(top["gain"] <= 0.0),
                         "clear": bool(top["ci_high"] < 0.0)})
        return pd.DataFrame(rows)

    def best_response_table(self) -> pd.DataFrame:
        """Per player and profile of the others (all of that player's replies evaluated): its best replies."""
        rows = []
        means = self.means
        for i, player in enumerate(self.players):
            others = [p for j, p in enumerate(self.players) if j != i]
            seen = set()
            for profile in all_profiles(self.sizes):
                rest = profile[:i] + profile[i + 1:]
                if rest in seen:
                    continue
                seen.add(rest)
                replies = [(*rest[:i], t, *rest[i:]) for t in range(self.sizes[i])]
                values = np.array([means[(*p, i)] for p in replies])
                if np.isnan(values).any():
                    continue
                best = [self.strategies[player][t] for t in np.flatnonzero(values >= values.max())]
                rows.append({"player": player,
                             "others": ", ".join(f"{o}={self.strategies[o][s]}"
                                                 for o, s in zip(others, rest, strict=True)),
                             "best": best, "payoff": float(values.max())})
        return pd.DataFrame(rows, columns=["player", "others", "best", "payoff"])

    def record(self) -> dict[str, Any]:
        """What ``equilibria.json`` holds."""
        eps = self.epsilons()
        payoffs = self.payoffs().set_index(["profile", "player"])
        equilibria = []
        for row in eps[eps["nash"]].itertuples() if not eps.empty else []:
            profile = all_profiles(self.sizes)[row.profile]
            equilibria.append({
                "profile": profile_names(self.game, profile),
                "payoffs": {p: {k: _num(payoffs.loc[(row.profile, p), c]) for k, c in
                                (("mean", "mean"), ("low", "ci_low"), ("high", "ci_high"))} for p in self.players},
                "best_deviation": {"player": row.player, "strategy": row.deviation, "gain": _num(row.best_gain),
                                   "low": _num(row.gain_low), "high": _num(row.gain_high)},
                "clear": bool(row.clear),
            })
        search = None
        if self.ibr is not None:
            search = {"start": profile_names(self.game, self.ibr.path[0]),
                      "path": [profile_names(self.game, p) for p in self.ibr.path],
                      "converged": self.ibr.converged,
                      "equilibrium": profile_names(self.game, self.ibr.equilibrium) if self.ibr.converged else None,
                      "cycle": [profile_names(self.game, p) for p in self.ibr.cycle],
                      "rounds": self.ibr.rounds}
        payoff = self.game.payoff
        return {
            "scenario": self.scenario.name,
            "mode": self.mode,
            "players": self.players,
            "strategies": self.strategies,
            "payoff": payoff.model_dump(mode="json"),
            "replications": self.replications,
            "seed": self.seed,
            "profiles": int(np.prod(self.sizes)),
            "profiles_evaluated": len(self.evaluated()),
            "max_profiles": self.game.max_profiles,
            "equilibria": equilibria,
            "epsilon": json.loads(eps.to_json(orient="records")) if not eps.empty else [],
            "best_responses": json.loads(self.best_response_table().to_json(orient="records")),
            "search": search,
            "common_random_numbers": True,
        }


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- the command's work
def batch_name(game: GameSpec, profiles: Sequence[Profile]) -> str:
    """``ibr-<hash>``: a step of iterated best response is named by the profiles it evaluates.

    So a search resumed along the same path finds its sweeps again, and one
    that takes another path (another payoff, say) writes new ones instead of
    colliding with sweeps of other profiles.
    """
    key = json.dumps([profile_names(game, p) for p in profiles], sort_keys=True)
    return f"ibr-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def default_out(scenario: Scenario, seed: int, replications: int, root: str | Path = Path("results") / "games") -> Path:
    """A folder the same game always gets (whatever its payoff), so re-running the command resumes it."""
    key = json.dumps([scenario_hash(runs_identity(scenario)), seed, replications], sort_keys=True)
    return Path(root) / f"{scenario.name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def run_game(
    scenario: Scenario | str | Path,
    *,
    out: str | Path | None = None,
    replications: int | None = None,
    seed: int | None = None,
    backend: Backend | str | None = None,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    run_function: RunFunction | None = None,
) -> GameResult:
    """Evaluate a scenario's game and write ``payoffs.parquet``, ``deviations.parquet`` and ``equilibria.json``.

    Parameters
    ----------
    scenario : Scenario or path
        A scenario with a ``game:`` block.
    out : path, optional
        Default ``results/games/<scenario>-<hash>/``; a folder of the same game resumes.
    replications : int, optional
        Default ``game.replications``, else the scenario's.
    seed : int, optional
        Default the scenario's.
    backend, workers, progress, run_function
        As for :func:`~sim.experiments.sweep.run_sweep`.
    overwrite : bool
        Replace an earlier game in ``out`` (built aside, swapped in when complete).

    Returns
    -------
    GameResult
        The players, their strategy menus and ``values``, every evaluated
        profile's payoffs by replication (NaN for a profile not evaluated);
        ``mode`` is ``"full"`` when every profile was evaluated (at most
        ``game.max_profiles``) and ``"ibr"`` when iterated best response from
        the start profile was followed instead (``ibr`` holds its path);
        ``runs`` in all, ``completed`` by this call and ``skipped`` (done by
        an earlier attempt); ``seconds``; and ``out``, where ``payoffs.parquet``,
        ``deviations.parquet`` and ``equilibria.json`` were written.

    Raises
    ------
    ScenarioError
        Before any run: no game, a profile that is not a valid scenario, a bad
        count, an ``out`` that is not a game folder of ours, an unreachable scheduler.
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    game = game_of(scenario)
    replications = next(v for v in (replications, game.replications, scenario.replications) if v is not None)
    seed = scenario.seed if seed is None else seed
    check_scenario_number("replications", replications, "--replications")
    check_scenario_number("seed", seed, "--seed")
    strategies = menus(game)
    sizes = tuple(len(names) for names in strategies.values())
    full = int(np.prod(sizes)) <= game.max_profiles
    profiles = all_profiles(sizes) if full else [start_profile(game)]
    profile_scenarios(scenario, profiles)        # bad profiles fail here, before anything is written
    out = Path(out) if out is not None else default_out(scenario, seed, replications)
    store.check_out(out, "game", overwrite=overwrite, resumable=True)
    owns_backend = not isinstance(backend, Backend)
    runner = make_backend(backend, workers=workers)
    runner.start()                                # an unreachable scheduler fails here, before anything is written
    try:
        if overwrite and out.is_dir() and any(out.iterdir()):
            built: list[GameResult] = []

            def fill(tmp: Path) -> None:
                built.append(run_game(scenario, out=tmp, replications=replications, seed=seed, backend=runner,
                                      progress=progress, run_function=run_function))

            store.write_folder(out, fill, kind="game", overwrite=True)
            result = built[0]
            result.out = out
            return result
        out.mkdir(parents=True, exist_ok=True)
        if store.read_marker(out) is None:
            store.write_marker(out, "game")
        evaluator = Evaluator(scenario, out, replications, seed, runner, progress, run_function)
        ibr = None
        if full:
            evaluator.evaluate(profiles, "all")
        else:
            def evaluate(batch: list[Profile]) -> list[np.ndarray]:
                found = evaluator.evaluate(batch, batch_name(game, batch))
                return [found[p].mean(axis=0) for p in batch]

            ibr = iterated_best_response(evaluate, sizes, start_profile(game), max_rounds=game.max_rounds)
    finally:
        if owns_backend:
            runner.close()
    values = np.full((replications, *sizes, len(strategies)), np.nan)
    for profile, found in evaluator.values.items():
        values[(slice(None), *profile, slice(None))] = found
    result = GameResult(scenario, out, list(strategies), strategies, values, "full" if full else "ibr",
                        replications, seed, ibr, evaluator.runs, evaluator.completed, evaluator.skipped)
    write_game(result)
    result.seconds = time.perf_counter() - started
    return result


def write_game(result: GameResult) -> None:
    """Write the game's tables and record into ``result.out`` (atomically, file by file)."""
    store.write_parquet(result.out / "payoffs.parquet", result.payoffs(), index=False)
    store.write_parquet(result.out / "deviations.parquet", result.deviations(), index=False)
    store.write_json(result.out / "equilibria.json", result.record())


__all__ = ["CURRENT", "Evaluator", "GameResult", "default_out", "game_of", "menus", "payoff_metric",
           "profile_label", "profile_names", "profile_overrides", "profile_scenarios", "run_game", "runs_identity",
           "start_profile", "write_game"]
