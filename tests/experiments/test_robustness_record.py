"""The committed robustness record: ``python -m sim robustness --library``, and ``list`` reading it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sim.cli import main
from sim.experiments.robustness_record import (
    RECORD_FORMAT,
    TABLE_HEADER,
    read_record,
    read_records,
    scenario_content_hash,
    side,
    uncertainty_hash,
)
from sim.scenario import load_scenario
from sim.scenario.uncertainty import read_uncertainty

DATA = Path(__file__).resolve().parents[1] / "data" / "claims"
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
#: Tiny settings: 1,000 customers, 12 steps, 2 hypercube points, 2 pairs, serial (8 runs, a few seconds).
TINY = ["--sizes", "1000", "-n", "2", "-r", "2", "--serial", "-q"]
LIBRARY_RUN = ["robustness", "--library", "--directory", "lib", "--record", "rec", *TINY]


def copy_library(where: Path) -> Path:
    """A library folder ``where/lib`` with the test scenarios and their uncertainty file."""
    lib = where / "lib"
    lib.mkdir(parents=True)
    for name in ("base.yaml", "referral.yaml", "two_changes.yaml", "uncertainty.yaml"):
        shutil.copy(DATA / name, lib / name)
    return lib


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The test library assessed once with --library; a file of the user's already sits in the record folder."""
    root = tmp_path_factory.mktemp("recorded")
    copy_library(root)
    (root / "rec").mkdir()
    (root / "rec" / "notes.json").write_text('{"mine": true}\n', encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert main(LIBRARY_RUN) == 0
    return root


def in_copy(recorded: Path, where: Path, *, results: bool) -> Path:
    """A copy of the assessed folder (library and record, and the results only when ``results``)."""
    for name in ("lib", "rec", "rec.md", *(["results"] if results else [])):
        source = recorded / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, where / name)
    return where


def listed(capsys, name: str = "referral") -> str:
    capsys.readouterr()
    assert main(["list", "--directory", "lib", "--record", "rec"]) == 0
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name + " "))


def test_the_library_run_writes_one_record_per_scenario_with_claims_and_the_table(recorded):
    records = sorted(p.name for p in (recorded / "rec").glob("*.json"))
    assert records == ["notes.json", "referral.json"]          # only referral.yaml makes claims
    assert json.loads((recorded / "rec" / "notes.json").read_text()) == {"mine": True}   # the user's file is kept
    record = read_record(recorded / "rec" / "referral.json")
    summary = json.loads((recorded / "results" / "claims_referral" / "robustness" / "summary.json").read_text())
    assert record["format"] == RECORD_FORMAT and record["claims"] == summary["claims"]
    assert (record["sizes"], record["samples"], record["replications"]) == ([1000], 2, 2)
    assert record["all_claims"]["cells"] == 2 and record["side"] == "adoption"
    scenario = load_scenario(recorded / "lib" / "referral.yaml")
    assert record["scenario_hash"] == scenario_content_hash(scenario)
    assert record["uncertainty_hash"] == uncertainty_hash(read_uncertainty(recorded / "lib" / "uncertainty.yaml"))
    assert "/" not in record["uncertainty_file"]              # no machine path in a committed file
    table = (recorded / "rec.md").read_text()
    assert table.startswith(TABLE_HEADER) and "`claims_referral`" in table
    share = record["claims"][0]
    assert f"({share['holds']} of {share['cells']})" in table


