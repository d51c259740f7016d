"""Sweeps: results per run on disk, common random numbers, resume, failures, gather."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiments.design import grid_design, points_design
from sim.experiments.replicate import run_replication
from sim.experiments.sweep import failures, gather, read_manifest, run_sweep
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
SEED = 11
UNLUCKY_BONUS = 13
GRID = {"banks.a.referral.bonus": [0, 100], "banks.b.offers.payments.price": [1.0, 1.5]}


def flaky_run(scenario, seed, replication):
    """The real model, except that a referral bonus of 13 raises (a run-time failure to record)."""
    if scenario.banks["a"].referral.bonus == UNLUCKY_BONUS:
        raise RuntimeError(f"bonus {UNLUCKY_BONUS} is unlucky (replication {replication})")
    return run_replication(scenario, seed, replication)


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(TINY)


@pytest.fixture(scope="module")
def design():
    return grid_design(GRID)


@pytest.fixture(scope="module")
def serial_sweep(tiny, design, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "sweep"
    return run_sweep(tiny, design, out=out, replications=2, seed=SEED, backend="serial", progress=False)


def test_layout_manifest_and_gathered_columns(serial_sweep, tiny, design):
    out = serial_sweep.out
    assert serial_sweep.completed == serial_sweep.runs == 8 and not serial_sweep.failed
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        f"p{d:06d}-r{k:04d}" for d in range(4) for k in range(2)
    ]
    manifest = read_manifest(out)
    assert manifest["seed"] == SEED and manifest["replications"] == 2
    assert manifest["package_version"] == sim.__version__
    assert manifest["scenario_hash"].startswith("sha256:")
    assert manifest["design"]["points"] == [dict(p) for p in design.points]
    assert (out / "scenario.resolved.yaml").is_file()
    for name in ("market", "institutions", "channels", "funnel"):
        assert (out / f"{name}.parquet").is_file()
        table = serial_sweep.tables[name]
        assert list(table.columns[:4]) == [
            "point",
            "banks.a.referral.bonus",
            "banks.b.offers.payments.price",
            "replication",
        ]
        assert sorted(table[["point", "replication"]].drop_duplicates().itertuples(index=False)) == \
            [(d, k) for d in range(4) for k in range(2)]
    market = serial_sweep.tables["market"]
    assert set(market.loc[market["point"] == 3, "banks.a.referral.bonus"]) == {100}
    assert set(market.loc[market["point"] == 3, "banks.b.offers.payments.price"]) == {1.5}


def test_point_equals_sim_run_of_its_scenario(serial_sweep, tiny, design):
    """Common random numbers: point d, replication k is sim.run of d's scenario with the same seed."""
    for d in (0, 3):
        expected = sim.run(with_overrides(tiny, design.points[d]), replications=2, seed=SEED).tables
        for name in ("market", "institutions"):
            got = serial_sweep.tables[name]
            got = got[got["point"] == d].drop(columns=["point", *design.parameters]).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected[name].reset_index(drop=True), check_dtype=False)


@pytest.mark.slow  # starts a process pool
def test_pool_gives_the_serial_tables(serial_sweep, tiny, design, tmp_path):
    pooled = run_sweep(tiny, design, out=tmp_path / "pool", replications=2, seed=SEED, backend="pool", workers=2,
                       progress=False)
    for name, table in serial_sweep.tables.items():
        pd.testing.assert_frame_equal(pooled.tables[name], table)


def test_rerun_skips_finished_runs_and_extends_nothing(serial_sweep, tiny, design):
    before = {p.name: p.stat().st_mtime_ns for p in (serial_sweep.out / "parts").iterdir()}
    again = run_sweep(tiny, design, out=serial_sweep.out, replications=2, seed=SEED, backend="serial", progress=False)
    assert (again.completed, again.skipped) == (0, 8)
    assert {p.name: p.stat().st_mtime_ns for p in (serial_sweep.out / "parts").iterdir()} == before


@pytest.mark.parametrize("change", ["seed", "replications", "design", "scenario"])
def test_resume_with_a_different_sweep_is_an_error(serial_sweep, tiny, design, change):
    kwargs = {"replications": 2, "seed": SEED}
    scenario, other = tiny, design
    if change in ("seed", "replications"):
        kwargs[change] += 1
    elif change == "design":
        other = grid_design({"banks.a.referral.bonus": [0, 50]})
    else:
        scenario = with_overrides(tiny, {"banks.a.trust": 0.6})
    with pytest.raises(ScenarioError, match="different sweep") as info:
        run_sweep(scenario, other, out=serial_sweep.out, backend="serial", progress=False, **kwargs)
    assert change in info.value.render()


