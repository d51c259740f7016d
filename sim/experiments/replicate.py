"""Replications of one scenario from one seed, with independent streams.

Replication ``k`` of a run with seed ``S`` draws only from
``SeedSequence(entropy=S, spawn_key=(k,))`` — the ``k``-th child that
``SeedSequence(S).spawn`` would give — so it is the same whichever other
replications run, in which order, on how many workers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.core.codes import TABLE_NAMES
from sim.experiments.backends import Backend, make_backend
from sim.experiments.design import check_scenario_number
from sim.experiments.summary import summarize
from sim.model.model import ChannelModel
from sim.scenario.schema import Scenario
from sim.version import __version__


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed sequence of replication ``replication`` of a run seeded with ``seed``."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(replication,))


def run_replication(scenario: Scenario, seed: int, replication: int) -> dict[str, pd.DataFrame]:
    """Run one replication over the scenario's horizon and return its tables."""
    model = ChannelModel(scenario, seed=replication_seed(seed, replication))
    model.run()
    return model.tables(replication)


@dataclass
class RunResult:
    """The tables of a run and what is needed to reproduce it.

    Write it to disk with :func:`sim.save` (:func:`sim.outputs.save_run`).
    """

    scenario: Scenario
    seed: int
    replications: int
    tables: dict[str, pd.DataFrame]
    seconds: float = 0.0
    version: str = __version__
    _summary: dict | None = field(default=None, repr=False)

    @property
    def market(self) -> pd.DataFrame:
        return self.tables["market"]

    @property
    def institutions(self) -> pd.DataFrame:
        return self.tables["institutions"]

    @property
    def channels(self) -> pd.DataFrame:
        return self.tables["channels"]

    @property
    def funnel(self) -> pd.DataFrame:
        return self.tables["funnel"]

    @property
    def credit(self) -> pd.DataFrame:
        return self.tables["credit"]

    @property
    def insurers(self) -> pd.DataFrame:
        return self.tables["insurers"]

    @property
    def summary(self) -> dict:
        """Final-step means and 95% intervals over replications (see results/README.md)."""
        if self._summary is None:
            self._summary = summarize(self.tables)
        return self._summary

    def provenance(self) -> dict:
        """What reproduces the run: scenario name, seed, replications, horizon, version."""
        return {"scenario": self.scenario.name, "seed": self.seed, "replications": self.replications,
                "steps": self.scenario.time.steps, "step_unit": self.scenario.time.unit,
                "version": self.version, "seconds": round(self.seconds, 3)}


def _replication_task(task: tuple[Scenario, int, int]) -> dict[str, pd.DataFrame]:
    """:func:`run_replication` of one ``(scenario, seed, replication)`` task (what a backend's workers run)."""
    return run_replication(*task)


def run(scenario: Scenario, replications: int | None = None, seed: int | None = None,
        progress: bool = False, workers: int | None = None, backend: str | Backend | None = None) -> RunResult:
    """Run a scenario's replications and return their tables.

    Parameters
    ----------
    scenario : Scenario
        From :func:`sim.load_scenario`.
    replications, seed : int, optional
        Default to the scenario's ``replications`` and ``seed``.
    progress : bool
        Show a progress bar (tqdm) over replications.
    workers : int, optional
        Run the replications on a local pool of this many processes; default
        (or 1): one after another in this process.
    backend : {"pool", "serial", "dask"} or Backend, optional
        Where the replications run instead (:func:`sim.experiments.backends.make_backend`,
        with ``workers``); a Backend passed in is left open for the caller.

    Returns
    -------
    RunResult
        The scenario, the seed and replication count used, and ``tables``:
        each table of :data:`sim.core.codes.TABLE_NAMES`, the replications
        concatenated in order; its ``summary`` is computed on first access.
        Write it to disk with :func:`sim.save`.

    Raises
    ------
    ScenarioError
        When ``replications`` or ``seed`` break the scenario schema's rules.

    Notes
    -----
    The tables are the same whatever the workers or the backend: replication
    ``k`` draws from its own seed sequence and the tables are put in order of ``k``.
    """
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    check_scenario_number("replications", replications, "replications")
    check_scenario_number("seed", seed, "seed")
    started = time.perf_counter()
    if backend is None and (workers is None or workers == 1):
        runs = (run_replication(scenario, seed, k) for k in range(replications))
    else:
        runs = _on_backend(scenario, seed, replications, make_backend(backend or "pool", workers=workers),
                           owned=not isinstance(backend, Backend))
    if progress:
        from tqdm.auto import tqdm

        runs = tqdm(runs, desc=scenario.name, unit="rep", total=replications)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLE_NAMES}
    for tables in runs:
        for name, table in tables.items():
            parts[name].append(table)
    tables = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    return RunResult(scenario, seed, replications, tables, seconds=time.perf_counter() - started)


@contextmanager
def shared_backend(workers: int | None = None, backend: str | Backend | None = None) -> Iterator[Backend | None]:
    """Where several runs put their replications: one pool for all of them, opened once.

    Yields None (each run's replications one after another in this process)
    when neither ``workers`` above 1 nor ``backend`` is given; else the
    Backend passed in, left open for its owner, or one made here from
    ``backend`` and ``workers`` (:func:`~sim.experiments.backends.make_backend`)
    and closed at the end.  Pass what it yields to :func:`run` as ``backend``.
    """
    if backend is None and (workers is None or workers == 1):
        yield None
    elif isinstance(backend, Backend):
        yield backend
    else:
        made = make_backend(backend or "pool", workers=workers)
        try:
            yield made
        finally:
            made.close()


def _on_backend(scenario: Scenario, seed: int, replications: int, backend: Backend,
                owned: bool) -> Iterator[dict]:
    """Each replication's tables, in order of replication, run on ``backend`` (closed at the end if ``owned``)."""
    finished: dict[int, dict] = {}
    following = 0
    try:
        backend.start()
        for (_, _, k), tables in backend.imap_unordered(_replication_task,
                                                        ((scenario, seed, k) for k in range(replications))):
            if isinstance(tables, BaseException):
                raise RuntimeError(f"replication {k} of {scenario.name} did not finish: {tables}") from tables
            finished[k] = tables
            while following in finished:
                yield finished.pop(following)
                following += 1
    finally:
        if owned:
            backend.close()