def test_list_shows_the_record_in_a_fresh_copy_and_the_local_result_when_there_is_one(recorded, tmp_path, capsys,
                                                                                       monkeypatch):
    record = read_record(recorded / "rec" / "referral.json")["all_claims"]
    expected = f"{record['share']:.0%} [{record['low']:.0%}-{record['high']:.0%}]"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(in_copy(recorded, fresh, results=False))
    assert not Path("results").exists()
    line = listed(capsys)
    assert expected in line and "(recorded)" in line and "stale" not in line
    assert "no claims" in listed(capsys, "base")
    Path("docs").mkdir()
    shutil.move("rec", "docs/robustness")               # the default: docs/robustness in the folder above lib/
    capsys.readouterr()
    assert main(["list", "--directory", "lib"]) == 0
    assert "(recorded)" in next(x for x in capsys.readouterr().out.splitlines() if x.startswith("referral "))
    shutil.rmtree("docs")
    capsys.readouterr()
    assert main(["list", "--directory", "lib"]) == 0      # no record at the default place: nothing assessed
    assert "not assessed" in next(x for x in capsys.readouterr().out.splitlines() if x.startswith("referral "))
    assert main(["list", "--directory", "lib", "--record", "rec"]) == 2     # a record folder named but missing
    local = tmp_path / "local"
    local.mkdir()
    monkeypatch.chdir(in_copy(recorded, local, results=True))
    line = listed(capsys)
    assert expected in line and "(local)" in line


