"""Nothing lost, nothing silently wrong: ``--out`` and numeric options, as a user meets them.

Each failure class is reproduced through the command line in-process: the
exit status is 2, stderr is one ``error:`` message naming the option or
folder, there is no traceback, and the user's files are byte-identical
afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.experiments import store

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def small_scenario(tmp_path: Path, name: str = "small") -> Path:
    """The baseline shrunk to run in a fraction of a second."""
    data = {"name": name, "extends": str(ROOT / "scenarios" / "baseline.yaml"),
            "population": {"size": 400}, "time": {"steps": 4}, "replications": 1}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes), to show that nothing changed."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("\\section{Results}\n")
    (folder / "sub" / "data.csv").write_bytes(b"a,b\n1,2\n")
    return folder


def refused(capsys, argv: list[str], *names: str, one_line: bool = True) -> str:
    """Run ``argv``; assert exit 2, one error message naming each of ``names``, no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 or not one_line, err
    for name in names:
        assert name in err, err
    return err


def run_args(tmp_path: Path, out: Path | str, *extra: str) -> list[str]:
    return ["run", str(small_scenario(tmp_path)), "-q", "--no-plots", "--out", str(out), *extra]


# --------------------------------------------------------------------------- --out
@pytest.mark.parametrize("command", ["run", "compare"])
def test_an_unrelated_folder_as_out_is_refused_and_untouched(tmp_path, capsys, command):
    folder = user_folder(tmp_path)
    before = snapshot(folder)
    if command == "run":
        argv = run_args(tmp_path, folder)
    else:
        argv = ["compare", str(small_scenario(tmp_path, "a")), str(small_scenario(tmp_path, "b")), "-q",
                "--out", str(folder)]
    refused(capsys, argv, f"--out {folder}", "not written by this program")
    assert snapshot(folder) == before
    refused(capsys, argv + ["--overwrite"], f"--out {folder}")        # --overwrite does not change that
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_regular_file_as_out_is_refused_and_untouched(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"keep me\n")
    for extra in ([], ["--overwrite"]):
        refused(capsys, run_args(tmp_path, path, *extra), f"--out {path}", "not a folder")
        assert path.read_bytes() == b"keep me\n"
    refused(capsys, run_args(tmp_path, path / "sub"), f"--out {path / 'sub'}", "a file, not a folder")
    assert path.read_bytes() == b"keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "small.yaml"]


def test_the_current_folder_as_out_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "paper.md").write_text("draft\n")
    scenario = small_scenario(tmp_path)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path), ".."):
        refused(capsys, ["run", str(scenario), "-q", "--no-plots", "--out", out, "--overwrite"], f"--out {out}")
    assert snapshot(tmp_path) == before


def test_running_twice_needs_overwrite_and_then_replaces(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(run_args(tmp_path, out, "--seed", "1")) == 0
    first = snapshot(out)
    assert store.MARKER_NAME in first
    refused(capsys, run_args(tmp_path, out, "--seed", "2"), f"--out {out}", "--overwrite")
    assert snapshot(out) == first                                    # the first results intact

    assert main(run_args(tmp_path, out, "--seed", "2", "--overwrite")) == 0
    second = snapshot(out)
    assert second["run.json"] != first["run.json"] and b'"seed": 2' in second["run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.yaml"]   # no temporary, no old copy


def test_overwrite_refuses_a_results_folder_the_user_added_files_to(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(run_args(tmp_path, out)) == 0
    (out / "my_notes.txt").write_text("mine\n")
    before = snapshot(out)
    refused(capsys, run_args(tmp_path, out, "--overwrite"), f"--out {out}", "my_notes.txt")
    assert snapshot(out) == before


@pytest.mark.parametrize("command", ["run", "compare", "sensitivity", "sweep"])
def test_overwrite_refuses_a_results_folder_the_user_added_empty_folders_to(tmp_path, capsys, command):
    """Regression: only files were counted, so ``--overwrite`` deleted the user's empty folders."""
    out = tmp_path / "out"
    argv = command_args(tmp_path, command, out)
    assert main(argv) == 0
    (out / "mydir" / "sub").mkdir(parents=True)
    folders = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_dir())
    before = snapshot(out)
    again = argv if command == "sweep" else [*argv, "--overwrite"]   # a sweep resumes instead
    err = refused(capsys, again, f"--out {out}", "mydir/")
    assert "mydir/sub/" not in err                                   # the folder holding it names it
    assert (out / "mydir" / "sub").is_dir() and snapshot(out) == before
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_dir()) == folders


