"""The command line as a user meets it: run, list, compare, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def small_scenario(tmp_path: Path, name: str = "small", **changes) -> Path:
    """The baseline shrunk to run in a fraction of a second."""
    data = {"name": name, "extends": str(ROOT / "scenarios" / "baseline.yaml"),
            "population": {"size": 600}, "time": {"steps": 8}, "replications": 2}
    data.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow  # a full run with every output file
def test_run_writes_every_output(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(small_scenario(tmp_path)), "--out", str(out), "-q", "--seed", "3"]) == 0
    for name in ("market", "institutions", "channels", "funnel"):
        assert (out / f"{name}.parquet").stat().st_size > 0
    market = pd.read_parquet(out / "market.parquet")
    assert sorted(market["replication"].unique()) == [0, 1]
    assert market["step"].max() == 8
    assert {"aware", "active", "new_active", "referral_conversions", "promoters", "r_eff"} <= set(market.columns)
    institutions = pd.read_parquet(out / "institutions.parquet")
    assert {"institution", "kind", "customers", "market_share", "new_customers", "cac", "revenue", "cost",
            "profit"} <= set(institutions.columns)
    run = json.loads((out / "run.json").read_text())
    assert run["seed"] == 3 and run["replications"] == 2 and run["version"]
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["population"]["size"] == 600
    # Defaults and inherited values filled in: the baseline's own, and the calibrated ones it extends.
    calibrated = yaml.safe_load((ROOT / "scenarios" / "calibrated.yaml").read_text())
    assert resolved["funnel"]["compare"] == 0.8 and resolved["funnel"]["interest"] == calibrated["funnel"]["interest"]
    assert len(list((out / "plots").glob("*.png"))) >= 4
    assert json.loads((out / "summary.json").read_text())


def test_set_overrides_reach_the_model(tmp_path):
    out = tmp_path / "out"
    main(["run", str(small_scenario(tmp_path)), "--out", str(out), "-q", "--no-plots",
          "--set", "banks.citic.referral.bonus=77", "--set", "population.size=500"])
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["banks"]["citic"]["referral"]["bonus"] == 77
    assert resolved["population"]["size"] == 500


def test_same_seed_same_tables(tmp_path):
    scenario = small_scenario(tmp_path)
    for name in ("a", "b"):
        main(["run", str(scenario), "--out", str(tmp_path / name), "-q", "--no-plots", "--seed", "11"])
    for table in ("market", "institutions", "channels", "funnel"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "b" / f"{table}.parquet"))


@pytest.mark.parametrize("args, expected", [
    (["--set", "banks.citic.referral.bonuss=1"], ["banks.citic.referral.bonuss", "allowed: bonus"]),
    (["--set", "banks.nobody.referral.bonus=1"], ["banks.nobody", "citic"]),
    (["--set", "banks.citic.referral.rate=1.5"], ["banks.citic.referral.rate", "less than or equal to 1"]),
    (["--set", "funnel.interest=high"], ["funnel.interest", "number"]),
    (["--set", "novalue"], ["novalue", "PATH=VALUE"]),
])
def test_bad_overrides_exit_2_without_results(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    code = main(["run", str(small_scenario(tmp_path)), "--out", str(out), "-q", *args])
    err = capsys.readouterr().err
    assert code == 2
    for text in expected:
        assert text in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


@pytest.mark.parametrize("content, expected", [
    ("name: x\nbanks: {a: {type: state\n", ["line", "malformed YAML"]),
    ("name: x\nbanks: {a: {type: state, colour: red}}\n", ["banks.a.colour", "unknown key", "allowed:"]),
    ("name: x\nbanks: {a: {type: shadow}}\n", ["banks.a.type", "'state'"]),
    ("name: x\npopulation: {size: -5}\nbanks: {a: {type: state}}\n", ["population.size", "greater than or equal"]),
    ("name: x\nbanks: {a: {type: state}}\npartnerships: {p: {bank: zz, platform: q}}\n",
     ["partnerships.p.bank", "unknown bank 'zz'", "partnerships.p.platform"]),
])
def test_bad_scenario_files_name_file_and_key(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err
    for text in expected:
        assert text in err
    assert not (tmp_path / "out").exists()


def test_missing_file_and_bad_edge_list(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "-q"]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    (tmp_path / "edges.csv").write_text("source,target\n1,2\n2,9\n")
    (tmp_path / "nodes.csv").write_text("id\n1\n2\n3\n")
    path = tmp_path / "net.yaml"
    path.write_text("name: net\nnetwork: {kind: edge_list, path: edges.csv, nodes: nodes.csv}\n"
                    "banks: {a: {type: state, offers: {payments: {}}}}\n")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "edges.csv" in err and "row 3" in err and "unknown node id '9'" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a python -m sim subprocess
def test_module_entry_point_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(bad)], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert "bad.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_list_shows_library(capsys):
    assert main(["list", "--directory", str(ROOT / "scenarios")]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "referral_incentives" in out
    assert "INVALID" not in out


@pytest.mark.parametrize("option", ["--results", "--record"])
@pytest.mark.parametrize("what, words", [("nosuch", "does not exist"), ("afile", "is not a folder")])
def test_list_refuses_a_results_or_record_folder_that_is_not_one(tmp_path, capsys, option, what, words):
    (tmp_path / "afile").write_text("x\n")
    code = main(["list", "--directory", str(ROOT / "scenarios"), option, str(tmp_path / what)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {option}: ") and words in err and "allowed: " in err, err


ECONOMICS = {"name": "econ",
             "products": {"payments": {"kind": "payments"}, "credit": {"kind": "credit"}},
             "banks": {"a": {"type": "state", "offers": {"payments": {"price": 2.0}, "credit": {"price": 0.0}}}},
             "platforms": {"p": {"type": "p2p", "offers": {"credit": {"price": 1.0}}}},
             "insurers": {"g": {}}}


@pytest.mark.parametrize("path, value, expected", [
    ("banks.a.offers.payments.price", -1.0, "greater than or equal to 0"),
    ("banks.a.offers.credit.loan_rate", -0.1, "greater than or equal to 0"),
    ("products.credit.loan.rate", -0.05, "greater than or equal to 0"),
    ("products.credit.loan.risk_weight", 20.0, "less than or equal to 12.5"),
    ("banks.a.cost_of_funds", -0.01, "greater than or equal to 0"),
    ("banks.a.credit.capital_ratio", 1.5, "less than or equal to 1"),
    ("banks.a.credit.capital_ratio", 0.0, "greater than 0"),
    ("banks.a.credit.minimum_ratio", 1.0, "less than 1"),
    ("banks.a.credit.capital_target", 0.1, "must be above minimum_ratio"),
    ("insurers.g.capital_ratio", -1.0, "greater than 0"),
    ("platforms.p.p2p.funding", -5.0, "greater than or equal to 0"),
    ("banks.a.offers.payments.revenue", 2.0, "unknown key 'revenue'"),
])
def test_bad_prices_rates_and_capital_exit_2_naming_file_and_key(tmp_path, capsys, path, value, expected):
    data = json.loads(json.dumps(ECONOMICS))
    *parents, key = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[key] = value
    scenario = tmp_path / "econ.yaml"
    scenario.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    where = path if key not in ("capital_target",) else "banks.a.credit"
    assert "econ.yaml" in err and where in err and expected in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_run_and_compare_on_two_workers_write_the_serial_tables(tmp_path, capsys):
    scenario = small_scenario(tmp_path, replications=3)
    other = small_scenario(tmp_path, name="other", replications=3, banks={"citic": {"referral": {"bonus": 60}}})
    for name, workers in (("serial", "1"), ("pooled", "2")):
        assert main(["run", str(scenario), "--out", str(tmp_path / name), "-q", "--no-plots", "-j", workers]) == 0
        assert main(["compare", str(scenario), str(other), "--out", str(tmp_path / f"c{name}"), "-q",
                     "--workers", workers]) == 0
    for table in ("market", "institutions", "credit", "cohorts"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pooled" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "serial" / f"{table}.parquet"), check_exact=True)
    assert (tmp_path / "cpooled" / "report.md").read_text() == (tmp_path / "cserial" / "report.md").read_text()


def test_a_pool_of_no_workers_exits_2_naming_the_option(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_scenario(tmp_path)), "--out", str(out), "-q", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "got 0" in err and "Traceback" not in err
    assert not out.exists()


def _pool_processes(pid: int) -> list[str]:
    """Command lines of the multiprocessing forkserver and its workers under process ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                line = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "multiprocessing.forkserver" in line:
                found.append(line)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the pool uses a forkserver on Linux")
@pytest.mark.parametrize("when, processes, wait", [
    ("while the forkserver imports the model", 1, 0.5),
    ("while the workers run", 3, 1.0),
])
def test_ctrl_c_during_a_pooled_run_prints_no_worker_traceback(tmp_path, when, processes, wait):
    import signal
    import time

    scenario = tmp_path / "big.yaml"
    scenario.write_text(yaml.safe_dump({"name": "big", "extends": str(ROOT / "scenarios" / "baseline.yaml"),
                                        "replications": 3, "population": {"size": 3000},
                                        "time": {"steps": 40, "unit": "month", "burn_in": 2}}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(scenario), "-q", "-j", "2",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(_pool_processes(proc.pid)) < processes and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be interrupted {when}"
        time.sleep(wait)
        os.killpg(proc.pid, signal.SIGINT)      # what Ctrl-C in a terminal does: the whole process group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err == "interrupted\n", err
    assert not (tmp_path / "out").exists()