def test_a_failing_run_is_recorded_and_the_others_complete(tiny, tmp_path):
    design = points_design([{"banks.a.referral.bonus": b} for b in (0, UNLUCKY_BONUS, 50)])
    out = tmp_path / "flaky"
    result = run_sweep(tiny, design, out=out, replications=2, seed=SEED, backend="pool", workers=2,
                       progress=False, run_function=flaky_run)
    assert result.failed == ["p000001-r0000", "p000001-r0001"]
    assert result.completed == 4
    table = failures(out)
    assert list(table["run_id"]) == result.failed
    assert table["error"].str.contains("RuntimeError: bonus 13 is unlucky").all()
    assert table["traceback"].str.contains("flaky_run").all()
    assert (table["banks.a.referral.bonus"] == UNLUCKY_BONUS).all()
    assert (out / "failures.csv").is_file()
    assert sorted(result.tables["market"]["point"].unique()) == [0, 2]

    # Resuming retries the failed runs (they fail again); --skip-failed leaves them.
    again = run_sweep(tiny, design, out=out, replications=2, seed=SEED, backend="serial", progress=False,
                      run_function=flaky_run)
    assert (again.completed, again.skipped, len(again.failed)) == (0, 4, 2)
    skipped = run_sweep(tiny, design, out=out, replications=2, seed=SEED, backend="serial", progress=False,
                        run_function=flaky_run, retry_failed=False)
    assert (skipped.completed, skipped.skipped, skipped.failed) == (0, 6, [])


@pytest.mark.parametrize("design, message", [
    ({"banks.nobody.referral.bonus": [1, 2]}, "no entry named 'nobody'"),
    ({"banks.a.referral.bonsu": [1]}, "unknown key 'bonsu'"),
    ({"banks.a.referral.rate": [0.1, 1.5]}, "less than or equal to 1"),
    ({"banks.a.referral.bonus": ["lots"]}, "valid number"),
])
def test_bad_design_fails_before_anything_is_written(tiny, tmp_path, design, message):
    out = tmp_path / "never"
    with pytest.raises(ScenarioError, match=message):
        run_sweep(tiny, design, out=out, replications=1, seed=SEED, backend="serial", progress=False)
    assert not out.exists()


def test_unreachable_scheduler_fails_before_anything_is_written(tiny, tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from sim.experiments.backends import DaskBackend

    out = tmp_path / "never"
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match=f"cannot reach a Dask scheduler at tcp://127.0.0.1:{port}"):
        run_sweep(tiny, {"banks.a.referral.bonus": [0]}, out=out, replications=1, seed=SEED,
                  backend=DaskBackend.connect(f"tcp://127.0.0.1:{port}", timeout=1), progress=False)
    assert time.perf_counter() - started < 15
    assert not out.exists()


def _sweep_command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(TINY),
        "--grid",
        "banks.a.referral.bonus=0,25,50,75,100",
        "--grid",
        "banks.b.offers.payments.price=1.0,1.5",
        "--set",
        "time.steps=30",
        "--set",
        "population.size=1000",
        "-r",
        "3",
        "-s",
        str(SEED),
        "--serial",
        "-q",
        "--out",
        str(out),
    ]


@pytest.mark.slow  # two sweeps in subprocesses, about 20 s
def test_sweep_killed_midway_resumes_with_every_run_exactly_once(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(_sweep_command(out), cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = out / "parts"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and sum(1 for p in parts.iterdir() if not p.name.startswith(".")) >= 4:
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the sweep ended before it was killed: {proc.stderr.read().decode()}"
    done_before = {p.name for p in parts.iterdir() if not p.name.startswith(".")}
    assert 4 <= len(done_before) < 30
    assert (out / ".lock").exists()  # left behind by the killed process, taken over below

    resumed = subprocess.run(_sweep_command(out), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_before)} already done" in resumed.stdout
    assert sorted(p.name for p in parts.iterdir()) == [f"p{d:06d}-r{k:04d}" for d in range(10) for k in range(3)]

    tables = gather(out)
    market = tables["market"]
    assert not market.duplicated(["point", "replication", "step"]).any()
    assert len(market) == 10 * 3 * 31

    # And the interrupted sweep equals one that ran straight through.
    tiny = load_scenario(TINY, {"time.steps": 30, "population.size": 1000})
    straight = run_sweep(tiny, grid_design({"banks.a.referral.bonus": [0, 25, 50, 75, 100],
                                            "banks.b.offers.payments.price": [1.0, 1.5]}),
                         out=tmp_path / "straight", replications=3, seed=SEED, backend="serial", progress=False)
    for name, table in straight.tables.items():
        pd.testing.assert_frame_equal(tables[name], table)
    assert json.loads((out / "manifest.json").read_text())["runs"] == 30


@pytest.mark.slow  # starts a Jupyter kernel and a pool
def test_local_pool_works_from_a_jupyter_kernel(tmp_path, serial_sweep, design):
    """A notebook runs a sweep on the process pool and gets the serial tables."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "from sim.experiments.sweep import run_sweep\n"
        f"result = run_sweep({str(TINY)!r}, {GRID!r}, out={str(tmp_path / 'nb')!r}, replications=2, seed={SEED},\n"
        "                   backend='pool', workers=2)\n"
        "assert result.completed == 8, result\n"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    for name, table in serial_sweep.tables.items():
        pd.testing.assert_frame_equal(gather(tmp_path / "nb")[name], table)
