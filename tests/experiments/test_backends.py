"""Backends: the same sweep gives the same tables in-process, on a local pool and on Dask."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.experiments.backends import DaskBackend, ProcessPoolBackend, SerialBackend, available_cores, make_backend
from sim.experiments.design import grid_design
from sim.experiments.sweep import failures, run_sweep
from sim.scenario import load_scenario

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"


def square(x: int) -> int:
    """A task for the backends themselves."""
    if x == 3:
        raise ValueError("three")
    return x * x


def die_on_two(x: int) -> int:
    """Kills its worker process for x == 2 (a crash, not an exception)."""
    if x == 2:
        os._exit(1)
    return x


@pytest.mark.parametrize("backend", [
    pytest.param(SerialBackend(), id="serial"),
    # starting worker processes takes seconds on a loaded 2-core machine
    pytest.param(ProcessPoolBackend(workers=2, in_flight=2), id="pool", marks=pytest.mark.slow),
    pytest.param(ProcessPoolBackend(workers=2, start_method="spawn"), id="pool-spawn", marks=pytest.mark.slow),
])
def test_backends_map_every_task_and_hand_back_exceptions(backend):
    with backend:
        results = dict(backend.imap_unordered(square, range(6)))
    assert {k: v for k, v in results.items() if k != 3} == {0: 0, 1: 1, 2: 4, 4: 16, 5: 25}
    assert isinstance(results[3], ValueError)


@pytest.mark.slow  # starts worker processes
def test_pool_survives_a_worker_that_dies():
    with ProcessPoolBackend(workers=2, in_flight=1) as pool:
        results = dict(pool.imap_unordered(die_on_two, range(5)))
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert isinstance(results[2], Exception)
    assert [results[k] for k in (0, 1, 3, 4)] == [0, 1, 3, 4]


def test_make_backend_choices_and_errors():
    assert isinstance(make_backend(), ProcessPoolBackend)
    assert make_backend(workers=3).workers == 3
    assert make_backend().workers == available_cores()
    assert isinstance(make_backend("serial"), SerialBackend)
    assert isinstance(make_backend(cluster="local"), DaskBackend)
    with pytest.raises(ScenarioError, match="one of --scheduler"):
        make_backend(scheduler="tcp://127.0.0.1:1", cluster="local")
    with pytest.raises(ScenarioError, match="tcp://HOST:PORT"):
        make_backend(scheduler="localhost:8786")
    with pytest.raises(ScenarioError, match="an integer >= 1"):
        make_backend(workers=0)


@pytest.mark.distributed
@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_tables_as_the_pool_and_serial(tmp_path):
    tiny = load_scenario(TINY)
    design = grid_design({"banks.a.referral.bonus": [0, 13, 100], "banks.a.branch.spend": [20.2, 83.4]})
    runs = {}
    from test_sweep import flaky_run  # fails at bonus 13: failures must match too

    with DaskBackend.local_cluster(n_workers=2) as dask:
        assert len(dask.client.scheduler_info()["workers"]) == 2
        for name, backend in (("serial", "serial"), ("pool", ProcessPoolBackend(workers=2)), ("dask", dask)):
            runs[name] = run_sweep(tiny, design, out=tmp_path / name, replications=2, seed=5, backend=backend,
                                   progress=False, run_function=flaky_run)
    for name in ("pool", "dask"):
        assert runs[name].failed == runs["serial"].failed == [f"p{d:06d}-r{k:04d}" for d in (2, 3) for k in range(2)]
        for table, frame in runs["serial"].tables.items():
            pd.testing.assert_frame_equal(runs[name].tables[table], frame)
        assert failures(runs[name].out)["error"].tolist() == failures(runs["serial"].out)["error"].tolist()


def test_pool_workers_are_recycled():
    """Workers are replaced after a bounded number of runs (a second line of defence against leaks)."""
    from sim.experiments.backends import DEFAULT_TASKS_PER_WORKER, ProcessPoolBackend

    assert ProcessPoolBackend(1).tasks_per_worker == DEFAULT_TASKS_PER_WORKER
    with ProcessPoolBackend(1, tasks_per_worker=2) as pool:
        assert pool._executor._max_tasks_per_child == 2
        pids = {pid for _, pid in pool.imap_unordered(_pid, range(6))}
    assert len(pids) >= 3
    assert ProcessPoolBackend(1, start_method="fork").tasks_per_worker is None


def _pid(_task) -> int:
    import os

    return os.getpid()