def test_a_corrupt_marker_is_reported_as_such(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(run_args(tmp_path, out)) == 0
    (out / store.MARKER_NAME).write_text('{"format": "bankplatform-sim results folder v1", "kind": ')   # cut short
    before = snapshot(out)
    refused(capsys, run_args(tmp_path, out, "--overwrite"), f"--out {out}", f"{out / store.MARKER_NAME}",
            "is not valid JSON")
    assert snapshot(out) == before


def test_a_folder_written_by_sim_save_is_a_results_folder_to_the_command_line(tmp_path, capsys):
    """Regression: ``sim.save`` wrote no marker, so ``run --out <it> --overwrite`` refused it."""
    import sim

    out = tmp_path / "out"
    result = sim.run(sim.load_scenario(small_scenario(tmp_path)), seed=1, progress=False)
    sim.save(result, out, plots=False)
    first = snapshot(out)
    refused(capsys, run_args(tmp_path, out, "--seed", "2"), f"--out {out}", "--overwrite")
    assert snapshot(out) == first
    assert main(run_args(tmp_path, out, "--seed", "2", "--overwrite")) == 0
    assert b'"seed": 2' in snapshot(out)["run.json"]
    with pytest.raises(sim.ScenarioError, match="written earlier"):     # and the other way round
        sim.save(result, out, plots=False)
    sim.save(result, out, plots=False, overwrite=True)
    assert b'"seed": 1' in snapshot(out)["run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.yaml"]


def test_an_empty_folder_is_used(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert main(run_args(tmp_path, out)) == 0
    assert (out / "run.json").is_file()


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    writer = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from sim.experiments.store import write_folder

        def write(tmp):
            (tmp / "market.parquet").write_bytes(b"half")
            os._exit(9)   # killed mid-write

        write_folder(Path({str(out)!r}), write)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    assert subprocess.run([sys.executable, "-c", writer], env=env).returncode == 9
    stale = [p for p in tmp_path.iterdir() if p.name.startswith(f".out{store.TMP_INFIX}")]
    assert len(stale) == 1 and (stale[0] / store.MARKER_NAME).is_file()
    assert not out.exists()
    unrelated = tmp_path / ".out.keep"            # hidden, similar name, but not ours: left alone
    unrelated.mkdir()
    (unrelated / "x").write_text("x")

    assert main(run_args(tmp_path, out)) == 0
    assert (out / "run.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.keep", "out", "small.yaml"]
    assert (unrelated / "x").read_text() == "x"


def command_args(tmp_path: Path, command: str, out: Path | str) -> list[str]:
    """A tiny invocation of ``command`` writing to ``out``."""
    argv = {
        "run": run_args(tmp_path, out)[:-2],
        "compare": ["compare", str(small_scenario(tmp_path, "a")), str(small_scenario(tmp_path, "b")), "-q"],
        "sweep": ["sweep", str(TINY), "--grid", "banks.a.referral.bonus=0,100", "-r", "1", "--serial", "-q"],
        "sensitivity": ["sensitivity", str(TINY), "--param", "banks.a.referral.rate=0:0.2", "--metric", "active",
                        "-n", "2", "-r", "1", "--serial", "-q"],
        "game": ["game", str(ROOT / "tests" / "data" / "tiny_game.yaml"), "--serial", "-q"],
        "robustness": ["robustness", str(ROOT / "tests" / "data" / "claims" / "referral.yaml"), "--sizes", "300",
                       "-n", "2", "-r", "1", "--serial", "-q"],
    }[command]
    return [*argv, "--out", str(out)]


COMMANDS = ["run", "compare", "sweep", "sensitivity", "game", "robustness"]


def _can_make_folders_in(folder: Path) -> bool:
    probe = folder / "bpsim-test-probe"
    try:
        probe.mkdir()
    except OSError:
        return False
    probe.rmdir()
    return True


@pytest.mark.skipif(not Path("/proc").is_dir() or _can_make_folders_in(Path("/proc")),
                    reason="needs /proc, where no folder can be made (even by root)")
@pytest.mark.parametrize("command", COMMANDS)
def test_an_out_that_cannot_be_written_is_refused_before_any_run(tmp_path, capsys, command):
    for out in ("/proc/bpsim-x", "/proc/bpsim-x/y"):
        refused(capsys, command_args(tmp_path, command, out), f"--out {out}", "cannot be written", "/proc")


@pytest.mark.parametrize("command", COMMANDS)
def test_an_out_under_a_folder_that_is_not_writable_is_refused(tmp_path, capsys, monkeypatch, command):
    argv = command_args(tmp_path, command, tmp_path / "new" / "out")   # the scenarios are written first
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)     # as for a user without write permission
    refused(capsys, argv, f"--out {tmp_path / 'new' / 'out'}", f"{tmp_path} is not writable")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("length", [240, 300])
def test_an_out_name_too_long_for_the_file_system_is_refused(tmp_path, capsys, length):
    out = tmp_path / ("n" * length)   # 240 fits, but the hidden folder it is built in does not
    before = sorted(p.name for p in tmp_path.iterdir())
    refused(capsys, run_args(tmp_path, out), "--out", "File name too long")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({*before, "small.yaml"})


def test_an_out_that_cannot_be_listed_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert main(run_args(tmp_path, out)) == 0
    before = snapshot(out)

    def unreadable(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", unreadable)   # as for a folder without read permission
    refused(capsys, run_args(tmp_path, out, "--overwrite"), f"--out {out}", "cannot be used: Permission denied")
    monkeypatch.undo()
    assert snapshot(out) == before


def test_sensitivity_refuses_an_unrelated_folder(tmp_path, capsys):
    folder = user_folder(tmp_path)
    before = snapshot(folder)
    refused(capsys, ["sensitivity", str(TINY), "--param", "banks.a.referral.rate=0:0.2", "--metric", "active",
                     "-n", "2", "-r", "1", "--serial", "-q", "--out", str(folder)], f"--out {folder}")
    assert snapshot(folder) == before


def test_sweep_refuses_a_folder_that_is_not_a_sweep_folder(tmp_path, capsys):
    folder = user_folder(tmp_path)
    before = snapshot(folder)
    argv = ["sweep", str(TINY), "--grid", "banks.a.referral.bonus=0,100", "-r", "1", "--serial", "-q"]
    refused(capsys, argv + ["--out", str(folder)], f"--out {folder}")
    assert snapshot(folder) == before
    run_folder = tmp_path / "a_run"
    assert main(run_args(tmp_path, run_folder)) == 0
    before = snapshot(run_folder)
    err = refused(capsys, argv + ["--out", str(run_folder)], f"--out {run_folder}", "a run")
    assert "--overwrite" not in err                       # sweep has no such option
    assert snapshot(run_folder) == before
    sweep_folder = tmp_path / "sweep"                   # a sweep folder of the same design is resumed
    assert main(argv + ["--out", str(sweep_folder)]) == 0
    capsys.readouterr()
    assert main(argv + ["--out", str(sweep_folder)]) == 0
    assert "0 run now, 2 already done" in capsys.readouterr().out


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("option, value, name", [
    ("-r", "0", "--replications"),
    ("-r", "-3", "--replications"),
    ("-r", "100001", "--replications"),
    ("--seed", "-1", "--seed"),
])
def test_replications_and_seed_follow_the_schema(tmp_path, capsys, option, value, name):
    out = tmp_path / "out"
    err = refused(capsys, run_args(tmp_path, out, option, value), name, f"got {value}")
    assert "[1, 100000]" in err if name == "--replications" else "[0, " in err
    assert not out.exists()


@pytest.mark.parametrize("extra, name", [
    (["-r", "0"], "--replications"),
    (["-j", "0"], "--workers"),
    (["--seed", "-1"], "--seed"),
])
def test_sweep_options_are_checked_not_replaced_by_defaults(tmp_path, capsys, extra, name):
    out = tmp_path / "sweep"
    refused(capsys, ["sweep", str(TINY), "--grid", "banks.a.referral.bonus=0,100", "-q", "--out", str(out), *extra],
            name)
    assert not out.exists()


def test_sensitivity_samples_zero_is_refused(tmp_path, capsys):
    out = tmp_path / "sens"
    refused(capsys, ["sensitivity", str(TINY), "--param", "banks.a.referral.rate=0:0.2", "--metric", "active",
                     "-n", "0", "--serial", "-q", "--out", str(out)], "--samples", "got 0")
    assert not out.exists()


def test_grid_values_go_through_the_strict_reader(tmp_path, capsys):
    out = tmp_path / "sweep"
    refused(capsys, ["sweep", str(TINY), "--grid", "banks.a.referral.bonus={x: 1, x: 2}", "-q", "--out", str(out)],
            "--grid", "duplicate key")
    refused(capsys, ["sweep", str(TINY), "--grid", "banks.a.referral.bonus=" + "[" * 150 + "]" * 150, "-q",
                     "--out", str(out)], "--grid", "nested deeper")
    assert not out.exists()


def test_dashboard_port_out_of_range(capsys):
    refused(capsys, ["dashboard", str(TINY), "--port", "70000"], "--port", "[0, 65535]", "got 70000")


@pytest.mark.parametrize("kind", ["missing", "file", "empty"])
def test_list_directory_that_is_not_a_scenario_folder(tmp_path, capsys, kind):
    target = tmp_path / "nodir"
    if kind == "file":
        target.write_text("x")
    elif kind == "empty":
        target.mkdir()
    refused(capsys, ["list", "--directory", str(target)], "--directory", str(target))


def test_sensitivity_resumes_and_replaces_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "sens"
    argv = ["sensitivity", str(TINY), "--param", "banks.a.referral.rate=0:0.2", "--metric", "active", "-n", "2",
            "-r", "1", "--serial", "-q", "--resamples", "20", "--out", str(out)]
    assert main(argv) == 0
    assert store.read_marker(out)["kind"] == "sensitivity"
    assert main(argv) == 0                                     # the same analysis: resumed, nothing re-run
    assert "indices, plot and sample" in capsys.readouterr().out
    (out / "mine.txt").write_text("mine\n")
    refused(capsys, argv + ["--overwrite"], f"--out {out}", "mine.txt")
    assert (out / "mine.txt").read_text() == "mine\n"
    (out / "mine.txt").unlink()
    other = [a.replace("0:0.2", "0:0.1") for a in argv]
    refused(capsys, other, "different sweep", one_line=False)                  # a different analysis needs --overwrite
    assert main(other + ["--overwrite"]) == 0
    assert (
        '"bounds": {\n    "banks.a.referral.rate": [\n      0.0,\n      0.1' in (out / "sensitivity.json").read_text()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sens"]