@pytest.mark.parametrize(("edit", "stale"), [
    (lambda lib: _replace(lib / "referral.yaml", "rate: 0.2}", "rate: 0.25}"), True),         # the lever's value
    (lambda lib: _replace(lib / "base.yaml", "rate: 0.01,", "rate: 0.02,"), True),           # the parent it extends
    (lambda lib: _replace(lib / "uncertainty.yaml", "high: 0.05,", "high: 0.06,"), True),    # a range
    (lambda lib: _replace(lib / "referral.yaml", "raises its referral rate.", "refers harder."), False),  # prose
    (lambda lib: _replace(lib / "referral.yaml", "# Bank a", "# A comment.\n# Bank a"), False),
])
def test_list_flags_a_record_stale_when_the_scenario_or_its_ranges_change(recorded, tmp_path, capsys, monkeypatch,
                                                                           edit, stale):
    monkeypatch.chdir(in_copy(recorded, tmp_path, results=False))
    edit(Path("lib"))
    line = listed(capsys)
    assert ("(recorded, stale)" in line) is stale and "(recorded" in line


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_stale_local_result_gives_way_to_a_current_record(recorded, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(in_copy(recorded, tmp_path, results=True))
    summary = Path("results/claims_referral/robustness/summary.json")
    data = json.loads(summary.read_text())
    summary.write_text(json.dumps({**data, "scenario_hash": "sha256:old"}))
    assert "(recorded)" in listed(capsys)
    Path("rec/referral.json").unlink()
    assert "(local, stale)" in listed(capsys)


def test_an_up_to_date_record_is_kept_and_one_of_other_settings_needs_overwrite(recorded, tmp_path, capsys,
                                                                                monkeypatch):
    monkeypatch.chdir(in_copy(recorded, tmp_path, results=False))
    before = Path("rec/referral.json").read_bytes()
    assert main(LIBRARY_RUN) == 0
    assert "up to date" in capsys.readouterr().out and not Path("results").exists()   # nothing ran
    assert Path("rec/referral.json").read_bytes() == before
    other = [*LIBRARY_RUN[:6], "--sizes", "1000", "-n", "3", "-r", "2", "--serial", "-q"]
    assert main(other) == 2
    err = capsys.readouterr().err
    assert "rec/referral.json" in err and "samples" in err and "--overwrite" in err and "Traceback" not in err
    assert Path("rec/referral.json").read_bytes() == before and not Path("results").exists()
    assert main([*other, "--overwrite"]) == 0
    assert read_record("rec/referral.json")["samples"] == 3 and read_record("rec/referral.json")["all_claims"][
        "cells"] == 3
    assert "1,000 × 3" in Path("rec.md").read_text()


def test_files_the_command_did_not_write_are_never_replaced(recorded, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(in_copy(recorded, tmp_path, results=False))
    Path("rec/referral.json").write_text('{"my": "notes"}\n', encoding="utf-8")
    assert main([*LIBRARY_RUN, "--overwrite"]) == 2
    assert "not a robustness record" in capsys.readouterr().err
    assert Path("rec/referral.json").read_text() == '{"my": "notes"}\n' and not Path("results").exists()
    Path("rec/referral.json").unlink()
    Path("rec.md").write_text("# my page\n", encoding="utf-8")
    assert main(LIBRARY_RUN) == 2
    assert "not generated by this program" in capsys.readouterr().err
    assert Path("rec.md").read_text() == "# my page\n"


@pytest.mark.parametrize(("args", "message"), [
    (["robustness", "--library", "lib/referral.yaml"], "given with a scenario file"),
    (["robustness"], "no scenario file"),
    (["robustness", "lib/referral.yaml", "--only", "referral"], "--only: is an option of --library"),
    (["robustness", "lib/referral.yaml", "--risk-sizes", "1000"], "--risk-sizes: is an option of --library"),
    (["robustness", "--library", "--directory", "lib", "--only", "nosuch"], "no library scenario with claims"),
    (["robustness", "--library", "--directory", "lib", "--only", "base"], "allowed: referral"),
    (["robustness", "--library", "--directory", "lib", "--set", "seed=3"], "--set: is not used with --library"),
    (["robustness", "--library", "--directory", "lib", "--out", "x"], "--out: is not used with --library"),
    (["robustness", "--library", "--directory", "nowhere"], "--directory: nowhere: does not exist"),
    (["robustness", "--library", "--directory", "lib", "--sizes", "0"], "population.size"),
])
def test_a_bad_option_exits_2_with_a_clear_message_and_writes_nothing(tmp_path, capsys, monkeypatch, args,
                                                                      message):
    monkeypatch.chdir(tmp_path)
    copy_library(tmp_path)
    assert main([*args, "--record", "rec", "-q"] if "--library" in args else args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not Path("rec").exists() and not Path("rec.md").exists() and not Path("results").exists()


def test_sides_and_their_sizes(tmp_path, monkeypatch):
    """A scenario whose claims are all about credit risk is on the risk side; its sizes follow --risk-sizes."""
    from sim.experiments.robustness_library import plan_jobs

    monkeypatch.chdir(tmp_path)                  # no results folder to compare with
    assert side(load_scenario(LIBRARY / "lifecycle_precision.yaml")) == "risk"
    assert side(load_scenario(LIBRARY / "financial_supermarket.yaml")) == "adoption"     # customers and loans
    assert side(load_scenario(LIBRARY / "referral_incentives.yaml")) == "adoption"
    ranges = read_uncertainty(LIBRARY / "uncertainty.yaml")

    def sizes(**given):
        jobs = plan_jobs(LIBRARY, Path("nowhere-record"), ranges,
                         only=["lifecycle_precision", "referral_incentives"], **given)
        return {job.name: (job.sizes, job.samples) for job in jobs}

    assert sizes() == {"lifecycle_precision": ([3000], 4), "referral_incentives": ([3000, 10000], 4)}
    assert sizes(sizes=[2000]) == {"lifecycle_precision": ([2000], 4), "referral_incentives": ([2000], 4)}
    assert sizes(risk_sizes=[5000], samples=2) == {"lifecycle_precision": ([5000], 2),
                                                   "referral_incentives": ([3000, 10000], 2)}


def test_the_content_hash_ignores_prose_and_follows_parameters():
    scenario = load_scenario(DATA / "referral.yaml")
    same = scenario.model_copy(update={"description": "other words", "shows": "more words"})
    same._source = scenario._source
    assert scenario_content_hash(same) == scenario_content_hash(scenario)
    changed = scenario.model_copy(update={"seed": scenario.seed + 1})
    changed._source = scenario._source
    assert scenario_content_hash(changed) != scenario_content_hash(scenario)


def test_the_committed_record_is_of_library_scenarios_and_in_the_table():
    """Every record in docs/robustness/ is one the command wrote, of a library scenario with claims, in the table."""
    root = LIBRARY.parent
    records = read_records(root / "docs" / "robustness")
    assert records, "no committed record: run python -m sim robustness --library"
    table = (root / "docs" / "robustness.md").read_text(encoding="utf-8")
    assert table.startswith(TABLE_HEADER)
    for record in records:
        scenario = load_scenario(LIBRARY / record["source"])
        assert scenario.claims and scenario.name == record["scenario"]
        assert f"`{record['scenario']}`" in table
        assert record["sizes"] and record["all_claims"]["cells"] == len(record["sizes"]) * record["samples"]
