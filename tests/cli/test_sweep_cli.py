"""``python -m sim sweep | sensitivity | gather``: what a user types, and bad input."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"


def test_sweep_command_runs_resumes_and_gathers(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = ["sweep", str(TINY), "--grid", "banks.a.referral.bonus=0,100", "-r", "2", "-s", "3", "--serial", "-q",
            "--out", str(out)]
    assert main(argv) == 0
    assert "4 runs (2 points x 2 replications): 4 run now, 0 already done, 0 failed" in capsys.readouterr().out
    market = pd.read_parquet(out / "market.parquet")
    assert list(market.columns[:3]) == ["point", "banks.a.referral.bonus", "replication"]
    assert main(argv) == 0
    assert "0 run now, 4 already done" in capsys.readouterr().out

    (out / "market.parquet").unlink()
    assert main(["gather", str(out)]) == 0
    assert "4 of 4 runs gathered" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "market.parquet"), market)


def test_sweep_yaml_and_latin_hypercube(tmp_path, capsys):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        f"scenario: {TINY}\nlhs:\n  banks.a.referral.rate: [0.0, 0.1]\n  population.size: [200, 400]\n"
        f"samples: 3\nreplications: 1\nseed: 8\nbackend: serial\nout: {tmp_path / 'lhs'}\n",
        encoding="utf-8",
    )
    assert main(["sweep", str(spec), "-q"]) == 0
    assert "3 runs (3 points x 1 replications)" in capsys.readouterr().out
    market = pd.read_parquet(tmp_path / "lhs" / "market.parquet")
    assert market["population.size"].dtype.kind == "i" and market["point"].nunique() == 3


def test_sensitivity_command(tmp_path, capsys):
    out = tmp_path / "sens"
    assert main(["sensitivity", str(TINY), "--method", "morris", "--param", "banks.a.referral.rate=0:0.2",
                 "--param", "banks.b.branch.spend=0:100", "--metric", "active", "-n", "2", "-r", "1", "--serial",
                 "-q", "--resamples", "50", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "banks.a.referral.rate" in text and (out / "indices.png").is_file()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (["--grid", "banks.a.referral.bonus=0,x"], "valid number"),
    (["--grid", "banks.q.referral.bonus=0,1"], "no entry named 'q' (allowed: a, b)"),
    (["--lhs", "banks.a.referral.rate=0.3:0.1", "-n", "3"], "low 0.3 > high 0.1"),
    (["--lhs", "banks.a.referral.rate=0.1:0.3"], "--samples: is required"),
    (["--grid", "banks.a.referral.bonus=1", "--lhs", "banks.a.referral.rate=0.1:0.3", "-n", "2"], "more than one kind"),
    ([], "no design given"),
    (["--grid", "banks.a.referral.bonus=1", "--scheduler", "tcp://127.0.0.1:{port}", "--connect-timeout", "1"],
     "cannot reach a Dask scheduler"),
    (["--grid", "banks.a.referral.bonus=1", "--set", "banks.a.trust=2"], "less than or equal to 1"),
    (["--grid", "banks.a.referral.bonus=0,1", "--grid", "banks.a.referral.bonus=2"],
     "--grid: banks.a.referral.bonus: is given twice"),
    (["--lhs", "banks.a.referral.rate=0:0.1", "--lhs", "banks.a.referral.rate=0:0.2", "-n", "2"],
     "--lhs: banks.a.referral.rate: is given twice"),
    (["--grid", "banks.a.referral.bonus=0,1", "--samples", "3"], "--samples: is for --lhs only; given with --grid"),
    (["--grid", "banks.a.referral.bonus=0,1", "--serial", "-j", "2"], "--serial: given with --workers/-j"),
])
def test_bad_sweep_input_is_one_clear_message_and_nothing_written(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    args = [a.replace("{port}", str(_closed_port())) for a in args]
    assert main(["sweep", str(TINY), *args, "-q", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists()


def test_bad_sensitivity_input(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["sensitivity", str(TINY), "--method", "sobol", "--param", "banks.a.referral.rate=0:0.2",
                 "--metric", "active", "-n", "10", "--out", str(out)]) == 2
    assert "power of 2" in capsys.readouterr().err
    assert not out.exists()


def _damage(out: Path, how: str) -> str:
    """Damage a finished sweep folder as a user or a failing disk might; the file the message must name."""
    if how == "junk manifest":
        (out / "manifest.json").write_text("junk", encoding="utf-8")
        return "manifest.json"
    if how == "list manifest":
        (out / "manifest.json").write_text("[1]", encoding="utf-8")
        return "manifest.json"
    if how == "text part":
        (out / "parts" / "p000001-r0000" / "market.parquet").write_text("not parquet at all", encoding="utf-8")
        return "parts/p000001-r0000/market.parquet"
    (out / "parts" / "mine").mkdir()
    (out / "parts" / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    return "parts/mine"


@pytest.fixture
def finished_sweep(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = ["sweep", str(TINY), "--grid", "banks.a.referral.bonus=0,100", "-r", "1", "--serial", "-q",
            "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    return out, argv


@pytest.mark.parametrize("how", ["junk manifest", "list manifest", "text part", "own folder in parts"])
@pytest.mark.parametrize("command", ["gather", "resume"])
def test_damaged_sweep_folder_is_a_clear_error(finished_sweep, capsys, how, command):
    out, argv = finished_sweep
    named = _damage(out, how)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert main(["gather", str(out)] if command == "gather" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named in err and "Traceback" not in err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before   # nothing touched


def test_resume_reruns_a_damaged_part_once_its_folder_is_deleted(finished_sweep, capsys):
    out, argv = finished_sweep
    market = pd.read_parquet(out / "market.parquet")
    _damage(out, "text part")
    assert main(argv) == 2
    assert "delete those part folders" in capsys.readouterr().err
    for path in (out / "parts" / "p000001-r0000").iterdir():
        path.unlink()
    (out / "parts" / "p000001-r0000").rmdir()
    assert main(argv) == 0
    assert "1 run now, 1 already done" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "market.parquet"), market)


def test_gather_leaves_no_stale_tables(finished_sweep, capsys):
    out, _ = finished_sweep
    mine = out / "mine.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(mine)          # not a gathered table: never removed
    kept = out / "market_before.parquet"               # the user's copy of one, under a name of their own
    shutil.copy(out / "market.parquet", kept)
    for part in (out / "parts").iterdir():
        for path in part.iterdir():
            path.unlink()
        part.rmdir()
    assert main(["gather", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has no finished run (0 of 2)" in err and "were removed" in err
    assert not (out / "market.parquet").exists() and not (out / "summary.csv").exists()
    assert mine.is_file() and kept.is_file()


def test_gather_refreshes_summary(finished_sweep, capsys):
    out, _ = finished_sweep
    part = out / "parts" / "p000001-r0000"
    for path in part.iterdir():
        path.unlink()
    part.rmdir()
    assert main(["gather", str(out)]) == 0
    assert "1 of 2 runs gathered" in capsys.readouterr().out
    assert set(pd.read_csv(out / "summary.csv")["point"]) == {0}
    assert set(pd.read_parquet(out / "market.parquet")["point"]) == {0}


@pytest.mark.parametrize("entry, message", [
    ("samples: true", "samples: true is a yes/no value, not a number"),
    ("replications: yes", "replications: true is a yes/no value"),
    ("samples: 3", "samples: is for lhs only"),
])
def test_sweep_yaml_refuses_yes_no_numbers_and_ignored_entries(tmp_path, capsys, entry, message):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"scenario: {TINY}\ngrid: {{banks.a.referral.bonus: [0]}}\n{entry}\nbackend: serial\n"
                    f"out: {tmp_path / 'never'}\n", encoding="utf-8")
    assert main(["sweep", str(spec), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {spec}: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("args, message", [
    (["--param", "banks.a.referral.rate=0:0.2", "--param", "banks.a.referral.rate=0:0.1"],
     "--param: banks.a.referral.rate: is given twice"),
    (["--param", "banks.a.referral.rate=0:0.2", "--second-order"], "--second-order: is an option of --method sobol"),
    (["--method", "sobol", "--param", "banks.a.referral.rate=0:0.2", "--levels", "6"],
     "--levels: is an option of --method morris"),
])
def test_sensitivity_refuses_repeated_or_ignored_options(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(["sensitivity", str(TINY), "--metric", "active", "-q", "--serial", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists()


@pytest.mark.parametrize("args", [["--sizes", "300", "300"], ["--sizes", "300", "600", "300", "-n", "2"]])
def test_robustness_refuses_a_repeated_size(tmp_path, capsys, args):
    out = tmp_path / "never"
    assert main(["robustness", str(TINY), *args, "-q", "--serial", "--out", str(out)]) == 2
    assert "error: --sizes: repeats 300 (allowed: each population size once)" in capsys.readouterr().err
    assert not out.exists()
